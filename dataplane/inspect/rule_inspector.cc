#include "inspect/rule_inspector.h"

#include "inspect/suricata_events.h"

#include "account/account_state.h"

namespace sluice {

using rules::Buffer;
using rules::BufferSet;
using rules::InspectPoint;

std::unique_ptr<RuleSwap> RuleSwap::build(std::shared_ptr<const rules::CompiledRules> rules,
                                          uint32_t body_streams, uint8_t generation) {
    auto s = std::make_unique<RuleSwap>();
    s->generation = generation;
    if (rules) {
        s->matcher = std::make_unique<rules::Matcher>(rules, body_streams);
        for (const rules::Rule& r : rules->set().rules)
            s->rule_class.push_back(static_cast<uint8_t>(account::rule_class_of(r.classtype)));
        s->hits.reserve(rules->set().rules.size());
    }
    s->rules = std::move(rules);
    return s;
}

RuleInspector::RuleInspector(EveEmitter& eve, std::shared_ptr<const rules::CompiledRules> rules,
                             uint32_t body_streams)
    : eve_(eve), body_streams_(body_streams) {
    auto s = RuleSwap::build(std::move(rules), body_streams, 0);
    adopt(s);
}

void RuleInspector::adopt(std::unique_ptr<RuleSwap>& s) {
    std::swap(rules_, s->rules);
    std::swap(matcher_, s->matcher);
    std::swap(rule_class_, s->rule_class);
    std::swap(hits_, s->hits);
    std::swap(generation_, s->generation);
}

const rules::MatcherCounters& RuleInspector::matcher_counters() const {
    return matcher_ ? matcher_->counters() : no_matcher_;
}

void RuleInspector::inspect(Flow& f, Dir dir, InspectPoint point, const BufferSet& bufs,
                            const AlertContext* ctx, std::span<const uint32_t> streams) {
    last_classes_ = 0;
    if (!matcher_) return;
    // Streams of this generation only (one opened under a swapped-out set is gone).
    std::array<uint32_t, 4> live{};
    size_t n_live = 0;
    for (uint32_t id : streams)
        if (current(id) && n_live < live.size()) live[n_live++] = id & 0xffffff;
    streams = {live.data(), n_live};
    if ((f.inspect_flags & inspect_flag::kPassed) || !rules_->inspects(point)) {
        for (uint32_t id : streams) matcher_->discard_body_stream(id);
        return;
    }
    ++ctr_.inspections;
    rules::MatchContext m;
    const bool to_server = dir == Dir::ToServer;
    const Endpoint& src = to_server ? f.client() : f.server();
    const Endpoint& dst = to_server ? f.server() : f.client();
    m.src = src.addr;
    m.dst = dst.addr;
    m.sport = src.port;
    m.dport = dst.port;
    m.to_server = to_server;
    m.established = f.state != FlowState::New;
    matcher_->match(point, bufs, m, hits_, streams);
    if (tap_ != nullptr) tap_->on_inspect(point, bufs, m, hits_);
    if (hits_.empty()) return;
    const auto& set = rules_->set();
    for (uint32_t r : hits_) {
        if (set.rules[r].action == rules::Action::Pass) {
            // Suricata's pass: the flow is inspected no further and this match stays silent.
            ++ctr_.passes;
            f.inspect_flags |= inspect_flag::kPassed;
            return;
        }
    }
    apply_flowbits(f);
    apply_flowints(f);
    for (uint32_t r : hits_) {
        if (set.rules[r].noalert) continue;  // it set its bits; that was its job
        if (set.rules[r].threshold) {
            if (thresholds_ != nullptr) {
                threshold_hit(f, dir, r, ctx);
                continue;
            }
            ++ctr_.threshold_unevaluated;
        }
        last_classes_ |= static_cast<uint16_t>(1u << rule_class_[r]);
        alert(f, dir, r, ctx);
    }
}

void RuleInspector::apply_flowbits(Flow& f) {
    const auto& set = rules_->set();
    if (set.flowbit_names.empty()) return;
    f.bits.adopt(generation_);
    auto has_check = [](const rules::Rule& r) {
        for (const rules::FlowbitsOp& op : r.flowbits)
            if (op.check()) return true;
        return false;
    };
    auto apply_sets = [&](const rules::Rule& r) {
        for (const rules::FlowbitsOp& op : r.flowbits) {
            using K = rules::FlowbitsOp::Kind;
            for (uint16_t id : op.ids) {
                if (op.kind == K::Set || (op.kind == K::Toggle && !f.bits.isset(id))) {
                    if (f.bits.set(id))
                        ++ctr_.flowbits_set;
                    else
                        ++ctr_.flowbits_full;
                } else if (op.kind == K::Unset || op.kind == K::Toggle) {
                    f.bits.unset(id);
                }
            }
        }
    };
    // Setters first, as Suricata orders rules that set a bit before those that test it.
    for (uint32_t r : hits_)
        if (!has_check(set.rules[r])) apply_sets(set.rules[r]);
    size_t kept = 0;
    for (uint32_t r : hits_) {
        const rules::Rule& rule = set.rules[r];
        if (has_check(rule)) {
            bool ok = true;
            for (const rules::FlowbitsOp& op : rule.flowbits) {
                if (!op.check()) continue;
                bool any = false;  // a|b: any of them
                for (uint16_t id : op.ids) any = any || f.bits.isset(id);
                ok = ok && (op.kind == rules::FlowbitsOp::Kind::IsSet ? any : !any);
            }
            if (!ok) {
                ++ctr_.flowbits_unmet;
                continue;
            }
            apply_sets(rule);
        }
        hits_[kept++] = r;
    }
    hits_.resize(kept);
}

void RuleInspector::apply_flowints(Flow& f) {
    const auto& set = rules_->set();
    if (set.flowint_names.empty()) return;
    f.ints.adopt(generation_);
    // Rules that only modify go first, as Suricata orders the rules that set a flowint before
    // those that read it; within each group, hit order. A failing rule leaves the hit list.
    auto reads = [](const rules::Rule& r) {
        for (const rules::FlowintOp& op : r.flowints)
            if (op.kind != rules::FlowintOp::Kind::Set && op.kind != rules::FlowintOp::Kind::Add &&
                op.kind != rules::FlowintOp::Kind::Sub)
                return true;
        return false;
    };
    // Runs one rule's ops in rule order, as Suricata evaluates them: modifiers apply, tests
    // must hold. False when the rule does not match after all.
    auto run = [&](const rules::Rule& rule) {
        for (const rules::FlowintOp& op : rule.flowints) {
            using K = rules::FlowintOp::Kind;
            uint32_t* v = f.ints.find(op.id);
            bool ok = true;
            switch (op.kind) {
                case K::IsSet:
                    ok = v != nullptr;
                    break;
                case K::IsNotSet:
                    ok = v == nullptr;
                    break;
                case K::Set:
                case K::Add:
                case K::Sub: {
                    if (v == nullptr && op.kind == K::Sub) {
                        ok = false;  // nothing to subtract from (Suricata)
                        break;
                    }
                    const uint32_t base = v != nullptr && op.kind != K::Set ? *v : 0;
                    const uint32_t next = op.kind == K::Sub ? base - op.value : base + op.value;
                    if (!f.ints.set(op.id, next)) ++ctr_.flowints_full;
                    break;
                }
                default: {
                    if (v == nullptr) {
                        ok = false;  // a comparison needs the integer set
                        break;
                    }
                    static constexpr rules::UintCmp::Op kCmp[] = {
                        rules::UintCmp::Op::Eq, rules::UintCmp::Op::Ne, rules::UintCmp::Op::Lt,
                        rules::UintCmp::Op::Le, rules::UintCmp::Op::Gt, rules::UintCmp::Op::Ge};
                    const rules::UintCmp c{
                        kCmp[static_cast<size_t>(op.kind) - static_cast<size_t>(K::Eq)], op.value,
                        0};
                    ok = c.matches(*v);
                    break;
                }
            }
            if (!ok) return false;
        }
        return true;
    };
    constexpr uint32_t kFailed = 0xffffffffu;
    for (const bool reading : {false, true})
        for (uint32_t& r : hits_) {
            if (r == kFailed || set.rules[r].flowints.empty() || reads(set.rules[r]) != reading)
                continue;
            if (!run(set.rules[r])) {
                ++ctr_.flowints_unmet;
                r = kFailed;
            }
        }
    size_t kept = 0;
    for (uint32_t r : hits_)
        if (r != kFailed) hits_[kept++] = r;
    hits_.resize(kept);
}

void RuleInspector::threshold_hit(const Flow& f, Dir dir, uint32_t r, const AlertContext* ctx) {
    // Counted across every worker's flows by the correlator, which alerts (and enforces the
    // rule's action on the tracked subject) when the threshold says so.
    ++ctr_.threshold_hits;
    account::Observation o;
    o.kind = account::ObservationKind::RuleHit;
    o.ts_ns = eve_.now().ns;
    o.seq = eve_.seq();
    o.rule = r;
    o.rules_generation = generation_;
    const bool to_server = dir == Dir::ToServer;
    const Endpoint& src = to_server ? f.client() : f.server();
    const Endpoint& dst = to_server ? f.server() : f.client();
    o.src = src.addr;
    o.dst = dst.addr;
    o.src_port = src.port;
    o.dst_port = dst.port;
    o.proto = f.key.proto;
    o.to_server = to_server;
    const account::AccountRef* a = ctx != nullptr ? ctx->account() : nullptr;
    o.has_account = a != nullptr && a->present();
    if (o.has_account) {
        o.account = a->id;
        o.hint = a->hint;
        o.hint_len = a->hint_len;
    }
    thresholds_->observe(o);
}

void RuleInspector::alert(Flow& f, Dir dir, uint32_t ri, const AlertContext* ctx) {
    const auto& set = rules_->set();
    const rules::Rule& r = set.rules[ri];
    const Verdict v = rules::action_verdict(r.action);
    f.verdict.merge(v);
    f.alerted = true;
    ++ctr_.alerts;
    ++ctr_.alerts_by_class[set.class_slot[ri]];
    if (r.action == rules::Action::Drop) ++ctr_.drops;
    if (r.action == rules::Action::Reject) ++ctr_.rejects;
    if (!eve_.enabled()) return;
    const bool blocked = v >= Verdict::Drop && !f.verdict.allowlisted;
    JsonBuilder& j = eve_.begin(f, "alert");
    j.field("direction",
            dir == Dir::ToServer ? std::string_view("to_server") : std::string_view("to_client"));
    j.object("alert")
        .field("action", blocked ? std::string_view("blocked") : std::string_view("allowed"))
        .field("gid", r.gid)
        .field("signature_id", r.sid)
        .field("rev", r.rev)
        .field("signature", std::string_view(r.msg))
        .field("category", std::string_view(set.category[ri]))
        .field("severity", set.severity[ri]);
    if (!r.metadata.empty()) {
        // Suricata's shape: {"key": ["value", ...]}; repeated keys are written as they come.
        j.object("metadata");
        for (const auto& [k, val] : r.metadata) j.array(k).value(std::string_view(val)).end_array();
        j.end_object();
    }
    j.end_object();
    if (ctx != nullptr) ctx->write(j);
    j.object("sluice")
        .field("rule_action", rules::action_name(r.action))
        .field("verdict", verdict_name(f.verdict.verdict))
        .field("rule_file", std::string_view(r.where.file))
        .field("rule_line", r.where.line);
    if (ctx != nullptr) ctx->write_sluice(j);
    j.end_object();
    if (!eve_.finish()) ++ctr_.eve_dropped;
}

namespace {
class TlsAlertContext final : public AlertContext {
  public:
    TlsAlertContext(const tls::ClientHello& ch, const tls::Fingerprints& fp) : ch_(ch), fp_(fp) {}
    void write(JsonBuilder& j) const override {
        j.object("tls");
        if (ch_.has_sni) j.field("sni", ch_.sni);
        j.object("ja3").field("hash", fp_.ja3_hash).end_object();
        j.field("ja4", fp_.ja4).end_object();
    }

