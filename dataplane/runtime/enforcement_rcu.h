// Publishes enforcement snapshots to the workers with DPDK's QSBR RCU (rte_rcu_qsbr): the
// writer (correlator thread) swaps the pointer, takes a token, and frees the old snapshot once
// every worker has reported a quiescent state after the swap (workers report once per poll
// loop, between bursts, so a snapshot is never freed under a lookup). The same check tells
// when every worker sees the new snapshot: that instant minus the deciding observation's
// queueing time is the decision-to-enforcement delay reported in the summary.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "verdict/enforcement.h"

struct rte_rcu_qsbr;

namespace sluice {

struct EnforcementDelay {
    uint64_t snapshots = 0;
    uint64_t p50_us = 0, p99_us = 0, max_us = 0;
};

class RcuEnforcement final : public EnforcementPublisher {
  public:
    explicit RcuEnforcement(unsigned readers);
    ~RcuEnforcement() override;
    RcuEnforcement(const RcuEnforcement&) = delete;
    RcuEnforcement& operator=(const RcuEnforcement&) = delete;

    const EnforcementSlot& slot() const { return slot_; }
    // Reader side (worker `id`, on its own thread).
    void online(unsigned id);
    void quiescent(unsigned id);
    void offline(unsigned id);

    void publish(std::unique_ptr<EnforcementTable> t) override;
    void reclaim() override;
    EnforcementDelay delay() const;  // after the writer stopped
    bool pending() const override { return !retired_.empty(); }

  private:
    struct Retired {
        std::unique_ptr<EnforcementTable> table;  // the snapshot replaced (may be null)
        uint64_t token;
        uint64_t decided_ns;  // steady ns of the decision behind the new snapshot
    };
    rte_rcu_qsbr* qs_ = nullptr;
    EnforcementSlot slot_;
    std::unique_ptr<EnforcementTable> current_;
    std::deque<Retired> retired_;
    std::vector<uint64_t> delays_us_;
};

}  // namespace sluice
