// The correlator: owns every account's state, consumes observations in order (the runtime
// merges the workers' queues by packet sequence offline), evaluates the policy after each one,
// writes an EVE `account` record whenever an account's effective action changes, and (live)
// publishes what to enforce to the workers' table. One instance per correlator thread; never
// touched by workers.
//
// Clusters: accounts are linked by shared infrastructure within the policy window (the same
// source address; optionally the same /24|/48 or JA4 + user agent) and by near-duplicate
// prompts (SimHash, bit-sampling LSH: 20 tables of 10 sampled bits, candidates confirmed by
// Hamming distance). Links merge clusters with union-find; a cluster's id is the account id
// of its earliest member. Every half window the clusters are rebuilt from the links still
// inside the window, so clusters dissolve when the sharing stops, and idle accounts free
// their sketches. When a cluster changes its members are re-evaluated; a decision whose
// target is the cluster applies to every member (each gets its own record).
#pragma once

#include <memory>
#include <ostream>
#include <set>
#include <unordered_map>
#include <vector>

#include "account/account_state.h"
#include "account/asn_table.h"
#include "account/policy.h"
#include "account/threshold_tracker.h"
#include "eve/event_sink.h"
#include "eve/json_builder.h"
#include "rules/compiled_rules.h"
#include "verdict/enforcement.h"
#include "verdict/operator_lists.h"

namespace sluice::account {

struct CorrelatorCounters {
    uint64_t observations = 0;
    uint64_t accounts = 0;  // accounts seen
    uint64_t active = 0;    // accounts holding state (seen within the window)
    uint64_t records = 0;
    uint64_t records_dropped = 0;
    uint64_t flagged = 0;   // accounts whose own action is not pass
    uint64_t clusters = 0;  // clusters of two or more accounts
    uint64_t links = 0;     // links alive
    uint64_t rebuilds = 0;
    uint64_t enforced = 0;  // table entries in the last snapshot
    uint64_t publishes = 0;
    uint64_t rule_hits = 0;           // matches of thresholded rules
    uint64_t threshold_alerts = 0;    // ... that raised an alert
    uint64_t threshold_enforced = 0;  // ... whose drop/reject action blocked the subject
    // Capacity (policy `capacity`): accounts held now and the most allowed, accounts evicted
    // (and the passes that evicted them), enforced accounts folded into a prefix decision,
    // signal keys dropped oldest-first from a full map.
    uint64_t tracked = 0;
    uint64_t capacity = 0;
    uint64_t evicted = 0;
    uint64_t evictions = 0;
    uint64_t folded = 0;
    uint64_t keys_trimmed = 0;
};

class Correlator final : public ObservationSink {
  public:
    Correlator(std::shared_ptr<const Policy> policy, EventSink* sink, uint32_t source,
               std::shared_ptr<const AsnTable> asn = nullptr);

    void observe(const Observation& o) override;
    const CorrelatorCounters& counters() const { return ctr_; }

    // Live enforcement: decisions go through this publisher. Null (offline): report only.
    void set_publisher(EnforcementPublisher* p);
    // The operator's blocklist/allowlist, merged into every snapshot (changes and expiries
    // trigger a new one at the next flush).
    void set_operator_lists(OperatorLists* l) { lists_ = l; }
    // A new policy, from the next observation on; account state and clusters are kept
    // (existing accounts keep the window they started with until they go idle).
    void set_policy(std::shared_ptr<const Policy> p);
    const Policy& policy() const { return *policy_; }
    // JSON for the control plane: the `n` accounts with the strongest action and score, and
    // one account's standing (empty if unknown).
    std::string top_json(size_t n);
    std::string show_json(std::string_view id);
    // The `n` largest clusters (two or more accounts): id, size, volume, hits, decision, and
    // their first members.
    std::string clusters_json(size_t n);
    // The rule set whose thresholded rules workers report (ObservationKind::RuleHit).
    void set_rules(std::shared_ptr<const rules::CompiledRules> r, uint8_t generation = 0) {
        rules_[generation] = std::move(r);
    }
    // The fleet (docs/fleet.md): every request's evidence goes to `port`; with `live_reads`,
    // an account whose local evidence reaches `read_fraction` of a fleet rule's threshold (or
    // that is flagged) is asked about at most once per `read_interval_ns` of packet time.
    // Offline, the runtime reads the views at the end (fleet_candidates, apply_fleet).
    void set_fleet(FleetPort* port, double read_fraction, uint64_t read_interval_ns,
                   bool live_reads);
    // The fleet's view of an account arrived: its signals join the account's and the policy
    // runs again; a record is written if the action changes. `seq` orders that record.
    void apply_fleet(const FleetView& v, uint64_t seq);
    // Offline end: the accounts worth a read (id, packet time of the read).
    std::vector<FleetQuestion> fleet_candidates();
    uint64_t last_seq() const { return last_seq_; }
    // Publishes a snapshot if decisions changed since the last one (writer thread, between
    // batches). Returns true if it published.
    bool flush();

