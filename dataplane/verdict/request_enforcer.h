// Decisions applied to requests: the correlator's (or an operator's) published enforcement
// table is looked up for each completed request by account, client address and JA4. A block
// stops the flow; a rate limit admits the request while the subject's token bucket (one per
// subject of the decision, split across workers) has budget, and rejects it past that.
// Protocol-neutral: it reads a Transaction, whatever framing carried it.
#pragma once

#include <cstdint>

#include "flow/flow.h"
#include "txn/transaction.h"
#include "verdict/enforcement.h"

namespace sluice {

class RequestEnforcer {
  public:
    enum class Outcome : uint8_t { None, Admitted, RateLimited, Blocked };

    // `share`: the number of workers a rate limit is split across. A null slot: report only.
    void set(const EnforcementSlot* slot, uint32_t share) {
        slot_ = slot;
        limiter_ = RateLimiter(4096, share);
    }
    bool active() const { return slot_ != nullptr; }
    // Applies the decision for `t` to the flow's verdict and records it in `t`.
    Outcome apply(Flow& f, Transaction& t, uint64_t now_ns);

  private:
    const EnforcementSlot* slot_ = nullptr;
    RateLimiter limiter_{1, 1};
};

}  // namespace sluice
