// What the correlator exchanges with the fleet (docs/fleet.md): evidence about each request
// it observes, questions about accounts whose fleet-wide view the policy needs, and the
// answers. The fleet thread (fleet/fleet_link.h) implements the port; the correlator never
// waits on it (a full queue drops and counts, live).
#pragma once

#include <array>
#include <cstdint>

#include "common/ip_address.h"

namespace sluice::account {

// One request's evidence: raw values stay in this process; the fleet thread publishes keyed
// hashes of them.
struct FleetEvidence {
    std::array<char, 16> account{};
    uint64_t ts_ns = 0;
    IpAddress src;
    uint32_t asn = 0;       // 0: unknown (no ASN table)
    uint64_t ja4_hash = 0;  // 0: not TLS or not decrypted
    uint32_t input_tokens = 0, output_tokens = 0;
};

// The fleet's view of one account over the last windows (every edge's evidence, this one's
// included).
struct FleetSignals {
    bool known = false;  // a view was read
    double requests = 0, input_tokens = 0, output_tokens = 0;
    double distinct_ips = 0, distinct_prefixes = 0, distinct_asns = 0, distinct_ja4 = 0;
};

struct FleetView {
    std::array<char, 16> account{};
    FleetSignals signals;
};

class FleetPort {
  public:
    virtual ~FleetPort() = default;
    // False: dropped (queue full).
    virtual bool evidence(const FleetEvidence& e) = 0;
    // Asks for the fleet's view of `account` as of packet time `ts_ns`.
    virtual bool ask(const std::array<char, 16>& account, uint64_t ts_ns) = 0;
    // A view that arrived, if any.
    virtual bool take(FleetView& v) = 0;
};

}  // namespace sluice::account
