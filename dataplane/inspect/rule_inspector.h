// Runs a worker's rules at an inspection point: builds the match context from the flow,
// asks the Matcher, then acts like Suricata: a matching `pass` rule ends inspection of the
// flow and silences the rest; otherwise every match raises an EVE `alert` and merges its
// action into the flow verdict (drop and reject stop the flow, see verdict/verdict.h).
// Also the TLS stage's hello observer (tls.sni, ja3.hash, ja4.hash) and, when some rule has
// no sticky buffer, a consumer of raw stream chunks.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "account/account_state.h"
#include "account/identity.h"
#include "decode/decoded_packet.h"
#include "eve/eve_emitter.h"
#include "reassembly/stream_consumer.h"
#include "rules/class_slots.h"
#include "rules/compiled_rules.h"
#include "rules/events.h"
#include "tls/tls_inspector.h"

namespace sluice {

// Adds protocol context to alert records: top-level sections (http, tls) and fields inside
// the record's `sluice` section (llm).
class AlertContext {
  public:
    virtual ~AlertContext() = default;
    virtual void write(JsonBuilder& j) const = 0;
    virtual void write_sluice(JsonBuilder& j) const { (void)j; }
    // The request's account, when known (threshold tracking by_account).
    virtual const account::AccountRef* account() const { return nullptr; }
};

// Bits of Flow::inspect_flags.
namespace inspect_flag {
constexpr uint8_t kNotHttp = 1;    // the HTTP stage gave up on this flow
constexpr uint8_t kPassed = 2;     // a pass rule matched: no more rule inspection
constexpr uint8_t kHttp2 = 4;      // HTTP/2: the HTTP/2 stage has it (or saw it without a slot)
constexpr uint8_t kTunnel = 8;     // left HTTP/1 (Upgrade, CONNECT)
constexpr uint8_t kNotHttp2 = 16;  // the HTTP/2 stage gave up on this flow (not h2)
constexpr uint8_t kQuicDone = 32;  // UDP: the QUIC stage is done (not QUIC, or its hello read)
}  // namespace inspect_flag

struct RuleCounters {
    uint64_t inspections = 0;
    uint64_t alerts = 0;
    uint64_t drops = 0;  // rules with action drop that matched
    uint64_t rejects = 0;
    uint64_t passes = 0;
    uint64_t eve_dropped = 0;
    uint64_t threshold_hits = 0;         // matches of thresholded rules sent to the correlator
    uint64_t threshold_unevaluated = 0;  // ... alerted directly (no correlator running)
    uint64_t flowbits_set = 0;           // bits set on flows by matching rules
    uint64_t flowbits_full = 0;          // sets refused: the flow held FlowBits::kSlots bits
    uint64_t flowbits_unmet = 0;         // matches dropped because their flowbits checks failed
    uint64_t flowints_full = 0;          // flowint stores refused: the flow held its maximum
    uint64_t flowints_unmet = 0;         // matches dropped because a flowint test failed
    std::array<uint64_t, rules::kClassSlots> alerts_by_class{};  // by rules::class_slot
};

// Sees every inspection with its buffers and verdicts (tests compare the matcher with the
// reference evaluator through this; a rule-debugging trace could use it too).
class InspectionTap {
  public:
    virtual ~InspectionTap() = default;
    virtual void on_inspect(rules::InspectPoint point, const rules::BufferSet& bufs,
                            const rules::MatchContext& ctx, std::span<const uint32_t> hits) = 0;
};

// A rule set ready to be swapped into a worker: built off the worker (the matcher allocates
// Hyperscan scratch and streams), adopted between bursts with pointer swaps only.
struct RuleSwap {
    std::shared_ptr<const rules::CompiledRules> rules;
    std::unique_ptr<rules::Matcher> matcher;
    std::vector<uint8_t> rule_class;
    std::vector<uint32_t> hits;  // reserved for the set's size
    uint8_t generation = 0;
    // Builds everything for `rules` (null: no rules).
    static std::unique_ptr<RuleSwap> build(std::shared_ptr<const rules::CompiledRules> rules,
                                           uint32_t body_streams, uint8_t generation);
};

class RuleInspector final : public StreamConsumer, public tls::HelloObserver {
  public:
    // body_streams: HTTP bodies per direction that may be stream-scanned at once.
    RuleInspector(EveEmitter& eve, std::shared_ptr<const rules::CompiledRules> rules,
                  uint32_t body_streams = 0);

    bool inspects(rules::InspectPoint p) const { return rules_ && rules_->inspects(p); }
    bool uses(rules::Buffer b) const { return rules_ && rules_->uses_buffer(b); }

