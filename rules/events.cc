#include "rules/events.h"

#include <algorithm>
#include <cstring>

namespace sluice::rules {

namespace {

// What the decoder, the stream normalizer and the HTTP/1 stage report, by Suricata's names
// (their mapping: dataplane/inspect/suricata_events.cc; a unit test holds the two sides
// together).
constexpr std::string_view kDecode[] = {
    "ipv4.wrong_ip_version", "ipv4.hlen_too_small",  "ipv4.iplen_smaller_than_hlen",
    "ipv4.trunc_pkt",        "ipv4.opt_invalid_len", "ipv6.wrong_ip_version",
    "ipv6.trunc_pkt",        "ipv6.trunc_exthdr",    "tcp.pkt_too_small",
    "tcp.hlen_too_small",    "udp.pkt_too_small",    "udp.len_invalid",
};
constexpr std::string_view kStream[] = {
    "pkt_invalid_ack",
    "est_invalid_ack",
    "pkt_invalid_timestamp",
    "est_packet_out_of_window",
    "reassembly_overlap_different_data",
    "est_syn_resend",
};
constexpr std::string_view kAppLayer[] = {
    "http.request_line_invalid",
    "http.response_invalid_status",
    "http.response_invalid_protocol",
    "http.request_header_invalid",
    "http.response_header_invalid",
    "http.invalid_request_field_folding",
    "http.invalid_response_field_folding",
    "http.request_too_many_headers",
    "http.response_too_many_headers",
    "http.request_field_too_long",
    "http.response_field_too_long",
    "http.duplicate_content_length_field_in_request",
    "http.duplicate_content_length_field_in_response",
    "http.invalid_content_length_field_in_request",
    "http.invalid_content_length_field_in_response",
    "http.invalid_transfer_encoding_value_in_request",
    "http.invalid_transfer_encoding_value_in_response",
    "http.invalid_request_chunk_len",
    "http.invalid_response_chunk_len",
    "http.unable_to_match_response_to_request",
    "http.gzip_decompression_failed",
    "http.compression_bomb",
    "http.abnormal_ce_header",
    "http.request_field_missing_colon",
    "http.response_field_missing_colon",
    "tls.invalid_record_type",
    "tls.invalid_record_version",
    "tls.invalid_ssl_record",
    "tls.invalid_handshake_message",
    "tls.invalid_certificate",
    "tls.heartbeat_message",
};

}  // namespace

std::optional<EventKind> event_kind_from_keyword(std::string_view kw) {
    if (kw == "decode-event") return EventKind::Decode;
    if (kw == "stream-event") return EventKind::Stream;
    if (kw == "app-layer-event") return EventKind::AppLayer;
    return std::nullopt;
}

std::string_view event_kind_keyword(EventKind k) {
    switch (k) {
        case EventKind::Decode:
            return "decode-event";
        case EventKind::Stream:
            return "stream-event";
        case EventKind::AppLayer:
            return "app-layer-event";
    }
    return "?";
}

std::string_view event_kind_prefix(EventKind k) {
    switch (k) {
        case EventKind::Decode:
            return "decode";
        case EventKind::Stream:
            return "stream";
        case EventKind::AppLayer:
            return "applayer";
    }
    return "?";
}

std::span<const std::string_view> raised_events(EventKind k) {
    switch (k) {
        case EventKind::Decode:
            return kDecode;
        case EventKind::Stream:
            return kStream;
        case EventKind::AppLayer:
            return kAppLayer;
    }
    return {};
}

bool raises_event(EventKind k, std::string_view name) {
    const auto list = raised_events(k);
    return std::find(list.begin(), list.end(), name) != list.end();
}

std::string_view event_buffer_value(EventKind k, std::string_view name, std::span<char> out) {
    size_t n = 0;
    auto put = [&](std::string_view s) {
        const size_t take = std::min(s.size(), out.size() - n);
        std::memcpy(out.data() + n, s.data(), take);
        n += take;
    };
    put(event_kind_prefix(k));
    put(":");
    put(name);
    return {out.data(), n};
}

}  // namespace sluice::rules
