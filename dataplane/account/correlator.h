// The correlator: owns every account's state, consumes observations in order (the runtime
// merges the workers' queues by packet sequence offline), evaluates the policy after each one
// and writes an EVE `account` record whenever an account's action changes. One instance per
// correlator thread; never touched by workers.
//
// Clusters: two accounts seen from the same source address within the policy window are
// linked (residential proxies and relays share exits; customers rarely share an address —
// an office NAT does, which is why cluster size alone flags nothing in the shipped policy).
// Links merge clusters with union-find; a cluster keeps the rule hits of its members and its
// id is the account id of its first member, so ids are stable as clusters grow. When a
// cluster changes (a merge, or a member's rule hit) every member is re-evaluated, and each
// member whose action changes gets its own record. Clusters only grow within a run (ageing
// them out is a later milestone).
#pragma once

#include <memory>
#include <unordered_map>

#include "account/account_state.h"
#include "account/policy.h"
#include "eve/event_sink.h"
#include "eve/json_builder.h"

namespace sluice::account {

struct CorrelatorCounters {
    uint64_t observations = 0;
    uint64_t accounts = 0;
    uint64_t records = 0;
    uint64_t records_dropped = 0;
    uint64_t flagged = 0;  // accounts whose action is not pass
};

class Correlator final : public ObservationSink {
  public:
    Correlator(std::shared_ptr<const Policy> policy, EventSink* sink, uint32_t source);

    void observe(const Observation& o) override;
    const CorrelatorCounters& counters() const { return ctr_; }

    struct Entry {
        explicit Entry(uint64_t window_ns) : state(window_ns) {}
        AccountState state;
        uint32_t index = 0;  // dense, in order of first appearance
        std::string id;
        Verdict verdict = Verdict::Pass;
        double score = 0;
        std::array<char, 48> hint{};
        uint8_t hint_len = 0;
    };
    const Entry* find(std::string_view account) const;
    size_t accounts() const { return accounts_.size(); }
    // The cluster of an account: its id (the first member's account id) and size.
    std::pair<std::string_view, uint32_t> cluster_of(const Entry& e) const;

  private:
    void emit(const Observation& o, const Entry& e, const AccountSignals& s, const Decision& d);
    uint32_t root(uint32_t i) const;
    bool unite(uint32_t a, uint32_t b);
    void evaluate(const Observation& o, Entry& e, bool emit_change);

    struct Cluster {
        uint32_t first = 0;  // member with the smallest index: names the cluster
        uint32_t size = 1;
        std::array<double, static_cast<size_t>(RuleClass::Count)> hits{};
        std::vector<uint32_t> members;
    };
    mutable std::vector<uint32_t> parent_;
    std::vector<Cluster> clusters_;  // valid at roots
    std::vector<Entry*> by_index_;
    struct Exit {
        uint32_t account;
        uint64_t ts_ns;
    };
    std::unordered_map<std::string, Exit> last_by_address_;

    std::shared_ptr<const Policy> policy_;
    EventSink* sink_;
    uint32_t source_;
    uint32_t index_ = 0;
    std::unordered_map<std::string, std::unique_ptr<Entry>> accounts_;
    std::array<char, 16384> buf_;
    JsonBuilder json_{buf_};
    CorrelatorCounters ctr_;
};

}  // namespace sluice::account