    // `streams`: body streams (open_body_stream) that end with this inspection.
    void inspect(Flow& f, Dir dir, rules::InspectPoint point, const rules::BufferSet& bufs,
                 const AlertContext* ctx, std::span<const uint32_t> streams = {});

    // Body stream ids carry the rule set's generation in their top byte: a stream opened
    // under a set that has since been swapped out is ignored (its flow's body is inspected
    // without it under the new set).
    uint32_t open_body_stream(const Flow& f, rules::Buffer b) {
        if (!matcher_ || (f.inspect_flags & inspect_flag::kPassed) || !rules_->uses_buffer(b))
            return rules::Matcher::kNoStream;
        const uint32_t id = matcher_->open_body_stream(b);
        return id == rules::Matcher::kNoStream ? id : id | uint32_t(generation_) << 24;
    }
    void scan_body_stream(uint32_t id, std::span<const char> bytes) {
        if (current(id)) matcher_->scan_body_stream(id & 0xffffff, bytes);
    }
    void discard_body_stream(uint32_t id) {
        if (matcher_ && current(id)) matcher_->discard_body_stream(id & 0xffffff);
    }
    // Swaps in another rule set between bursts; `s` gets the old one back (to be freed off
    // the worker). Open body streams of the old set are dropped with it.
    void adopt(std::unique_ptr<RuleSwap>& s);
    uint8_t generation() const { return generation_; }

    // tls::HelloObserver
    void on_client_hello(Flow& f, const tls::ClientHello& ch, const tls::Fingerprints& fp) override;
    bool wants_server_flight() const override { return inspects(rules::InspectPoint::TlsServer); }
    // An anomaly a stage noticed on a flow, by its Suricata name (inspect/suricata_events.h;
    // empty: none), for decode-event, stream-event and app-layer-event rules.
    void on_event(Flow& f, Dir dir, rules::EventKind kind, std::string_view name);
    // A malformed packet (no flow): decode-event rules, on a flow made from what was decoded.
    // Returns the verdict their actions ask for (Pass when none matched).
    Verdict on_decode_event(const DecodedPacket& pkt, std::string_view name);
    void on_server_flight(Flow& f, const tls::ServerFlight& s) override;
    void on_tls_event(Flow& f, Dir dir, tls::TlsEvent e) override;
    // Packet rules: one packet's header facts, its payload, its IP header (IPv4, or IPv6 with
    // its extension headers) and its TCP or UDP header (empty when absent).
    void on_packet(Flow& f, Dir dir, const rules::PacketFacts& facts,
                   std::span<const uint8_t> payload, std::span<const uint8_t> ip_hdr,
                   std::span<const uint8_t> l4_hdr);
    // StreamConsumer: raw chunks for rules without a sticky buffer.
    void on_data(Flow& f, Dir dir, std::span<const uint8_t> bytes) override;
    void on_gap(Flow&, Dir, uint32_t) override {}
    void on_end(Flow&, Dir) override {}

    const RuleCounters& counters() const { return ctr_; }
    // Rule classes (account::RuleClass bits) of the alerts the last inspect() raised.
    uint16_t last_hit_classes() const { return last_classes_; }
    void set_tap(InspectionTap* tap) { tap_ = tap; }
    // Matches of rules with threshold/detection_filter go here (the correlator counts them
    // across workers and alerts); without a sink they alert on every match.
    void set_threshold_sink(account::ObservationSink* s) { thresholds_ = s; }
    const rules::CompiledRules* rules() const { return rules_.get(); }
    const rules::MatcherCounters& matcher_counters() const;

  private:
    bool current(uint32_t id) const {
        return id != rules::Matcher::kNoStream && (id >> 24) == generation_;
    }
    void alert(Flow& f, Dir dir, uint32_t rule, const AlertContext* ctx);
    void threshold_hit(const Flow& f, Dir dir, uint32_t rule, const AlertContext* ctx);

    EveEmitter& eve_;
    std::shared_ptr<const rules::CompiledRules> rules_;
    std::unique_ptr<rules::Matcher> matcher_;
    std::vector<uint32_t> hits_;
    RuleCounters ctr_;
    // Applies the matched rules' flowbits to the flow: setters first, then the rules that
    // check bits (a failed check removes the rule from hits_).
    void apply_flowbits(Flow& f);
    void apply_flowints(Flow& f);
    rules::MatcherCounters no_matcher_;
    InspectionTap* tap_ = nullptr;
    account::ObservationSink* thresholds_ = nullptr;
    std::vector<uint8_t> rule_class_;  // per rule: account::RuleClass of its classtype
    uint16_t last_classes_ = 0;
    uint8_t generation_ = 0;
    uint32_t body_streams_ = 0;
};

}  // namespace sluice
