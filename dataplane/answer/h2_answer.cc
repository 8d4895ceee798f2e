#include "answer/h2_answer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace sluice {

namespace {

// RFC 7541 static table indices used here.
constexpr uint8_t kStatus = 8, kContentType = 31, kRetryAfter = 53;
constexpr uint8_t kTypeData = 0, kTypeHeaders = 1, kTypeSettings = 4, kTypeGoaway = 7;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4;

struct Out {
    std::span<uint8_t> buf;
    size_t n = 0;
    bool ok = true;
    void byte(uint8_t b) {
        if (n >= buf.size()) {
            ok = false;
            return;
        }
        buf[n++] = b;
    }
    void bytes(std::span<const uint8_t> b) {
        if (n + b.size() > buf.size()) {
            ok = false;
            return;
        }
        std::memcpy(buf.data() + n, b.data(), b.size());
        n += b.size();
    }
    // RFC 7541 5.1: an integer with an N-bit prefix, `first` holding the bits above it.
    void integer(uint8_t first, uint8_t prefix_bits, uint32_t v) {
        const uint32_t max = (1u << prefix_bits) - 1;
        if (v < max) {
            byte(static_cast<uint8_t>(first | v));
            return;
        }
        byte(static_cast<uint8_t>(first | max));
        v -= max;
        while (v >= 128) {
            byte(static_cast<uint8_t>(v % 128 + 128));
            v /= 128;
        }
        byte(static_cast<uint8_t>(v));
    }
    // A string literal without Huffman coding (5.2).
    void string(std::string_view s) {
        integer(0, 7, static_cast<uint32_t>(s.size()));
        bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    }
    // 6.2.2 Literal Header Field without Indexing: indexed name (4-bit prefix) or new name.
    void field(uint8_t name_index, std::string_view value) {
        integer(0x00, 4, name_index);
        string(value);
    }
    void field(std::string_view name, std::string_view value) {
        byte(0x00);
        string(name);
        string(value);
    }
    void frame_header(uint32_t len, uint8_t type, uint8_t flags, uint32_t stream) {
        const uint8_t h[9] = {static_cast<uint8_t>(len >> 16),
                              static_cast<uint8_t>(len >> 8),
                              static_cast<uint8_t>(len),
                              type,
                              flags,
                              static_cast<uint8_t>(stream >> 24 & 0x7f),
                              static_cast<uint8_t>(stream >> 16),
                              static_cast<uint8_t>(stream >> 8),
                              static_cast<uint8_t>(stream)};
        bytes(h);
    }
};

std::string_view number(char (&buf)[24], uint64_t v) {
    const int k = std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
    return {buf, static_cast<size_t>(k)};
}

}  // namespace

size_t h2_answer_header_block(const AnswerFacts& facts, AnswerStyle style, size_t body_len,
                              std::span<uint8_t> out) {
    Out o{out};
    char a[24], c[24];
    o.field(kStatus, number(a, facts.status));
    o.field(kContentType, "application/json");
    // No content-length: whether the body fits the windows is known only when it is sent,
    // and a content-length that DATA does not match makes the response malformed (8.1.1).
    (void)body_len;
    if (facts.status == 429)
        o.field(kRetryAfter, number(c, std::max<uint32_t>(facts.retry_after_s, 1)));
    o.field(AnswerTemplates::request_id_header(style), facts.request_id);
    return o.ok ? o.n : 0;
}

size_t h2_answer_frames(std::span<const uint8_t> header_block, std::span<const uint8_t> body,
                        uint32_t stream_id, const H2AnswerLimits& limits, std::span<uint8_t> out,
                        size_t& goaway_at) {
    Out o{out};
    // The body only if the windows take all of it (a cut JSON body helps nobody).
    const int64_t window = std::min(limits.conn_window, limits.stream_window);
    const bool with_body = !body.empty() && window >= static_cast<int64_t>(body.size());
    const uint32_t max_frame = std::max<uint32_t>(limits.max_frame, 16384);
    if (header_block.size() > max_frame) return 0;  // cannot happen: the block is ~100 bytes
    if (limits.server_preface) o.frame_header(0, kTypeSettings, 0, 0);  // all defaults
    o.frame_header(static_cast<uint32_t>(header_block.size()), kTypeHeaders,
                   kEndHeaders | (with_body ? 0 : kEndStream), stream_id);
    o.bytes(header_block);
    if (with_body) {
        for (size_t off = 0; off < body.size();) {
            const size_t n = std::min<size_t>(max_frame, body.size() - off);
            o.frame_header(static_cast<uint32_t>(n), kTypeData,
                           off + n == body.size() ? kEndStream : 0, stream_id);
            o.bytes(body.subspan(off, n));
            off += n;
        }
    }
    // GOAWAY: every stream the client opened may have been processed (the server was reset
    // mid-way), so none is retried on its own - a POST is never sent twice.
    goaway_at = o.n;
    o.frame_header(8, kTypeGoaway, 0, 0);
    const uint32_t last = limits.last_client_stream & 0x7fffffff;
    const uint8_t payload[8] = {static_cast<uint8_t>(last >> 24),
                                static_cast<uint8_t>(last >> 16),
                                static_cast<uint8_t>(last >> 8),
                                static_cast<uint8_t>(last),
                                0,
                                0,
                                0,
                                0};  // NO_ERROR
    o.bytes(payload);
    return o.ok ? o.n : 0;
}

}  // namespace sluice