  private:
    const tls::ClientHello& ch_;
    const tls::Fingerprints& fp_;
};
}  // namespace

void RuleInspector::on_client_hello(Flow& f, const tls::ClientHello& ch,
                                    const tls::Fingerprints& fp) {
    if (!inspects(InspectPoint::TlsHello)) return;
    BufferSet b;
    if (ch.has_sni) b.set(Buffer::TlsSni, ch.sni);
    b.set(Buffer::Ja3Hash, fp.ja3_hash);
    b.set(Buffer::Ja4Hash, fp.ja4);
    b.set(Buffer::Ja3String, fp.ja3);
    rules::TlsFacts facts;
    facts.states = rules::ssl_state_bit::kClientHello;
    b.tls = &facts;
    TlsAlertContext ctx(ch, fp);
    inspect(f, Dir::ToServer, InspectPoint::TlsHello, b, &ctx);
}

namespace {
class TlsServerAlertContext final : public AlertContext {
  public:
    explicit TlsServerAlertContext(const tls::ServerFlight& s) : s_(s) {}
    void write(JsonBuilder& j) const override {
        j.object("tls").field("version", tls::version_name(s_.version));
        j.object("ja3s").field("hash", s_.fp->ja3s_hash).end_object();
        if (s_.cert != nullptr)
            j.field("subject", s_.cert->subject)
                .field("issuerdn", s_.cert->issuer)
                .field("serial", s_.cert->serial)
                .field("fingerprint", s_.cert->fingerprint);
        j.end_object();
    }

