// The transaction stage: what happens to a transaction once a framing stage (HTTP/1.x today,
// HTTP/2 next) has parsed it. For a request: who sent it (account identity), what it asks
// (LLM request fields), the rules at the request point, its prompt signature and the
// enforcement decision. For a response: token usage and the rules at the response point. When
// it is complete: the correlator's observation and the EVE `http` record. Nothing here knows
// which framing carried the transaction; the connection's TLS facts (its JA4) are kept here,
// by flow, for every transaction the connection carries.
#pragma once

#include <array>
#include <memory>
#include <string_view>
#include <vector>

#include "account/identity.h"
#include "account/transaction_observer.h"
#include "answer/answer_sender.h"
#include "eve/eve_emitter.h"
#include "flow/flow_table.h"
#include "http/http_framer.h"
#include "http/http_options.h"
#include "http/llm_extract.h"
#include "inspect/rule_inspector.h"
#include "tls/tls_inspector.h"
#include "txn/message_view.h"
#include "txn/transaction.h"
#include "verdict/request_enforcer.h"

namespace sluice {

// What the stage counts; reported in the summary's `http` section next to the framing's own.
struct TransactionCounters {
    uint64_t transactions = 0;  // http records written (or that would be, with EVE off)
    uint64_t llm_requests = 0;
    uint64_t llm_truncated = 0;
    uint64_t usage_reports = 0;
    uint64_t enforced_block = 0;       // requests stopped by a block decision
    uint64_t enforced_rate_limit = 0;  // requests stopped over a rate limit
    uint64_t rate_limit_admitted = 0;  // requests of rate-limited subjects within budget
};

// How the stage reports an anomaly of a transaction on the framing's record and counters.
class TransactionAnomalies {
  public:
    virtual ~TransactionAnomalies() = default;
    virtual void transaction_anomaly(Flow& f, Dir d, http::Anomaly a) = 0;
};

class TransactionStage final : public tls::HelloObserver {
  public:
    // `flows`: the worker's flow table, to keep each TLS flow's JA4 by flow index. May be null
    // (no JA4 in records).
    TransactionStage(EveEmitter& eve, const http::HttpOptions& opts, RuleInspector* rules,
                     const account::IdentityOptions& identity, const FlowTable* flows);
    ~TransactionStage() override;

    // A request is complete: `t` has its start line and head fields; `req` its headers and body.
    void on_request(Flow& f, Transaction& t, MessageView& req, TransactionAnomalies& anomalies);
    // A response is complete (`t` has its status and content type).
    void on_response(Flow& f, Transaction& t, MessageView& resp);
    // One server-sent event's JSON (`buf` holds it at its start, with padding after `len`).
    void on_event(Transaction& t, std::span<char> buf, size_t len);
    // The transaction is over (answered, or given up): observed and recorded.
    void on_complete(Flow& f, Transaction& t);

    // tls::HelloObserver: the flow's JA4, for its transactions.
    void on_client_hello(Flow& f, const tls::ClientHello& ch, const tls::Fingerprints& fp) override;
    std::string_view ja4_of(const Flow& f) const;
    // True while the rule set in force reads response header fields (http.server,
    // http.location, http.response_header): HTTP/2 then keeps a response's fields for them.
    bool wants_response_headers() const {
        return rules_ != nullptr && (rules_->uses(rules::Buffer::HttpServer) ||
                                     rules_->uses(rules::Buffer::HttpLocation) ||
                                     rules_->uses(rules::Buffer::HttpResponseHeader));
    }
    static constexpr size_t kHeaderNamesCap = 4096;
    static constexpr size_t kHeaderLinesCap = 16384;

    void set_observation_sink(account::ObservationSink* s) { observer_.set_sink(s); }
    void set_enforcement(const EnforcementSlot* slot, uint32_t share) {
        enforcer_.set(slot, share);
    }
    // Stopped requests are answered through `a` (null: reset as before); `salt` and `worker`
    // make their request ids (txn/request_id.h).
    void set_answers(AnswerSender* a, uint64_t salt, uint32_t worker) {
        answers_ = a;
        request_salt_ = salt;
        worker_ = worker;
    }
    const TransactionCounters& counters() const { return ctr_; }

  private:
    struct Ja4Slot {
        uint64_t flow_id = 0;  // the slot is valid only for this flow (indices are reused)
        std::array<char, 40> ja4{};
        uint8_t len = 0;
    };

    EveEmitter& eve_;
    http::HttpOptions opts_;
    RuleInspector* rules_;
    std::unique_ptr<http::LlmExtractor> llm_;
    account::Identifier identity_;
    account::TransactionObserver observer_;
    RequestEnforcer enforcer_;
    const FlowTable* flows_;
    std::vector<Ja4Slot> ja4_;  // by flow-table index
    std::vector<char> usage_scratch_;
    // The request's http.header_names buffer, built per request (names past its size are cut).
    std::vector<char> header_names_;
    std::string_view header_names(std::span<const http::Header> headers);
    // A message's http.request_header / http.response_header buffer: "Name: value" lines joined
    // by "\r\n", built only when the rule set reads it (lines past its size are cut).
    std::vector<char> header_lines_;
    std::string_view header_lines(std::span<const http::Header> headers);
    // A request this stage just stopped: the answer, or why resets.
    void answer_stopped(Flow& f, Transaction& t, std::string_view target);
    AnswerSender* answers_ = nullptr;
    uint64_t request_salt_ = 0;
    uint32_t worker_ = 0;
    uint64_t requests_ = 0;
    TransactionCounters ctr_;
};

}  // namespace sluice
