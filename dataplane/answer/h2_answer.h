// The answer to a stopped request on an HTTP/2 connection (RFC 9113, RFC 7541): HEADERS and
// DATA with END_STREAM on the request's stream, then GOAWAY (NO_ERROR), after which the
// connection closes on both sides. The header block uses only the static table and literals
// without indexing, so neither peer's HPACK dynamic table changes; DATA stays within the
// client's MAX_FRAME_SIZE and the stream's and connection's flow-control windows (a body
// that does not fit is left out: the status and retry-after still say it).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "answer/answer_fallback.h"
#include "answer/answer_templates.h"

namespace sluice {

struct Flow;

// What the server may send the client now, as the HTTP/2 stage follows it.
struct H2AnswerLimits {
    uint32_t max_frame = 16384;       // the client's SETTINGS_MAX_FRAME_SIZE
    int64_t conn_window = 65535;      // the server's connection send window
    int64_t stream_window = 65535;    // and the request stream's
    uint32_t last_client_stream = 0;  // GOAWAY's last stream id
    // The server has not sent its SETTINGS yet (the client spoke first and was stopped before
    // the server's preface came): the answer starts with the server's preface, an empty
    // SETTINGS frame (RFC 9113 3.4), or the client takes our HEADERS for a protocol error.
    bool server_preface = false;
};

// Implemented by the HTTP/2 stage (http2/http2_inspector.h).
class H2AnswerSource {
  public:
    virtual ~H2AnswerSource() = default;
    // Nothing when frames of ours can follow the server's last one now (at a frame boundary,
    // not inside a header block, the connection parsed); else why not. Fills `out`.
    virtual std::optional<AnswerFallback> h2_answer_limits(const Flow& f, uint32_t stream_id,
                                                           H2AnswerLimits& out) const = 0;
};

// The header block (HPACK) of an answer: :status, content-type, retry-after (429), the
// request id (no content-length: see h2_answer_frames). Returns its length (0: too small).
size_t h2_answer_header_block(const AnswerFacts& facts, AnswerStyle style, size_t body_len,
                              std::span<uint8_t> out);
// The whole answer's frames on `stream_id` with `body`; returns the length (0: too small).
// `goaway_at`: where the GOAWAY starts. It is sent only once the client acknowledged the
// response before it: clients that read a GOAWAY in the same read as the response may drop
// the response (httpcore 0.16 raises on it).
size_t h2_answer_frames(std::span<const uint8_t> header_block, std::span<const uint8_t> body,
                        uint32_t stream_id, const H2AnswerLimits& limits, std::span<uint8_t> out,
                        size_t& goaway_at);

}  // namespace sluice
