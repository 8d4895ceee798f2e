#include "http/http_framer.h"

#include "common/digest.h"

#include <algorithm>
#include <cstring>

namespace sluice::http {

std::string_view anomaly_name(Anomaly a) {
    switch (a) {
        case Anomaly::BadRequestLine:
            return "bad_request_line";
        case Anomaly::BadStatusLine:
            return "bad_status_line";
        case Anomaly::BadVersion:
            return "bad_version";
        case Anomaly::BadHeaderName:
            return "bad_header_name";
        case Anomaly::BadHeaderValue:
            return "bad_header_value";
        case Anomaly::ObsFold:
            return "obs_fold";
        case Anomaly::TooManyHeaders:
            return "too_many_headers";
        case Anomaly::HeaderTooLong:
            return "header_too_long";
        case Anomaly::ContentLengthAndChunked:
            return "content_length_and_chunked";
        case Anomaly::ConflictingContentLength:
            return "conflicting_content_length";
        case Anomaly::BadContentLength:
            return "bad_content_length";
        case Anomaly::TransferEncodingNotChunked:
            return "transfer_encoding_not_chunked";
        case Anomaly::BadChunkSize:
            return "bad_chunk_size";
        case Anomaly::BadChunkTerminator:
            return "bad_chunk_terminator";
        case Anomaly::TrailerTooLong:
            return "trailer_too_long";
        case Anomaly::ResponseWithoutRequest:
            return "response_without_request";
        case Anomaly::DecompressionFailed:
            return "decompression_failed";
        case Anomaly::DecompressionCapped:
            return "decompression_capped";
        case Anomaly::UnsupportedEncoding:
            return "unsupported_encoding";
        case Anomaly::MultipleCredentials:
            return "multiple_credentials";
        case Anomaly::HeaderNameWhitespace:
            return "header_name_whitespace";
        case Anomaly::HeaderWithoutColon:
            return "header_without_colon";
        case Anomaly::MalformedFramingHeader:
            return "malformed_framing_header";
        case Anomaly::ChunkSizeJunk:
            return "chunk_size_junk";
        case Anomaly::Count:
            break;
    }
    return "?";
}

Anomaly anomaly_of(HeadError e) {
    switch (e) {
        case HeadError::BadRequestLine:
            return Anomaly::BadRequestLine;
        case HeadError::BadStatusLine:
            return Anomaly::BadStatusLine;
        case HeadError::BadVersion:
            return Anomaly::BadVersion;
        case HeadError::BadHeaderValue:
            return Anomaly::BadHeaderValue;
        case HeadError::ObsFold:
            return Anomaly::ObsFold;
        case HeadError::TooManyHeaders:
            return Anomaly::TooManyHeaders;
        default:
            return Anomaly::BadHeaderName;
    }
}

namespace {
// Chunk sizes above this are refused: no real body is 1 TiB, and it keeps sums from wrapping.
constexpr uint64_t kMaxChunk = uint64_t{1} << 40;
constexpr uint32_t kMaxTrailerBytes = 8192;
}  // namespace

void MessageFramer::finish(Flow& f, Dir d, FramerState& s, MessageSink& sink, bool truncated) {
    s.in_message = false;
    s.line_len = 0;
    s.line_skip = false;
    s.trailer_bytes = 0;
    if (s.state != FramerState::Done && s.state != FramerState::Switched)
        s.state = FramerState::Head;
    sink.on_message_end(f, d, truncated);  // may still read head_len
    s.head_len = 0;
}

size_t MessageFramer::feed_head(Flow& f, Dir d, FramerState& s, std::span<const uint8_t> bytes,
                                MessageSink& sink) {
    size_t skipped = 0;
    if (s.head_len == 0) {
        // Empty lines before a message are ignored (RFC 9112 section 2.2).
        while (skipped < bytes.size() && (bytes[skipped] == '\r' || bytes[skipped] == '\n'))
            ++skipped;
        bytes = bytes.subspan(skipped);
        if (bytes.empty()) return skipped;
    }
    std::span<char> buf = sink.head_buffer(f, d);
    if (buf.empty()) {
        stop(s);
        return skipped + bytes.size();
    }
    s.in_message = true;
    const size_t room = std::min<size_t>(buf.size(), max_head_) - s.head_len;
    const size_t take = std::min(room, bytes.size());
    std::memcpy(buf.data() + s.head_len, bytes.data(), take);
    const size_t old = s.head_len;
    s.head_len += static_cast<uint32_t>(take);
    const std::string_view have(buf.data(), s.head_len);
    const size_t end = find_head_end(have, old);
    if (end == std::string_view::npos) {
        if (take < bytes.size() || s.head_len >= std::min<size_t>(buf.size(), max_head_)) {
            sink.on_anomaly(f, d, Anomaly::HeaderTooLong);
            stop(s);
            finish(f, d, s, sink, true);
            return skipped + bytes.size();
        }
        return skipped + take;
    }
    // Bytes of this chunk that belong to the head; the rest starts the body.
    const size_t used = end - old;
    s.head_len = static_cast<uint32_t>(end);
    const Framing fr = sink.on_head(f, d, std::string_view(buf.data(), end));
    switch (fr.kind) {
        case Framing::None:
            finish(f, d, s, sink, false);
            break;
        case Framing::Length:
            s.remaining = fr.length;
            s.state = FramerState::Body;
            if (fr.length == 0) finish(f, d, s, sink, false);
            break;
        case Framing::Chunked:
            s.state = FramerState::ChunkSize;
            break;
        case Framing::UntilClose:
            s.state = FramerState::UntilClose;
            break;
        case Framing::Switch:
            s.state = FramerState::Switched;
            finish(f, d, s, sink, false);
            break;
        case Framing::Tunnel:
        case Framing::Stop:
            stop(s);
            finish(f, d, s, sink, fr.kind == Framing::Stop);
            return skipped + bytes.size();
    }
    return skipped + used;
}

size_t MessageFramer::feed_chunk_line(Flow& f, Dir d, FramerState& s,
                                      std::span<const uint8_t> bytes, MessageSink& sink) {
    size_t i = 0;
    for (; i < bytes.size(); ++i) {
        const char c = static_cast<char>(bytes[i]);
        if (c == '\n') break;
        if (c == ';') s.line_skip = true;  // chunk extensions are ignored
        if (s.line_skip || c == '\r') continue;
        if (s.line_len >= sizeof s.line) {
            sink.on_anomaly(f, d, Anomaly::BadChunkSize);
            stop(s);
            finish(f, d, s, sink, true);
            return bytes.size();
        }
        s.line[s.line_len++] = c;
    }
    if (i == bytes.size()) return i;
    // A complete size line: hex digits, optionally followed by whitespace.
    uint64_t size = 0;
    size_t digits = 0;
    bool ok = true, junk = false, trailing_space = false;
    for (size_t k = 0; k < s.line_len; ++k) {
        const char c = s.line[k];
        const int v = hex_value(c);
        if (v < 0 && (c == ' ' || c == '\t') && digits > 0) {
            trailing_space = true;
            continue;
        }
        if (v < 0 || trailing_space) {
            // Junk after the digits ("1a zz", "1a z"): lenient framers take the digits.
            junk = digits > 0;
            ok = false;
            break;
        }
        size = size * 16 + static_cast<uint64_t>(v);
        if (++digits > 11 || size > kMaxChunk) {
            ok = false;
            break;
        }
    }
    s.line_len = 0;
    s.line_skip = false;
    if (!ok && junk && lenient_chunks_) {
        sink.on_anomaly(f, d, Anomaly::ChunkSizeJunk);
        ok = true;
    }
    if (!ok || digits == 0) {
        sink.on_anomaly(f, d, Anomaly::BadChunkSize);
        stop(s);
        finish(f, d, s, sink, true);
        return bytes.size();
    }
    if (size == 0) {
        s.state = FramerState::Trailer;
    } else {
        s.remaining = size;
        s.state = FramerState::ChunkData;
    }
    return i + 1;
}

size_t MessageFramer::feed_trailer(Flow& f, Dir d, FramerState& s, std::span<const uint8_t> bytes,
                                   MessageSink& sink) {
    // Trailer lines are skipped; an empty line ends the message. line_len counts the
    // non-CR bytes of the current line.
    for (size_t i = 0; i < bytes.size(); ++i) {
        const char c = static_cast<char>(bytes[i]);
        if (++s.trailer_bytes > kMaxTrailerBytes) {
            sink.on_anomaly(f, d, Anomaly::TrailerTooLong);
            stop(s);
            finish(f, d, s, sink, true);
            return bytes.size();
        }
        if (c == '\n') {
            if (s.line_len == 0) {
                finish(f, d, s, sink, false);
                return i + 1;
            }
            s.line_len = 0;
            continue;
        }
        if (c != '\r') s.line_len = 1;
    }
    return bytes.size();
}

void MessageFramer::feed(Flow& f, Dir d, FramerState& s, std::span<const uint8_t> bytes,
                         MessageSink& sink) {
    while (!bytes.empty()) {
        size_t used = 0;
        switch (s.state) {
            case FramerState::Head:
                used = feed_head(f, d, s, bytes, sink);
                break;
            case FramerState::Body:
            case FramerState::ChunkData: {
                used = static_cast<size_t>(std::min<uint64_t>(s.remaining, bytes.size()));
                sink.on_body(f, d, bytes.first(used));
                s.remaining -= used;
                if (s.remaining == 0) {
                    if (s.state == FramerState::Body)
                        finish(f, d, s, sink, false);
                    else
                        s.state = FramerState::ChunkEnd;
                }
                break;
            }
            case FramerState::ChunkEnd: {
                // CRLF (or a bare LF) after the chunk data.
                const char c = static_cast<char>(bytes[0]);
                used = 1;
                if (c == '\r' && s.line_len == 0) {
                    s.line_len = 1;
                } else if (c == '\n') {
                    s.line_len = 0;
                    s.state = FramerState::ChunkSize;
                } else {
                    sink.on_anomaly(f, d, Anomaly::BadChunkTerminator);
                    stop(s);
                    finish(f, d, s, sink, true);
                    used = bytes.size();
                }
                break;
            }
            case FramerState::ChunkSize:
                used = feed_chunk_line(f, d, s, bytes, sink);
                break;
            case FramerState::Trailer:
                used = feed_trailer(f, d, s, bytes, sink);
                break;
            case FramerState::UntilClose:
                sink.on_body(f, d, bytes);
                used = bytes.size();
                break;
            case FramerState::Switched:
                sink.on_switched(f, d, bytes);
                used = bytes.size();
                break;
            case FramerState::Done:
                return;
        }
        bytes = bytes.subspan(used);
    }
}

void MessageFramer::end(Flow& f, Dir d, FramerState& s, MessageSink& sink) {
    if (s.state == FramerState::UntilClose) {
        s.state = FramerState::Done;
        finish(f, d, s, sink, false);
        return;
    }
    if (s.in_message) {
        s.state = FramerState::Done;
        finish(f, d, s, sink, true);
    }
    s.state = FramerState::Done;
}

void MessageFramer::gap(Flow& f, Dir d, FramerState& s, uint32_t len, MessageSink& sink) {
    if ((s.state == FramerState::Body || s.state == FramerState::ChunkData) && s.remaining > len) {
        s.remaining -= len;
        return;  // the sink learns of the hole through its byte counts; framing holds
    }
    if (s.state == FramerState::Head && !s.in_message) {
        stop(s);
        return;
    }
    if (s.state == FramerState::Done || s.state == FramerState::Switched) return;
    stop(s);
    finish(f, d, s, sink, true);
}

}  // namespace sluice::http
