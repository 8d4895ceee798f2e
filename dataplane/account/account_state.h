// One account's signals over a sliding window of packet time, in fixed memory: two
// half-window generations of sketches (current and previous) are read together, so a signal
// covers between one and two half-windows of history and old activity ages out without
// per-event bookkeeping. Owned by one correlator; never shared.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "account/fleet_port.h"
#include "account/sketches.h"
#include "common/ip_address.h"

namespace sluice::account {

enum class ObservationKind : uint8_t {
    Request,    // a completed HTTP transaction with an account
    RuleHit,    // a match of a rule with threshold/detection_filter (counted by the correlator)
    QuicHello,  // a QUIC ClientHello (src, ja4_hash: its JA4 with q): no account, an address
};

// What the HTTP stage reports per transaction, and the rule stage per thresholded match
// (compact; raw credentials never included). Workers hand these to the correlator; see
// account/correlator.h.
struct Observation {
    ObservationKind kind = ObservationKind::Request;
    uint64_t ts_ns = 0;
    uint64_t seq = 0;  // packet sequence of the request's end: the correlator's order
    std::array<char, 16> account{};
    std::array<char, 48> hint{};
    uint8_t hint_len = 0;
    IpAddress src;
    uint64_t ja4_hash = 0;       // 0: not TLS or not decrypted
    uint64_t h2fp_hash = 0;      // the HTTP/2 client fingerprint (Akamai); 0: not HTTP/2
    uint64_t quic_ja4_hash = 0;  // set by the correlator: the QUIC JA4 last seen from `src`
    uint64_t ua_hash = 0;
    uint64_t prompt_simhash = 0;
    uint64_t prompt_head = 0, prompt_tail = 0;  // account::prompt_frame
    uint32_t prompt_bytes = 0;
    uint64_t pushed_ns = 0;  // steady clock when the worker queued it (verdict delay)
    uint32_t request_bytes = 0, response_bytes = 0;
    int32_t input_tokens = -1, output_tokens = -1;
    uint16_t hit_classes = 0;      // bit per rule class (see RuleClass)
    bool claims_official = false;  // user agent of an official SDK or CLI
    bool claim_mismatch = false;   // ... from a TLS stack that client does not use
    bool has_account = true;       // RuleHit: whether `account` is set
    // RuleHit: the rule (index in the rule set) and the packet's endpoints.
    uint32_t rule = 0;
    uint8_t rules_generation = 0;  // which rule set `rule` indexes (sets swap at run time)
    IpAddress dst;
    uint16_t src_port = 0, dst_port = 0;
    uint8_t proto = 6;
    bool to_server = true;
};

class ObservationSink {
  public:
    virtual ~ObservationSink() = default;
    virtual void observe(const Observation& o) = 0;
};

enum class RuleClass : uint8_t {
    Distillation,
    Reseller,
    ClientSpoofing,
    BotFarm,
    Recon,
    Other,
    Count
};
RuleClass rule_class_of(std::string_view classtype);
std::string_view rule_class_name(RuleClass c);

struct AccountSignals {
    double requests = 0;
    double distinct_ips = 0, distinct_prefixes = 0, distinct_ja4 = 0, distinct_user_agents = 0;
    double input_tokens = 0, output_tokens = 0, bytes = 0;
    std::array<double, static_cast<size_t>(RuleClass::Count)> hits{};
    double claim_mismatches = 0;
    double interarrival_cv = 0;  // coefficient of variation of gaps (0: machine-regular)
    // The account's cluster (accounts linked by shared infrastructure; see correlator.h).
    double cluster_size = 1;
    double cluster_requests = 0;
    std::array<double, static_cast<size_t>(RuleClass::Count)> cluster_hits{};
    // Shared infrastructure: distinct accounts seen within the window from the account's
    // latest source address, its /24 or /48, and its latest JA4.
    double ip_accounts = 0, prefix_accounts = 0, ja4_accounts = 0;
    double distinct_asns = 0;  // with an ASN table loaded
    // Credential churn: accounts first seen (never seen, or evicted since) from the account's
    // latest /24 or /48 within the window. A signup farm or a flood of random keys is one.
    double prefix_new_accounts = 0;
    // Distinct HTTP/2 client fingerprints on the key (how its clients frame HTTP/2): one
    // customer's client frames one way; a key shared by many tools frames many ways.
    double distinct_h2_fingerprints = 0;
    // Distinct QUIC client fingerprints (JA4 with q) seen from the account's addresses within
    // the window: QUIC carries no credential, so its hellos join the accounts their address
    // sends requests for (a browser's QUIC attempt before its TCP fallback, say).
    double distinct_quic_ja4 = 0;
    // The fleet's view of the account, when the policy reads one (docs/fleet.md).
    FleetSignals fleet;
};

class AccountState {
  public:
    explicit AccountState(uint64_t window_ns);
    // `asn`: the source's AS number from the loaded table (0: unknown).
    void observe(const Observation& o, uint32_t asn = 0);
    AccountSignals signals(uint64_t now_ns);
    // Requests and rule hits over the window only (cheap: no sketch merges).
    struct Totals {
        double requests = 0;
        std::array<double, static_cast<size_t>(RuleClass::Count)> hits{};
    };
    Totals totals(uint64_t now_ns);
    uint64_t last_seen_ns() const { return last_ns_; }
    static size_t bytes_per_account();

  private:
    struct Generation {
        // 128 registers for addresses and networks (9% standard error; exact-ish by linear
        // counting below ~300, where thresholds live), 32 for the rarer JA4s, UAs, ASNs.
        FixedHyperLogLog<7> ips, prefixes;
        FixedHyperLogLog<5> ja4, uas, asns, h2fps, quic_ja4;
        double requests = 0, in_tokens = 0, out_tokens = 0, bytes = 0, mismatches = 0;
        std::array<double, static_cast<size_t>(RuleClass::Count)> hits{};
        void clear();
    };
    void roll(uint64_t now_ns);
    uint64_t half_ns_;
    uint64_t gen_start_ = 0;
    Generation cur_, prev_;
    uint64_t last_ns_ = 0;
    // Welford's running moments of inter-arrival gaps (seconds), over the account's life.
    double gap_n_ = 0, gap_mean_ = 0, gap_m2_ = 0;
};

// The network prefix a source address counts under: /24 for IPv4, /48 for IPv6.
IpAddress network_prefix(const IpAddress& a);

}  // namespace sluice::account
