// The correlator: owns every account's state, consumes observations in order (the runtime
// merges the workers' queues by packet sequence offline), evaluates the policy after each one
// and writes an EVE `account` record whenever an account's action changes. One instance per
// correlator thread; never touched by workers.
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
        Verdict verdict = Verdict::Pass;
        double score = 0;
        std::array<char, 48> hint{};
        uint8_t hint_len = 0;
    };
    const Entry* find(std::string_view account) const;
    size_t accounts() const { return accounts_.size(); }

  private:
    void emit(const Observation& o, const std::string& id, const Entry& e, const AccountSignals& s,
              const Decision& d);

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
