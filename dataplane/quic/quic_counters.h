// What the QUIC stage counts: one enum-indexed array with one name table, read by the
// summary, /metrics and EVE alike.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice::quic {

enum class QuicCtr : uint8_t {
    Datagrams,          // UDP datagrams looked at
    Connections,        // flows whose first datagram was a client Initial of version 1 or 2
    OtherVersions,      // long headers of versions sluice does not open (counted, forwarded)
    Initials,           // client Initial packets read
    DecryptFailures,    // Initial packets whose tag did not verify (not the client's keys)
    Malformed,          // truncated headers or frames
    Retries,            // Retry packets (the keys follow the new connection id)
    Hellos,             // ClientHellos read whole and logged
    HelloTooLarge,      // CRYPTO data past the assembler's capacity
    SessionsExhausted,  // no slot for a new handshake (its hello is not read)
    Reclaimed,          // idle half-sent hellos that gave their slot up
    Blocked,            // QUIC connections dropped by quic.action: block
    kCount,
};
inline constexpr size_t kQuicCounters = static_cast<size_t>(QuicCtr::kCount);
std::string_view quic_counter_name(QuicCtr c);

struct QuicCounters {
    std::array<uint64_t, kQuicCounters> v{};
    uint64_t& operator[](QuicCtr c) { return v[static_cast<size_t>(c)]; }
    uint64_t operator[](QuicCtr c) const { return v[static_cast<size_t>(c)]; }
    void add(const QuicCounters& o) {
        for (size_t i = 0; i < v.size(); ++i) v[i] += o.v[i];
    }
};

}  // namespace sluice::quic
