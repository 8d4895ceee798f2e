// The inspection engine of one worker: decode -> flow -> reassembly -> stream consumers ->
// verdict. Free of DPDK so it can be unit-tested, fuzzed and allocation-counted; the DPDK
// layer (runtime/) feeds it frames and acts on the returned disposition.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "answer/answer_sender.h"
#include "appid/stream_app_detector.h"
#include "decode/checksum.h"
#include "engine/counters.h"
#include "engine/engine_config.h"
#include "engine/injector.h"
#include "engine/pipeline_stats.h"
#include "engine/stream_dumper.h"
#include "eve/community_id.h"
#include "eve/eve_emitter.h"
#include "eve/event_sink.h"
#include "flow/flow_table.h"
#include "http/http_inspector.h"
#include "http2/http2_inspector.h"
#include "inspect/rule_inspector.h"
#include "normalize/tcp_normalizer.h"
#include "quic/quic_inspector.h"
#include "reassembly/tcp_reassembler.h"
#include "tls/tls_inspector.h"

namespace sluice {

struct PacketInput {
    std::span<const uint8_t> frame;
    LinkType link = LinkType::Ethernet;
    Timestamp ts;
    uint64_t seq = 0;        // global arrival order; orders EVE records
    ChecksumHint checksums;  // what the NIC verified (live ports with rx checksum offload)
    uint16_t port = 0;       // the ingress port (opaque here; timers send out of it later)
};

enum class Disposition : uint8_t { Forward, Drop };

// How much of each pooled resource is held right now (bounded-state checks and stress tests:
// with no flow left, every figure is back to zero).
struct PoolOccupancy {
    size_t flows = 0;
    size_t segment_nodes = 0;
    size_t handshake_buffers = 0;
    size_t decrypt_sessions = 0;
    size_t http_sessions = 0;
    size_t head_buffers = 0;
    size_t body_buffers = 0;
    size_t decoders = 0;
    size_t quic_sessions = 0;
    size_t answers = 0;
    bool operator==(const PoolOccupancy&) const = default;
};

class Pipeline {
  public:
    static constexpr size_t kMaxConsumers = 8;

    Pipeline(const EngineConfig& cfg, uint32_t worker_id, EventSink* events);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    Disposition process(const PacketInput& in, Injector& injector);
    // Ends flows idle past their timeout (also done inside process() as packet time moves).
    void expire(Timestamp now, uint64_t seq);
    // Between bursts, busy or idle: resends answers the client has not acknowledged in time
    // (through injector.inject_on). `now`: the clock packets are stamped with.
    void tick(Timestamp now, Injector& injector) { answers_.tick(now.ns, injector); }
    // End of run: flushes and reports every remaining flow.
    void finish(Timestamp now);
    // Application stages register here: they receive plaintext TCP payload or the decrypted
    // application data of TLS flows, in registration order after the dumper, HTTP and the
    // stream rules.
    bool add_consumer(StreamConsumer& c);

    // Secrets pushed at run time (see tls/secret_feed.h); poll between bursts.
    void attach_secret_feed(tls::SecretFeed& feed) { tls_.attach_secret_feed(feed); }
    void poll_secrets(Timestamp now) { tls_.poll_secrets(now.ns); }

    WorkerCounters counters() const;
    // Every counter at once, into `out` (the worker's snapshot buffer: no allocation).
    void snapshot(PipelineStats& out) const;
    PoolOccupancy pools() const;
    // The ownership invariant of every pool (common/pool_audit.h): empty when it holds, else
    // the violations. Debug builds run it once a second of packet time and at finish().
    std::string audit() const;
    const ReassemblyCounters& reassembly_counters() const { return reassembler_.counters(); }
    const tls::TlsCounters& tls_counters() const { return tls_.counters(); }
    // The HTTP framing's counters with the transaction stage's (one `http` section).
    http::HttpCounters http_counters() const;
    const http2::Http2Counters& http2_counters() const { return http2_->counters(); }
    const quic::QuicCounters& quic_counters() const { return quic_->counters(); }
    const RuleCounters& rule_counters() const { return rules_->counters(); }
    RuleInspector& rule_inspector() { return *rules_; }
    // Completed transactions with an account go here (the correlator's queue).
    void set_observation_sink(account::ObservationSink* s) {
        txn_->set_observation_sink(s);
        quic_->set_observation_sink(s);
    }
    // Swaps in another rule set (between bursts; `s` gets the old one back).
    void adopt_rules(std::unique_ptr<RuleSwap>& s) { rules_->adopt(s); }
    // Matches of thresholded rules go to the correlator through this sink.
    void set_threshold_sink(account::ObservationSink* s) { rules_->set_threshold_sink(s); }
    // Decisions to enforce on requests (live inline mode); `share`: workers splitting limits.
    void set_enforcement(const EnforcementSlot* slot, uint32_t share) {
        txn_->set_enforcement(slot, share);
    }
    const rules::MatcherCounters& matcher_counters() const { return rules_->matcher_counters(); }
    const FlowTable& flows() const { return flows_; }
    uint32_t worker_id() const { return worker_id_; }