  private:
    const tls::ServerFlight& s_;
};
}  // namespace

void RuleInspector::on_server_flight(Flow& f, const tls::ServerFlight& s) {
    if (!inspects(InspectPoint::TlsServer)) return;
    BufferSet b;
    b.set(Buffer::Ja3sHash, s.fp->ja3s_hash);
    b.set(Buffer::Ja3sString, s.fp->ja3s);
    if (s.cert != nullptr) {
        b.set(Buffer::TlsCertSubject, s.cert->subject);
        b.set(Buffer::TlsCertIssuer, s.cert->issuer);
        b.set(Buffer::TlsCertSerial, s.cert->serial);
        b.set(Buffer::TlsCertFingerprint, s.cert->fingerprint);
    }
    rules::TlsFacts facts;
    facts.version = s.version;
    facts.states = rules::ssl_state_bit::kServerHello;
    if (s.key_exchange) facts.states |= rules::ssl_state_bit::kServerKeyx;
    b.tls = &facts;
    TlsServerAlertContext ctx(s);
    inspect(f, Dir::ToClient, InspectPoint::TlsServer, b, &ctx);
}

namespace {
class EventAlertContext final : public AlertContext {
  public:
    EventAlertContext(rules::EventKind k, std::string_view name) : kind_(k), name_(name) {}
    void write(JsonBuilder& j) const override {
        j.object("anomaly")
            .field("type", rules::event_kind_prefix(kind_))
            .field("event", name_)
            .end_object();
    }

