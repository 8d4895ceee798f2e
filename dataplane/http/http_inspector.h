// The HTTP/1.x stage: parses both directions of plaintext or decrypted streams (framing in
// http_framer, heads in http_head), pairs responses with pipelined requests, decodes
// gzip/deflate bodies up to a cap, extracts LLM request fields and response token usage,
// runs the rules at the end of each request and response, and writes one EVE `http` record
// per transaction (plus `anomaly` records for malformed or hostile messages).
//
// Memory: per flow only a 16-bit session index in Flow; sessions, head buffers, body buffers
// and zlib streams come from fixed per-worker pools sized by HttpOptions. A flow that finds a
// pool empty is counted and left uninspected rather than slowing everyone down.
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
#include "http/http_framer.h"
#include "http/llm_extract.h"
#include "inspect/rule_inspector.h"
#include "reassembly/stream_consumer.h"
#include "tls/tls_inspector.h"
#include "verdict/enforcement.h"
#include "verdict/verdict.h"

namespace sluice::http {

struct HttpOptions {
    bool enabled = true;                // false: no HTTP parsing (and no HTTP rules)
    uint32_t sessions = 4096;           // concurrent HTTP flows per worker (max 65535)
    uint32_t max_header_bytes = 16384;  // a longer head is an anomaly
    uint32_t header_buffers = 1024;     // heads being assembled or inspected at once
    uint32_t body_cap = 65536;          // body bytes inspected per message (after decoding)
    uint32_t body_buffers = 256;        // bodies being assembled at once
    uint32_t decoders = 64;             // gzip/deflate bodies being decoded at once
    // Decompression bombs: decoding of one message stops past this many decoded bytes, or
    // once it passed 256 KiB at more than max_decode_ratio times its wire bytes. Counted and
    // recorded; what it does to the flow is cap_verdict.
    uint64_t max_decoded_bytes = 8u << 20;
    uint32_t max_decode_ratio = 100;
    // What a capped decode does to the flow: alert (report; the default) or drop. The runtime
    // makes it drop on inline ports unless configured, so a bomb cannot buy an uninspected tail.
    Verdict cap_verdict = Verdict::Alert;
    uint32_t prompt_excerpt = 0;  // bytes of llm.prompt in EVE (max 128); 0: never
    // When head buffers, body buffers or decoders run out, the message that has held one
    // longest (at least reclaim_after_ms) gives it up: its direction stops being parsed,
    // counted and recorded (anomaly http_buffer_reclaimed), and its flow gets reclaim_verdict
    // (the runtime makes it drop on inline ports unless configured).
    uint32_t reclaim_after_ms = 1000;
    Verdict reclaim_verdict = Verdict::Alert;
    // What a request-smuggling shape does to the flow (other anomalies are only reported).
    Verdict smuggling_verdict = Verdict::Alert;
    bool eve_http = true;
    // Prompt signatures (SimHash, frame) for the correlator's template links: for requests
    // that raised a rule hit (the shipped policy links only those), for all, or none.
    enum class PromptSignatures : uint8_t { Off, Flagged, All };
    PromptSignatures prompt_signatures = PromptSignatures::Flagged;
};

struct HttpCounters {
    uint64_t sessions = 0;
    uint64_t sessions_exhausted = 0;
    uint64_t requests = 0;
    uint64_t responses = 0;
    uint64_t transactions = 0;  // http records written (or that would be, with EVE off)
    uint64_t unanswered = 0;    // requests that never got a response
    uint64_t http2 = 0;         // HTTP/2 connections seen (not parsed)
    uint64_t tunnels = 0;       // Upgrade / CONNECT
    uint64_t parse_stopped = 0;
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

class HttpInspector final : public StreamConsumer, public tls::HelloObserver, private MessageSink {
  public:
    static constexpr size_t kPipelineDepth = 4;

    // `flows`: the worker's flow table, to remember each TLS flow's JA4 by flow index (the
    // transactions of that flow then carry it). May be null (no JA4 in records).
    HttpInspector(EveEmitter& eve, const HttpOptions& opts, RuleInspector* rules,
                  const account::IdentityOptions& identity = {}, const FlowTable* flows = nullptr);
    ~HttpInspector() override;

