#include "http2/h2_counters.h"

#include "http2/frame.h"

namespace sluice::http2 {

std::string_view h2_counter_name(H2Ctr c) {
    static constexpr std::array<std::string_view, kH2Counters> kNames = {
        "connections",
        "upgrades",
        "connections_refused",
        "midstream",
        "frames",
        "unknown_frames",
        "streams",
        "streams_untracked",
        "streams_reset",
        "header_blocks",
        "hpack_errors",
        "hpack_no_memory",
        "trailers",
        "parse_stopped",
        "bodies_reclaimed",
    };
    const auto i = static_cast<size_t>(c);
    return i < kNames.size() ? kNames[i] : "unknown";
}

std::string_view h2_anomaly_name(H2Anomaly a) {
    static constexpr std::array<std::string_view, kH2Anomalies> kNames = {
        "h2_too_many_streams",   "h2_header_list_too_large",
        "h2_continuation_flood", "h2_rapid_reset",
        "h2_frame_too_large",    "h2_protocol_error",
        "h2_hpack_error",        "h2_content_length_mismatch",
        "h2_connection_header",  "h2_uppercase_header",
        "h2_bad_header_value",   "h2_midstream",
        "h2_flow_control",       "h2_stream_state",
        "h2_body_quota",
    };
    const auto i = static_cast<size_t>(a);
    return i < kNames.size() ? kNames[i] : "unknown";
}

bool h2_smuggling_shape(H2Anomaly a) {
    switch (a) {
        case H2Anomaly::ContentLengthMismatch:
        case H2Anomaly::ConnectionHeader:
        case H2Anomaly::UppercaseHeader:
        case H2Anomaly::BadHeaderValue:
            return true;
        default:
            return false;
    }
}

std::string_view frame_type_name(uint8_t type) {
    static constexpr std::array<std::string_view, kFrameTypes> kNames = {
        "data",         "headers", "priority", "rst_stream",    "settings",
        "push_promise", "ping",    "goaway",   "window_update", "continuation",
    };
    return type < kNames.size() ? kNames[type] : "unknown";
}

}  // namespace sluice::http2
