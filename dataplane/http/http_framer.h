// Message framing over one direction of an HTTP/1.x byte stream (Snort's "stream splitter"
// role): finds heads, then delimits bodies by Content-Length, chunked coding or connection
// close, pipelined message after message. It owns no memory: per-direction state lives in
// the flow's session (FramerState), the head is assembled in a buffer the sink lends, and the
// sink decides each body's framing from the head. Feeding the same bytes split anywhere
// yields the same calls, which the tests check at every boundary.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "flow/flow.h"
#include "http/http_head.h"

namespace sluice::http {

enum class Anomaly : uint8_t {
    BadRequestLine,
    BadStatusLine,
    BadVersion,
    BadHeaderName,
    BadHeaderValue,
    ObsFold,
    TooManyHeaders,
    HeaderTooLong,            // the head exceeds http.max_header_bytes
    ContentLengthAndChunked,  // CL + TE: a request-smuggling shape
    ConflictingContentLength,
    BadContentLength,
    TransferEncodingNotChunked,
    BadChunkSize,
    BadChunkTerminator,
    TrailerTooLong,
    ResponseWithoutRequest,
    DecompressionFailed,
    DecompressionCapped,   // decoded output past http.max_decoded_bytes or the ratio cap
    UnsupportedEncoding,   // a Content-Encoding sluice does not decode (br, zstd): raw bytes only
    MultipleCredentials,   // two different credentials (or one twice): precedence decides
    HeaderNameWhitespace,  // "Name : value": the name is trimmed
    HeaderWithoutColon,    // a head line that is no field: skipped
    // Content-Length or Transfer-Encoding written so (whitespace before the colon, folded)
    // that servers disagree on it; http.personality decides.
    MalformedFramingHeader,
    ChunkSizeJunk,  // "1a zz": the leading hex digits taken (http.personality generic)
    Count
};
constexpr size_t kAnomalyCount = static_cast<size_t>(Anomaly::Count);
std::string_view anomaly_name(Anomaly a);
// Shapes used to smuggle requests past intermediaries (counted and policed apart).
constexpr bool is_smuggling_shape(Anomaly a) {
    return a == Anomaly::ContentLengthAndChunked || a == Anomaly::ConflictingContentLength ||
           a == Anomaly::TransferEncodingNotChunked || a == Anomaly::BadChunkSize ||
           a == Anomaly::ObsFold || a == Anomaly::BadContentLength ||
           a == Anomaly::MalformedFramingHeader || a == Anomaly::ChunkSizeJunk;
}
Anomaly anomaly_of(HeadError e);

struct Framing {
    enum Kind : uint8_t {
        None,        // no body: the message ends with its head
        Length,      // Content-Length bytes
        Chunked,     // chunked transfer coding
        UntilClose,  // the body runs until the connection closes (responses)
        Tunnel,      // the connection leaves HTTP/1 (101, CONNECT 2xx, HTTP/2): stop parsing
        Switch,      // this direction switches protocol after the head: the rest goes to
                     // MessageSink::on_switched (HTTP/1.1 Upgrade: h2c)
        Stop,        // unparseable: stop parsing this direction
    } kind = None;
    uint64_t length = 0;
};

// Per direction; lives in the flow's HTTP session.
struct FramerState {
    enum State : uint8_t {
        Head,
        Body,
        ChunkSize,
        ChunkData,
        ChunkEnd,
        Trailer,
        UntilClose,
        Switched,  // another protocol's bytes: handed to the sink as they come
        Done
    };
    State state = Head;
    uint8_t line_len = 0;    // bytes of a chunk-size or trailer line kept in `line`
    bool line_skip = false;  // a chunk extension or long trailer line is being skipped
    bool in_message = false;
    uint32_t head_len = 0;
    uint32_t trailer_bytes = 0;
    uint64_t remaining = 0;
    char line[20];
};

class MessageSink {
  public:
    virtual ~MessageSink() = default;
    // A buffer to assemble this direction's head in (held until on_message_end); empty if
    // none is free, which stops parsing the direction.
    virtual std::span<char> head_buffer(Flow& f, Dir d) = 0;
    // The head is complete; it stays valid until on_message_end. Returns the body framing.
    virtual Framing on_head(Flow& f, Dir d, std::string_view head) = 0;
    virtual void on_body(Flow& f, Dir d, std::span<const uint8_t> bytes) = 0;
    // truncated: the stream ended or broke before the message was complete.
    virtual void on_message_end(Flow& f, Dir d, bool truncated) = 0;
    virtual void on_anomaly(Flow& f, Dir d, Anomaly a) = 0;
    // A direction that switched protocol (Framing::Switch): its bytes after the head.
    virtual void on_switched(Flow&, Dir, std::span<const uint8_t>) {}
};

class MessageFramer {
  public:
    // `lenient_chunks`: a chunk size followed by junk ("1a zz") is read as its leading hex
    // digits (libhtp's reading, http.personality generic; anomaly chunk_size_junk); else it
    // ends framing (bad_chunk_size), as nginx and envoy refuse it.
    explicit MessageFramer(uint32_t max_head_bytes, bool lenient_chunks = false)
        : max_head_(max_head_bytes), lenient_chunks_(lenient_chunks) {}

    void feed(Flow& f, Dir d, FramerState& s, std::span<const uint8_t> bytes, MessageSink& sink);
    // The direction ended (FIN, RST or flow end): a close-delimited body completes, anything
    // else in progress ends truncated.
    void end(Flow& f, Dir d, FramerState& s, MessageSink& sink);
    // `len` bytes are missing. Inside a length-delimited body they are skipped (the message
    // ends truncated); anywhere else framing is lost and the direction stops.
    void gap(Flow& f, Dir d, FramerState& s, uint32_t len, MessageSink& sink);

  private:
    size_t feed_head(Flow& f, Dir d, FramerState& s, std::span<const uint8_t> bytes,
                     MessageSink& sink);
    size_t feed_chunk_line(Flow& f, Dir d, FramerState& s, std::span<const uint8_t> bytes,
                           MessageSink& sink);
    size_t feed_trailer(Flow& f, Dir d, FramerState& s, std::span<const uint8_t> bytes,
                        MessageSink& sink);
    void finish(Flow& f, Dir d, FramerState& s, MessageSink& sink, bool truncated);
    void stop(FramerState& s) { s.state = FramerState::Done; }

    uint32_t max_head_;
    bool lenient_chunks_;
};

}  // namespace sluice::http
