// The detection policy: signals to scores, reasons and an action (the verdict vocabulary's
// alert, tag, rate-limit, block), from YAML. Errors name file:line:col. Immutable once
// loaded; a correlator evaluates it against an account's signals.
//
//   window: 600                      # seconds of signal history
//   rules:
//     - {name: proxy-rotation, signal: distinct_prefixes, above: 10, score: 40,
//        reason: "requests from many networks"}
//     - {name: distillation, signal: hits.distillation, above: 2, score: 50}
//     - {name: machine-regular, signal: interarrival_cv, below: 0.1, min_requests: 20, score: 20}
//     - {name: hydra, signal: cluster_hits.distillation, above: 10, score: 40}
//   actions:                         # first entry whose score the account reaches
//     - {score: 90, action: block}
//     - {score: 60, action: rate-limit, rate_per_minute: 30}
//     - {score: 30, action: alert}
//     - {score: 150, action: block, target: cluster}   # target: account (default), cluster,
//                                                    # prefix (/24, /48) or ja4
//   allow: {accounts: [9b0e712c187eb35e]}
//   deny: {accounts: [...], prefixes: [203.0.113.0/24], ja4: [t13d...]}   # always blocked
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "account/account_state.h"
#include "verdict/enforcement.h"
#include "verdict/verdict.h"

namespace sluice::account {

enum class Signal : uint8_t {
    Requests,
    DistinctIps,
    DistinctPrefixes,
    DistinctJa4,
    DistinctUserAgents,
    InputTokens,
    OutputTokens,
    Bytes,
    ClaimMismatches,
    InterarrivalCv,
    Hits,  // + class
    ClusterSize,
    ClusterHits,  // + class
    ClusterRequests,
    ClusterShare,  // + class: share of the cluster's requests with a hit of the class
    IpAccounts,    // distinct accounts seen from the account's latest source address
    PrefixAccounts,
    Ja4Accounts,
    DistinctAsns,
    PrefixNewAccounts,       // never-seen credentials from the account's /24 or /48 (churn)
    DistinctH2Fingerprints,  // distinct HTTP/2 client fingerprints on the key
    DistinctQuicJa4,         // distinct QUIC JA4s seen from the key's addresses
    // The fleet's view (every edge's evidence; docs/fleet.md), read from the shared store.
    FleetRequests,
    FleetInputTokens,
    FleetOutputTokens,
    FleetDistinctIps,
    FleetDistinctPrefixes,
    FleetDistinctAsns,
    FleetDistinctJa4,
    FleetTemplateAccounts,  // accounts fleet-wide sending the account's prompt template
};

// How accounts are linked into clusters (each link lasts one window; clusters are rebuilt
// every half window from the links still alive, so they dissolve when links stop).
struct ClusterOptions {
    bool by_ip = true;       // same source address within the window
    bool by_prefix = false;  // same /24 or /48 (off: ISPs put customers side by side)
    bool by_ja4_ua = false;  // same JA4 and user agent (off: every SDK user shares one)
    // Near-duplicate prompts (SimHash within template_distance). Off by default: popular
    // prompts are shared by unrelated customers, and links are transitive.
    bool by_template = false;
    // Only prompts whose request raised a rule hit link (a campaign's templated prompts do;
    // customers who happen to send the same popular prompt do not).
    bool template_flagged_only = true;
    int template_distance = 12;
    uint32_t template_min_bytes = 80;  // shorter prompts say too little to link on
};

// What the correlator may hold, whatever the traffic (docs/accounts.md, "Capacity"). When an
// account arrives with the table full, an eviction pass runs: idle accounts go first, then
// those with the least evidence (no action, fewest requests, oldest); accounts with an action
// in force stay unless there are more than `enforced`, and then the weakest and oldest are
// folded into a decision on their network prefix. Signal keys (links, last exits,
// infrastructure counters, threshold states) past `keys` per map lose their oldest eighth.
// The memory budget bounds both: three quarters of it for accounts, a quarter for keys.
struct CapacityOptions {
    uint32_t accounts = 200000;
    uint32_t enforced = 20000;
    uint32_t keys = 200000;
    uint32_t memory_mb = 1024;
};

struct PolicyRule {
    std::string name;
    std::string reason;
    Signal signal = Signal::Requests;
    RuleClass hit_class = RuleClass::Other;  // for Signal::Hits
    std::optional<double> above, below;
    double min_requests = 0;      // the rule needs this much evidence first
    double min_cluster_size = 0;  // ... and a cluster at least this large
    double score = 0;
};

struct PolicyAction {
    double score = 0;
    Verdict verdict = Verdict::Alert;
    double rate_per_minute = 0;  // rate-limit only
    EnforceTarget target = EnforceTarget::Account;
    double hold_s = 0;          // once taken, the action stands this long even if signals fall
    bool answer_reset = false;  // answer: reset - stopped requests get RSTs, not 403/429
};

// Subjects blocked whatever their signals (the operator's static list; the control plane
// edits the same table at run time).
struct DenyList {
    std::vector<std::string> accounts;  // account ids (16 hex)
    std::vector<IpPrefix> prefixes;
    std::vector<std::string> ja4;
    bool empty() const { return accounts.empty() && prefixes.empty() && ja4.empty(); }
};

struct Decision {
    double score = 0;
    Verdict verdict = Verdict::Pass;
    double rate_per_minute = 0;
    EnforceTarget target = EnforceTarget::Account;
    double hold_s = 0;
    bool answer_reset = false;
    std::vector<const PolicyRule*> reasons;  // the rules that fired, in policy order
    bool allowlisted = false;
};

class Policy {
  public:
    // Parses YAML text; on error returns nullopt with `error` = "file:line:col: what".
    static std::optional<Policy> parse(const std::string& yaml, const std::string& file,
                                       std::string& error);
    static std::optional<Policy> load(const std::string& path, std::string& error);

    Decision decide(const std::array<char, 16>& account, const AccountSignals& s) const;
    // Bit i: rule i reads a cluster signal and holds on `s`'s cluster fields (rules past 64
    // share the last bit). When a cluster's mask is unchanged, its members' scores are too.
    uint64_t cluster_mask(const AccountSignals& s) const;
    double window_s() const { return window_s_; }
    const std::vector<PolicyRule>& rules() const { return rules_; }
    const DenyList& deny() const { return deny_; }
    const ClusterOptions& clusters() const { return clusters_; }
    const CapacityOptions& capacity() const { return capacity_; }
    // Whether a rule reads a fleet signal (then the correlator asks the fleet).
    bool reads_fleet() const { return reads_fleet_; }
    // Whether a rule reads fleet.template_accounts (then accounts with a linkable prompt
    // frame are asked about).
    bool reads_fleet_templates() const { return reads_fleet_templates_; }
    // Whether an account's local evidence reaches `fraction` of a fleet rule's threshold on
    // the local counterpart of its signal (fleet.distinct_prefixes: distinct_prefixes): the
    // accounts worth a read of the fleet's view.
    bool fleet_candidate(const AccountSignals& local, double fraction) const;

  private:
    double window_s_ = 600;
    std::vector<PolicyRule> rules_;
    std::vector<PolicyAction> actions_;  // by descending score
    std::set<std::string, std::less<>> allow_accounts_;
    DenyList deny_;
    ClusterOptions clusters_;
    CapacityOptions capacity_;
    bool reads_fleet_ = false;
    bool reads_fleet_templates_ = false;
};

std::string_view signal_name(Signal s);

}  // namespace sluice::account
