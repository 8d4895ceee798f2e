#include "quic/quic_counters.h"

namespace sluice::quic {

std::string_view quic_counter_name(QuicCtr c) {
    static constexpr std::array<std::string_view, kQuicCounters> kNames = {
        "datagrams",        "connections",        "other_versions", "initials",
        "decrypt_failures", "malformed",          "retries",        "hellos",
        "hello_too_large",  "sessions_exhausted", "reclaimed",      "blocked",
    };
    const auto i = static_cast<size_t>(c);
    return i < kNames.size() ? kNames[i] : "unknown";
}

}  // namespace sluice::quic
