// What the correlator learns from a transaction: one Observation per completed transaction
// that carried an account (who, from where, with which client and prompt signature, how much
// it cost), plus whether its User-Agent claims an official client its JA4 does not match.
#pragma once

#include <string_view>
#include <vector>

#include "account/account_state.h"
#include "account/identity.h"
#include "flow/flow.h"
#include "txn/transaction.h"

namespace sluice::account {

class TransactionObserver {
  public:
    explicit TransactionObserver(std::vector<ClientClaim> claims) : claims_(std::move(claims)) {}
    void set_sink(ObservationSink* s) { sink_ = s; }
    bool active() const { return sink_ != nullptr; }
    // `ja4`: of the TLS session that carried it; `ts_ns`/`seq`: the packet that completed it.
    void observe(const Flow& f, const Transaction& t, std::string_view ja4, uint64_t ts_ns,
                 uint64_t seq);

  private:
    std::vector<ClientClaim> claims_;
    ObservationSink* sink_ = nullptr;
};

}  // namespace sluice::account
