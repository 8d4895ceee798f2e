// What the HTTP/2 stage counts and the anomalies it records: one enum-indexed array each with
// one name table, read by the summary, /metrics and EVE alike.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice::http2 {

enum class H2Ctr : uint8_t {
    Connections,         // HTTP/2 connections parsed (client preface seen)
    Upgrades,            // of which upgraded from HTTP/1.1 (Upgrade: h2c, 101)
    ConnectionsRefused,  // no connection slot free: left to the HTTP/1 stage's count
    Midstream,           // picked up without the preface: headers cannot be decoded
    Frames,              // frames read, both directions
    UnknownFrames,       // types this stage does not know (skipped, section 5.5)
    Streams,             // streams that became transactions
    StreamsUntracked,    // over the per-connection or worker stream limit (headers still decoded)
    StreamsReset,        // RST_STREAM frames
    HeaderBlocks,        // header blocks decoded (HPACK)
    HpackErrors,         // a block the decoder refused: the connection stops being parsed
    HpackNoMemory,       // the HPACK memory budget refused a table
    Trailers,            // trailing header blocks
    ParseStopped,        // connections whose parsing stopped on a protocol error or limit
    BodiesReclaimed,     // body buffers or decoders an idle stream gave up under pressure
    kCount,
};
inline constexpr size_t kH2Counters = static_cast<size_t>(H2Ctr::kCount);
std::string_view h2_counter_name(H2Ctr c);

enum class H2Anomaly : uint8_t {
    TooManyStreams,      // more concurrent streams than http2.max_concurrent_streams
    HeaderListTooLarge,  // a decoded header list over http2.max_header_bytes
    ContinuationFlood,   // more CONTINUATION frames in one block than http2.max_continuations
    RapidReset,          // streams opened and reset faster than http2.rapid_reset (CVE-2023-44487)
    FrameTooLarge,       // over the receiver's SETTINGS_MAX_FRAME_SIZE
    ProtocolError,       // a frame on the wrong stream, a bad length, padding or sequence
    HpackError,          // the header block cannot be decoded (the table is lost)
    ContentLengthMismatch,  // content-length disagrees with the DATA total (smuggling shape)
    ConnectionHeader,       // connection-specific header field (smuggling shape)
    UppercaseHeader,        // an uppercase header name (smuggling shape)
    BadHeaderValue,         // CR, LF or NUL in a field value (smuggling shape)
    Midstream,              // a connection picked up after its preface: headers undecodable
    FlowControl,            // DATA past the receiver's window, or a window past 2^31-1
    StreamState,            // DATA after END_STREAM, or frames on a stream never opened
    BodyQuota,              // more bodies at once than http2.body_buffers_per_connection
    kCount,
};
inline constexpr size_t kH2Anomalies = static_cast<size_t>(H2Anomaly::kCount);
std::string_view h2_anomaly_name(H2Anomaly a);
// Shapes that let an HTTP/1 backend see another request than inspection did.
bool h2_smuggling_shape(H2Anomaly a);

struct Http2Counters {
    std::array<uint64_t, kH2Counters> v{};
    std::array<uint64_t, kH2Anomalies> anomalies{};
    uint64_t& operator[](H2Ctr c) { return v[static_cast<size_t>(c)]; }
    uint64_t operator[](H2Ctr c) const { return v[static_cast<size_t>(c)]; }
    void add(const Http2Counters& o) {
        for (size_t i = 0; i < v.size(); ++i) v[i] += o.v[i];
        for (size_t i = 0; i < anomalies.size(); ++i) anomalies[i] += o.anomalies[i];
    }
};

}  // namespace sluice::http2