  private:
    rules::EventKind kind_;
    std::string_view name_;
};
}  // namespace

void RuleInspector::on_event(Flow& f, Dir dir, rules::EventKind kind, std::string_view name) {
    if (name.empty() || !inspects(InspectPoint::Event)) return;
    char buf[128];
    BufferSet b;
    b.set(Buffer::Event, rules::event_buffer_value(kind, name, buf));
    EventAlertContext ctx(kind, name);
    inspect(f, dir, InspectPoint::Event, b, &ctx);
}

void RuleInspector::on_tls_event(Flow& f, Dir dir, tls::TlsEvent e) {
    on_event(f, dir, rules::EventKind::AppLayer, suricata_tls_event(e));
}

Verdict RuleInspector::on_decode_event(const DecodedPacket& pkt, std::string_view name) {
    if (name.empty() || !inspects(InspectPoint::Event)) return Verdict::Pass;
    // No flow exists for a malformed packet: one made of what was decoded (addresses and
    // ports when the headers got that far), used for this inspection only.
    Flow f;
    bool from_lo = true;
    f.key = FlowKey::from_packet(pkt, from_lo);
    f.client_is_lo = from_lo;
    on_event(f, Dir::ToServer, rules::EventKind::Decode, name);
    return f.verdict.verdict;
}

void RuleInspector::on_packet(Flow& f, Dir dir, const rules::PacketFacts& facts,
                              std::span<const uint8_t> payload, std::span<const uint8_t> ip_hdr,
                              std::span<const uint8_t> l4_hdr) {
    if (!inspects(InspectPoint::Packet)) return;
    auto view = [](std::span<const uint8_t> s) {
        return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
    };
    BufferSet b;
    b.packet = &facts;
    b.set(Buffer::PacketPayload, view(payload));
    if (!ip_hdr.empty()) b.set(facts.ipv4 ? Buffer::Ipv4Hdr : Buffer::Ipv6Hdr, view(ip_hdr));
    if (!l4_hdr.empty()) b.set(facts.tcp ? Buffer::TcpHdr : Buffer::UdpHdr, view(l4_hdr));
    inspect(f, dir, InspectPoint::Packet, b, nullptr);
}

void RuleInspector::on_data(Flow& f, Dir dir, std::span<const uint8_t> bytes) {
    if (!inspects(InspectPoint::Stream)) return;
    BufferSet b;
    b.set(Buffer::Stream,
          std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    inspect(f, dir, InspectPoint::Stream, b, nullptr);
}

}  // namespace sluice