  private:
    // The stage graph (docs/architecture.md). The reassembler hands in-order bytes to the
    // stream stage: protocol detection first, then TLS for TLS flows, or the application
    // stage directly for the others; TLS hands the application stage what it decrypts. The
    // application stage (the dumper, HTTP/2 and HTTP/1.x framing, stream rules) turns messages into
    // transactions for the transaction stage (identity, LLM fields, rules, enforcement,
    // records). Ends go to every stage: the application stage's before TLS lets its slots go,
    // a flow's end to TLS first (its record precedes the flow's last transactions).
    class AppStage final : public StreamConsumer {
      public:
        bool add(StreamConsumer& c);
        void on_data(Flow& f, Dir d, std::span<const uint8_t> b) override;
        void on_gap(Flow& f, Dir d, uint32_t len) override;
        void on_end(Flow& f, Dir d) override;
        void on_flow_end(Flow& f) override;

      private:
        std::array<StreamConsumer*, kMaxConsumers> list_{};
        size_t n_ = 0;
    };
    class StreamStage final : public StreamConsumer {
      public:
        StreamStage(StreamAppDetector& detector, tls::TlsInspector& tls, AppStage& app)
            : detector_(detector), tls_(tls), app_(app) {}
        void on_data(Flow& f, Dir d, std::span<const uint8_t> b) override;
        void on_gap(Flow& f, Dir d, uint32_t len) override;
        void on_end(Flow& f, Dir d) override;
        void on_flow_end(Flow& f) override;

      private:
        StreamAppDetector& detector_;
        tls::TlsInspector& tls_;
        AppStage& app_;
    };

    Flow* lookup(const DecodedPacket& pkt, const PacketInput& in, bool& from_lo);
    void track_tcp(Flow& f, Dir dir, const DecodedPacket& pkt);
    // Counts a normalization reason and records its first occurrence on the flow.
    void note(Flow& f, Dir dir, NormReason r, const DecodedPacket& pkt);
    void apply_filters(Flow& f);
    // Packet rules (ip, tcp-pkt, header keywords) on one packet inspection takes.
    void inspect_packet(Flow& f, Dir dir, const DecodedPacket& pkt, std::span<const uint8_t> frame);
    void inject_resets(Flow& f, Dir dir, LinkType link, Injector& injector);
    void end_flow(Flow& f, FlowEndReason reason, Timestamp now, uint64_t seq);
    // Debug builds: audit() and abort with its report when the invariant is broken.
    void audit_or_abort(const char* where) const;
    void emit_flow_record(const Flow& f, FlowEndReason reason, Timestamp now, uint64_t seq);

    const EngineConfig& cfg_;
    uint32_t worker_id_;
    EveEmitter eve_;
    FlowTable flows_;
    SegmentPool segments_;
    StreamAppDetector detector_;
    tls::TlsInspector tls_;
    AppStage app_;
    StreamStage stream_;
    TcpNormalizer normalizer_;
    TcpReassembler reassembler_;
    std::unique_ptr<StreamDumper> dumper_;
    std::unique_ptr<RuleInspector> rules_;
    std::unique_ptr<TransactionStage> txn_;
    std::unique_ptr<http::MessageBodies> bodies_;
    std::unique_ptr<http2::Http2Inspector> http2_;
    std::unique_ptr<quic::QuicInspector> quic_;
    std::unique_ptr<http::HttpInspector> http_;
    WorkerCounters ctr_;
    AnswerSender answers_;
    Timestamp last_expire_;
    Timestamp last_audit_;  // debug builds: when audit() last ran
};

}  // namespace sluice