    struct Entry {
        std::unique_ptr<AccountState> state;  // null while idle past the window
        uint32_t index = 0;                   // dense, in order of first appearance
        std::string id;
        uint64_t key = 0;                 // account_key(id)
        Verdict verdict = Verdict::Pass;  // the account's own decision
        EnforceTarget target = EnforceTarget::Account;
        bool answer_reset = false;  // its decision says answer: reset (http_status 0)
        float rate = 0;
        Verdict via_cluster = Verdict::Pass;  // its cluster's decision
        Verdict reported = Verdict::Pass;     // the effective action last recorded
        Verdict held = Verdict::Pass;         // an action under its hold time
        uint64_t held_until_ns = 0;
        double score = 0;
        std::array<char, 48> hint{};
        uint8_t hint_len = 0;
        IpAddress last_src;
        uint64_t last_ja4 = 0;
        double ip_accounts = 0, prefix_accounts = 0, ja4_accounts = 0, prefix_new = 0;
        FleetSignals fleet;           // the fleet's view, once read
        uint64_t fleet_asked_ns = 0;  // packet time of the last question about it
        FleetFrames frames{};         // its latest distinct linkable prompt frames, newest first
        Verdict effective() const { return std::max(verdict, via_cluster); }
    };
    const Entry* find(std::string_view account) const;
    size_t accounts() const { return accounts_.size(); }
    // The cluster of an account: its id (the first member's account id) and size.
    std::pair<std::string_view, uint32_t> cluster_of(const Entry& e) const;
    // One JSON line per account: its action, score, reasons, cluster and signals now.
    void write_accounts(std::ostream& out);
    // Bytes of state: per active account (sketches) and the whole correlator now.
    size_t memory_bytes() const;

  private:
    struct Cluster {
        uint32_t first = 0;  // member with the smallest index: names the cluster
        uint32_t size = 1;
        double requests = 0;
        std::array<double, static_cast<size_t>(RuleClass::Count)> hits{};
        std::vector<uint32_t> members;
        Verdict enforced = Verdict::Pass;  // a member's decision targeting the cluster
        float rate = 0;
        uint64_t mask = 0;  // the policy's cluster-level rules that hold (Policy::cluster_mask)
    };
    // Distinct accounts per infrastructure key (address, prefix, JA4) over the window.
    class InfraCounter {
      public:
        // count false: only reads the estimate (still ageing the key's generations).
        double add(uint64_t key, uint64_t account, uint64_t now, uint64_t half_ns,
                   bool count = true);
        void prune(uint64_t now, uint64_t window_ns);
        // Past `cap` keys, the oldest eighth goes; returns how many.
        size_t trim(size_t cap);
        size_t size() const { return slots_.size(); }

      private:
        struct Slot {
            FixedHyperLogLog<6> cur, prev;
            uint64_t gen_start = 0;
        };
        std::unordered_map<uint64_t, Slot> slots_;
    };
    struct Exit {
        uint32_t account;
        uint64_t ts_ns;
    };
    struct TemplateBucket {
        std::array<uint32_t, 2> account{};
        std::array<uint64_t, 2> sig{}, ts{};
    };

