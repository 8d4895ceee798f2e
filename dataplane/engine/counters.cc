#include "engine/counters.h"

namespace sluice {

std::string_view counter_name(Ctr c) {
    static constexpr std::array<std::string_view, static_cast<size_t>(Ctr::Count)> names = {
        "packets",
        "bytes",
        "ipv4",
        "ipv6",
        "tcp",
        "udp",
        "other_ip",
        "not_ip",
        "fragments",
        "malformed",
        "flows_created",
        "flows_ended",
        "flows_timed_out",
        "flows_evicted",
        "flows_evicted_established",
        "tcp_syn",
        "tcp_midstream_pickup",
        "tcp_midstream_role_by_content",
        "tcp_rst",
        "forwarded",
        "dropped_verdict",
        "dropped_malformed",
        "dropped_fragment",
        "dropped_normalized",
        "dropped_held",
        "rst_injected",
        "answers_forbidden",
        "answers_rate_limited",
        "answer_segments",
        "answer_retransmits",
        "answers_delivered",
        "answers_abandoned",
        "answer_frames_lost",
        "answers_reclaimed",
        "verdicts_applied",
        "eve_records",
        "eve_dropped",
    };
    return names[static_cast<size_t>(c)];
}

std::string_view answer_fallback_name(AnswerFallback f) {
    static constexpr std::array<std::string_view, kAnswerFallbacks> names = {
        "configured", "tls_no_keys", "tls_state", "http2", "no_session", "no_link", "sequence",
    };
    return names[static_cast<size_t>(f)];
}

}  // namespace sluice
