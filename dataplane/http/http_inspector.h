// The HTTP/1.x framing stage: parses both directions of plaintext or decrypted streams
// (framing in http_framer, heads in http_head, each head parsed once), pairs responses with
// pipelined requests, keeps and decodes gzip/deflate bodies up to a cap (http_body.cc), and
// hands each request and response to the transaction stage (txn/transaction_stage.h), which
// does everything that does not depend on the framing: identity, LLM fields, rules,
// enforcement, the correlator's observation and the `http` record. Malformed or hostile
// messages get `anomaly` records here.
//
// Memory: per flow only a 16-bit session index in Flow; sessions, head buffers, body buffers
// and zlib streams come from fixed per-worker pools sized by HttpOptions (http_sessions.cc). A
// flow that finds a pool empty is counted and left uninspected rather than slowing everyone
// down.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "account/account_state.h"
#include "account/identity.h"
#include "common/buffer_pool.h"
#include "common/pool_audit.h"
#include "eve/eve_emitter.h"
#include "flow/flow_table.h"
#include "http/body_decoder.h"
#include "http/h2c_upgrade.h"
#include "http/http_framer.h"
#include "http/http_options.h"
#include "http/llm_extract.h"
#include "http/message_bodies.h"
#include "inspect/rule_inspector.h"
#include "reassembly/stream_consumer.h"
#include "tls/tls_inspector.h"
#include "txn/transaction.h"
#include "txn/transaction_stage.h"
#include "verdict/enforcement.h"
#include "verdict/verdict.h"

namespace sluice::http {

struct HttpCounters {
    uint64_t sessions = 0;
    uint64_t sessions_exhausted = 0;
    uint64_t requests = 0;
    uint64_t responses = 0;
    uint64_t transactions = 0;  // http records written (or that would be, with EVE off)
    uint64_t unanswered = 0;    // requests that never got a response
    uint64_t http2 = 0;         // HTTP/2 connections seen (not parsed)
    uint64_t tunnels = 0;       // Upgrade / CONNECT (not parsed further)
    uint64_t h2c_upgrades = 0;  // Upgrade: h2c handed to the HTTP/2 stage
    uint64_t parse_stopped = 0;
    uint64_t parse_recovered = 0;  // heads parsed past something malformed (each an anomaly)
    uint64_t smuggling = 0;
    uint64_t header_buffers_exhausted = 0;
    uint64_t body_buffers_exhausted = 0;
    uint64_t bodies_over_cap = 0;  // bodies inspected up to the cap only
    uint64_t body_gaps = 0;
    uint64_t decoders_exhausted = 0;
    uint64_t buffers_reclaimed = 0;  // head/body buffers or decoders taken back under pressure
    uint64_t decompression_capped = 0;
    uint64_t llm_requests = 0;
    uint64_t llm_truncated = 0;
    uint64_t usage_reports = 0;
    uint64_t pipeline_overflow = 0;
    uint64_t enforced_block = 0;       // requests stopped by a block decision
    uint64_t enforced_rate_limit = 0;  // requests stopped over a rate limit
    uint64_t rate_limit_admitted = 0;  // requests of rate-limited subjects within budget
    std::array<uint64_t, kAnomalyCount> anomalies{};
};

class HttpInspector final : public StreamConsumer,
                            private MessageSink,
                            private TransactionAnomalies,
                            private MessageBodies::Holder {
  public:
    static constexpr size_t kPipelineDepth = 4;

    // `txn`: where each parsed request and response goes (identity, LLM fields, rules,
    // enforcement, records).
    HttpInspector(EveEmitter& eve, const HttpOptions& opts, RuleInspector* rules,
                  TransactionStage& txn, MessageBodies& bodies);
    ~HttpInspector() override;

    void on_data(Flow& f, Dir d, std::span<const uint8_t> bytes) override;
    void on_gap(Flow& f, Dir d, uint32_t len) override;
    void on_end(Flow& f, Dir d) override;
    void on_flow_end(Flow& f) override;

    // Where `Upgrade: h2c` connections go once they switch (the HTTP/2 stage); without one
    // they are tunnels, counted and not parsed.
    void set_h2c_upgrade(H2cUpgrade* u) { upgrade_ = u; }
    const HttpCounters& counters() const { return ctr_; }
    size_t sessions_in_use() const;
    size_t head_buffers_in_use() const { return heads_.in_use(); }
    // Claims the session, buffers and decoders `f` holds (see common/pool_audit.h).
    void audit(const Flow& f, PoolAudit& a) const;
    void audit_pools(PoolAudit& a) const;

    struct Session;

  private:
    // MessageSink
    std::span<char> head_buffer(Flow& f, Dir d) override;
    Framing on_head(Flow& f, Dir d, std::string_view head) override;
    void on_body(Flow& f, Dir d, std::span<const uint8_t> bytes) override;
    void on_message_end(Flow& f, Dir d, bool truncated) override;
    void on_anomaly(Flow& f, Dir d, Anomaly a) override { anomaly(f, d, a, {}); }
    // `recovered`: parsing went on past it; `interpretation`: what the personality made of it.
    void anomaly(Flow& f, Dir d, Anomaly a, std::string_view interpretation,
                 bool recovered = false);
    // Each quirk the tolerant head parser recovered from, as a recovered anomaly.
    void report_quirks(Flow& f, Dir d, const MessageHead& h);
    // A framing header (Content-Length, Transfer-Encoding) with a quirk: true if the
    // personality says the server rejects the request.
    bool framing_header_rejected(Flow& f, Dir d, const Header& x);
    void on_switched(Flow& f, Dir d, std::span<const uint8_t> bytes) override;
    // TransactionAnomalies
    void transaction_anomaly(Flow& f, Dir d, Anomaly a) override;
    // MessageBodies::Holder
    bool reclaim(const Flow& asking, MessageBodies::Held what) override {
        return reclaim_oldest(asking, what);
    }
    void body_anomaly(Flow& f, Dir d, Anomaly a) override { on_anomaly(f, d, a); }

    Session* session(Flow& f);
    Session* start_session(Flow& f, std::span<const uint8_t> first);
    Framing request_head(Flow& f, Session& s, std::string_view head);
    Framing response_head(Flow& f, Session& s, std::string_view head);
    // Hands the connection's one outstanding request to the HTTP/2 stage as stream 1.
    bool switch_to_h2(Flow& f, Session& s);
    void request_end(Flow& f, Session& s);
    void response_end(Flow& f, Session& s);
    // The transaction is complete (or given up): observed for the correlator and recorded.
    void log_txn(Flow& f, Transaction& t);
    void release_dir(Session& s, Dir d);
    using Held = MessageBodies::Held;
    // On exhaustion: takes `what` back from the message holding one longest (not `asking`'s).
    bool reclaim_oldest(const Flow& asking, Held what);
    void end_session(Flow& f);

    EveEmitter& eve_;
    HttpOptions opts_;
    RuleInspector* rules_;
    TransactionStage& txn_;
    MessageBodies& bodies_;
    H2cUpgrade* upgrade_ = nullptr;
    MessageFramer framer_;
    std::vector<Session> sessions_;
    IndexPool free_sessions_;
    BufferPool heads_;
    // A request head's parse, by the index of the head buffer holding it (parsed once, read
    // again when the request ends).
    std::vector<MessageHead> parsed_heads_;
    HttpCounters ctr_;
};

}  // namespace sluice::http
