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
    // The prompt's frame (account::prompt_frame: first and last 8 tokens) when the request
    // is one a template may link (by default: it raised a rule hit); 0: none.
    uint64_t frame_head = 0, frame_tail = 0;
};

// An account's latest distinct linkable prompt frames (heads and tails), newest first; 0: none.
using FleetFrames = std::array<uint64_t, 4>;
// Puts `f` first unless it is 0 or already there.
inline void remember_frame(FleetFrames& frames, uint64_t f) {
    if (f == 0) return;
    for (uint64_t x : frames)
        if (x == f) return;
    for (size_t i = frames.size() - 1; i > 0; --i) frames[i] = frames[i - 1];
    frames[0] = f;
}

// A question about one account: its id, the packet time of the read, and its latest linkable
// prompt frames (the fleet counts the accounts that sent each; the largest count answers).
struct FleetQuestion {
    std::array<char, 16> account{};
    uint64_t ts_ns = 0;
    FleetFrames frames{};
};

// The fleet's view of one account over the last windows (every edge's evidence, this one's
// included).
struct FleetSignals {
    bool known = false;  // a view was read
    double requests = 0, input_tokens = 0, output_tokens = 0;
    double distinct_ips = 0, distinct_prefixes = 0, distinct_asns = 0, distinct_ja4 = 0;
    // Accounts across the fleet that sent the account's prompt frame (the larger of its head
    // and tail) within the windows: a campaign's template, whose members each stay small.
    double template_accounts = 0;
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
    // Asks for the fleet's view of an account.
    virtual bool ask(const FleetQuestion& q) = 0;
    // A view that arrived, if any.
    virtual bool take(FleetView& v) = 0;
};

}  // namespace sluice::account