    Entry& entry_for(const Observation& o, bool& fresh);
    void rule_hit(const Observation& o);
    void quic_hello(const Observation& o);
    void emit_alert(const Observation& o, const rules::CompiledRules& rules, uint32_t rule);
    void emit(const Observation& o, const Entry& e, const AccountSignals& s, const Decision& d);
    void write_account(JsonBuilder& j, const Entry& e, const AccountSignals& s,
                       const Decision& d) const;
    // The standing of an account now (action in force, score and reasons on current signals).
    void write_standing(JsonBuilder& j, Entry& e);
    uint32_t root(uint32_t i) const;
    bool unite(uint32_t a, uint32_t b);
    bool link(uint32_t a, uint32_t b, uint64_t ts);
    bool link_by(std::unordered_map<uint64_t, Exit>& last, uint64_t key, uint32_t a, uint64_t ts);
    bool link_templates(const Observation& o, uint32_t a);
    void evaluate(const Observation& o, Entry& e);
    void spread(const Observation& o, uint32_t cluster_root);
    void spread_to(const Observation& o, const Cluster& c, const std::vector<uint32_t>& members);
    AccountSignals cluster_signals(const Cluster& c) const;
    // Records (and marks for enforcement) an effective action that differs from the last one
    // recorded; `d` says why.
    void set_effective(const Observation& o, Entry& e, const AccountSignals& s, const Decision& d);
    Decision cluster_decision(const Entry& e) const;
    void mark_dirty(const Observation& o);
    // Every half window, and early when the table is full (`make_room`): prunes what left
    // the window, evicts down to the capacity, and rebuilds the clusters.
    void rebuild(const Observation& o, bool make_room = false);
    void evict(const Observation& o, size_t target);
    void fold(const Entry& e, uint64_t now);
    void trim_keys();
    // Effective limits from the policy's capacity and memory budget.
    void size_limits();
    AccountSignals signals_of(Entry& e, uint64_t now);
    uint64_t window_ns() const { return window_ns_; }

    std::shared_ptr<const Policy> policy_;
    std::shared_ptr<const AsnTable> asn_;
    EventSink* sink_;
    uint32_t source_;
    uint64_t window_ns_;
    uint32_t index_ = 0;
    std::unordered_map<uint64_t, std::unique_ptr<Entry>> accounts_;  // by account_key(id)
    std::vector<Entry*> by_index_;
    mutable std::vector<uint32_t> parent_;
    std::vector<Cluster> clusters_;                 // valid at roots
    std::unordered_map<uint64_t, uint64_t> links_;  // (a << 32 | b), a < b -> last seen
    std::unordered_map<uint64_t, Exit> last_by_ip_, last_by_prefix_, last_by_ja4_ua_,
        last_by_frame_;
    struct QuicSeen {
        uint64_t ja4;
        uint64_t ts_ns;
    };
    std::unordered_map<uint64_t, QuicSeen> quic_by_ip_;  // the last QUIC JA4 per address
    std::vector<TemplateBucket> templates_;
    InfraCounter ip_accounts_, prefix_accounts_, ja4_accounts_;
    uint64_t next_rebuild_ = 0;
    std::vector<uint32_t> absorbed_;  // members whose cluster merged into another (this step)
    bool raised_ = false;             // ... bringing a stronger cluster decision with them

    // Thresholds.
    std::array<std::shared_ptr<const rules::CompiledRules>, 256> rules_;  // by generation
    ThresholdTracker thresholds_;
    struct TimedBlock {
        Enforcement e;
        std::optional<IpPrefix> prefix;  // else: account
        uint64_t account = 0;
    };
    std::vector<TimedBlock> timed_;  // rule actions on tracked subjects, until they expire
    // Evicted accounts' actions, folded into their network prefix (by prefix hash).
    std::unordered_map<uint64_t, TimedBlock> folded_;
    InfraCounter new_accounts_;  // never-seen credentials per prefix (credential churn)
    size_t account_cap_ = 0, enforced_cap_ = 0, key_cap_ = 0;
    uint64_t last_ts_ = 0;
    uint64_t last_seq_ = 0;

    // The fleet.
    FleetPort* fleet_ = nullptr;
    double fleet_fraction_ = 0.25;
    uint64_t fleet_interval_ns_ = 0;
    bool fleet_live_ = false;
    void ask_fleet(Entry& e, uint64_t now);
    bool fleet_worth_asking(const Entry& e, const AccountSignals& s) const;
    FleetQuestion question(const Entry& e, uint64_t now) const;

    // Enforcement (live).
    OperatorLists* lists_ = nullptr;
    uint64_t lists_seen_ = UINT64_MAX;
    EnforcementPublisher* publisher_ = nullptr;
    std::set<uint32_t> enforcing_;  // accounts whose effective action is enforced
    bool dirty_ = false;
    uint64_t dirty_since_ = 0;  // steady ns of the oldest observation behind unpublished changes
    uint64_t version_ = 0;

    PolicyRule cluster_reason_;
    std::array<char, 16384> buf_;
    JsonBuilder json_{buf_};
    CorrelatorCounters ctr_;
};

}  // namespace sluice::account
