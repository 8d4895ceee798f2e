// The EVE side of a transaction: the `http` record written once per transaction, and the
// context an alert raised on it carries (its http, account and tls sections, and the llm
// fields under `sluice`). Field names follow Suricata's http records.
#pragma once

#include <string_view>

#include "eve/eve_emitter.h"
#include "eve/json_builder.h"
#include "inspect/rule_inspector.h"
#include "txn/transaction.h"

namespace sluice {

// Writes the `http` record of `t` (`ja4`: of the TLS session that carried it, or empty).
void write_transaction_record(EveEmitter& eve, const Flow& f, const Transaction& t,
                              std::string_view ja4);

class TransactionAlertContext final : public AlertContext {
  public:
    // `response`: the alert was raised on the response (its status and type are known).
    TransactionAlertContext(const Transaction& t, bool response, std::string_view ja4)
        : t_(t), response_(response), ja4_(ja4) {}
    void write(JsonBuilder& j) const override;
    void write_sluice(JsonBuilder& j) const override;
    const account::AccountRef* account() const override { return &t_.account; }

  private:
    const Transaction& t_;
    bool response_;
    std::string_view ja4_;
};

}  // namespace sluice