    void on_data(Flow& f, Dir d, std::span<const uint8_t> bytes) override;
    void on_gap(Flow& f, Dir d, uint32_t len) override;
    void on_end(Flow& f, Dir d) override;
    void on_flow_end(Flow& f) override;
    // tls::HelloObserver: the flow's JA4, for its transactions' records.
    void on_client_hello(Flow& f, const tls::ClientHello& ch, const tls::Fingerprints& fp) override;
    // The JA4 of this flow's ClientHello, or empty.
    std::string_view ja4_of(const Flow& f) const;

    const HttpCounters& counters() const { return ctr_; }
    // Where each completed transaction with an account is reported (the correlator).
    void set_observation_sink(account::ObservationSink* s) { observations_ = s; }
    // Decisions to enforce on requests (see verdict/enforcement.h); `share`: the number of
    // workers a rate limit is split across. Null: report only.
    void set_enforcement(const EnforcementSlot* slot, uint32_t share) {
        enforcement_ = slot;
        limiter_ = RateLimiter(4096, share);
    }
    size_t sessions_in_use() const;
    size_t head_buffers_in_use() const { return heads_.in_use(); }
    size_t body_buffers_in_use() const { return bodies_.in_use(); }
    size_t decoders_in_use() const { return decoders_.in_use(); }
    // Claims the session, buffers and decoders `f` holds (see common/pool_audit.h).
    void audit(const Flow& f, PoolAudit& a) const;
    void audit_pools(PoolAudit& a) const;

    struct Txn;
    struct Session;

  private:
    // MessageSink
    std::span<char> head_buffer(Flow& f, Dir d) override;
    Framing on_head(Flow& f, Dir d, std::string_view head) override;
    void on_body(Flow& f, Dir d, std::span<const uint8_t> bytes) override;
    void on_message_end(Flow& f, Dir d, bool truncated) override;
    void on_anomaly(Flow& f, Dir d, Anomaly a) override;

    Session* session(Flow& f);
    Session* start_session(Flow& f, std::span<const uint8_t> first);
    Framing request_head(Flow& f, Session& s, std::string_view head);
    Framing response_head(Flow& f, Session& s, std::string_view head);
    void append_body(Flow& f, Session& s, Dir d, std::span<const uint8_t> bytes);
    void store_body(Session& s, Dir d, std::span<const char> bytes);
    void sse_scan(Session& s, std::span<const char> bytes);
    void request_end(Flow& f, Session& s);
    void response_end(Flow& f, Session& s);
    void log_txn(Flow& f, Session& s, Txn& t);
    void enforce(Flow& f, Txn& t);
    void release_dir(Session& s, Dir d);
    enum class Held : uint8_t { Head, Body, Decoder };
    // On exhaustion: takes `what` back from the message holding one longest (not `asking`'s).
    bool reclaim_oldest(const Flow& asking, Held what);
    void end_session(Flow& f);

    EveEmitter& eve_;
    HttpOptions opts_;
    RuleInspector* rules_;
    MessageFramer framer_;
    std::vector<Session> sessions_;
    IndexPool free_sessions_;
    BufferPool heads_;
    BufferPool bodies_;
    BodyDecoders decoders_;
    std::unique_ptr<LlmExtractor> llm_;
    account::Identifier identity_;
    std::vector<account::ClientClaim> claims_;
    struct Ja4Slot {
        uint64_t flow_id = 0;  // the slot is valid only for this flow (indices are reused)
        std::array<char, 40> ja4{};
        uint8_t len = 0;
    };
    const FlowTable* flows_;
    account::ObservationSink* observations_ = nullptr;
    const EnforcementSlot* enforcement_ = nullptr;
    RateLimiter limiter_{1, 1};
    std::vector<Ja4Slot> ja4_;           // by flow-table index
    std::unique_ptr<MessageHead> head_;  // scratch for parsing (large)
    std::vector<char> usage_scratch_;
    HttpCounters ctr_;
};

}  // namespace sluice::http
