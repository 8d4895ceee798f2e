// A request or response as the framing stage hands it to the transaction stage: its start
// line fields, its header fields (views, in order) and its body as kept. HTTP/1.x fills it
// from the parsed head; HTTP/2 will fill it from the decoded header list. Valid only during
// the call that receives it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "http/http_head.h"
#include "rules/compiled_rules.h"

namespace sluice {

// Each body buffer's side area after its kept prefix: an SSE line being assembled, or the
// tail of a JSON body longer than the cap (where "usage" sits).
inline constexpr size_t kBodySide = 16384;

struct MessageBodyView {
    // The body buffer: the kept prefix (`len` bytes, at most the body cap), then the side
    // area (`side_len` bytes: the tail of a longer body) and padding for in-place JSON parsing.
    std::span<char> buf;
    uint32_t len = 0;
    uint32_t side_len = 0;
    bool present = false;   // a body buffer was had
    bool json = false;      // content-type says JSON
    bool sse = false;       // text/event-stream (usage was read event by event)
    bool overflow = false;  // longer than the cap
    // The rules' Hyperscan stream over the whole decoded body, if one was opened; the
    // transaction stage ends it (inspected or discarded).
    uint32_t stream = rules::Matcher::kNoStream;
    std::string_view kept() const { return {buf.data(), len}; }
};

struct MessageView {
    std::string_view method;        // request
    std::string_view target;        // request: path and query
    std::string_view authority;     // request: HTTP/2 :authority (the host when no Host field)
    uint16_t status = 0;            // response
    std::string_view header_block;  // the header lines as sent (the http.header buffer)
    std::span<const http::Header> headers;
    MessageBodyView body;
    // HTTP/2 only: what the frames said (http2.* keywords) and the request's header names, one
    // per line (http2.header_name).
    const rules::Http2Facts* http2 = nullptr;
    std::string_view header_names;
    // HTTP/1.x only: the request or status line (no line end) and the whole head as sent,
    // start line to blank line (http.request_line, http.protocol, http.start).
    std::string_view start_line;
    std::string_view head;

    // First field with this name (case-insensitive), or nullptr.
    const http::Header* find(std::string_view name) const {
        for (const http::Header& h : headers)
            if (http::iequals(h.name, name)) return &h;
        return nullptr;
    }
};

}  // namespace sluice
