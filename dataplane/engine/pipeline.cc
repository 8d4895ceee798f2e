#include "engine/pipeline.h"

#include "inspect/suricata_events.h"

#include "flow/midstream_role.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "decode/decoder.h"
#include "engine/tcp_frame_builder.h"
#include "eve/json_builder.h"

namespace sluice {

namespace {

constexpr Duration kExpireInterval = Duration::millis(100);
[[maybe_unused]] constexpr Duration kAuditInterval = Duration::millis(1000);

FlowClass class_of(FlowState s) {
    switch (s) {
        case FlowState::New:
            return FlowClass::Embryonic;
        case FlowState::Established:
            return FlowClass::Established;
        case FlowState::Closing:
            return FlowClass::Closing;
        case FlowState::Closed:
            return FlowClass::Closed;
        case FlowState::Stateless:
            return FlowClass::Stateless;
    }
    return FlowClass::Stateless;
}

}  // namespace

// --- Stage graph ----------------------------------------------------------------------------

bool Pipeline::AppStage::add(StreamConsumer& c) {
    if (n_ == list_.size()) return false;
    list_[n_++] = &c;
    return true;
}
void Pipeline::AppStage::on_data(Flow& f, Dir d, std::span<const uint8_t> b) {
    for (size_t i = 0; i < n_; ++i) list_[i]->on_data(f, d, b);
}
void Pipeline::AppStage::on_gap(Flow& f, Dir d, uint32_t len) {
    for (size_t i = 0; i < n_; ++i) list_[i]->on_gap(f, d, len);
}
void Pipeline::AppStage::on_end(Flow& f, Dir d) {
    for (size_t i = 0; i < n_; ++i) list_[i]->on_end(f, d);
}
void Pipeline::AppStage::on_flow_end(Flow& f) {
    for (size_t i = 0; i < n_; ++i) list_[i]->on_flow_end(f);
}

void Pipeline::StreamStage::on_data(Flow& f, Dir d, std::span<const uint8_t> b) {
    detector_.on_data(f, d, b);  // may say "TLS" for this very chunk
    if (f.app_proto == AppProto::Tls)
        tls_.on_data(f, d, b);  // decrypted application data goes on to app_
    else
        app_.on_data(f, d, b);
}
void Pipeline::StreamStage::on_gap(Flow& f, Dir d, uint32_t len) {
    detector_.on_gap(f, d, len);
    if (f.app_proto == AppProto::Tls)
        tls_.on_gap(f, d, len);
    else
        app_.on_gap(f, d, len);
}
void Pipeline::StreamStage::on_end(Flow& f, Dir d) {
    detector_.on_end(f, d);
    app_.on_end(f, d);
    tls_.on_end(f, d);
}
void Pipeline::StreamStage::on_flow_end(Flow& f) {
    detector_.on_flow_end(f);
    tls_.on_flow_end(f);
    app_.on_flow_end(f);
}

// --- Pipeline -------------------------------------------------------------------------------

Pipeline::Pipeline(const EngineConfig& cfg, uint32_t worker_id, EventSink* events)
    : cfg_(cfg),
      worker_id_(worker_id),
      eve_(events, worker_id),
      flows_(cfg.flow_capacity, cfg.timeouts),
      segments_(cfg.reassembly_nodes),
      tls_(eve_, cfg.tls, cfg.tls_secrets.get()),
      stream_(detector_, tls_, app_),
      normalizer_(cfg.normalize),
      reassembler_(segments_, cfg.reassembly_per_direction, stream_, cfg.normalize.retain_bytes),
      answers_(cfg.answers, flows_, ctr_) {
    tls_.set_plaintext_sink(app_);
    answers_.set_sealer(&tls_);  // answers inside decrypted TLS
    if (!cfg.dump_streams_dir.empty()) {
        dumper_ = std::make_unique<StreamDumper>(cfg.dump_streams_dir);
        app_.add(*dumper_);
    }
    rules_ = std::make_unique<RuleInspector>(eve_, cfg.rules, cfg.http.body_buffers);
    // Always registered, whatever the set in force reads: a set swapped in later may read the
    // hellos or the stream, and the inspector checks at each call (a cheap return).
    tls_.add_hello_observer(*rules_);
    txn_ = std::make_unique<TransactionStage>(eve_, cfg.http, rules_.get(), cfg.accounts, &flows_);
    tls_.add_hello_observer(*txn_);
    // Request ids differ between runs as the flow hash key does (fixed offline: reproducible).
    txn_->set_answers(&answers_, hash_bytes(cfg.flow_hash_key.bytes, 0x72657169), worker_id);
    bodies_ = std::make_unique<http::MessageBodies>(cfg.http, rules_.get(), *txn_);
    http2_ = std::make_unique<http2::Http2Inspector>(eve_, cfg.http2, cfg.http, *txn_, *bodies_);
    http_ = std::make_unique<http::HttpInspector>(eve_, cfg.http, rules_.get(), *txn_, *bodies_);
    answers_.set_h2(http2_.get());  // answers on HTTP/2 connections
    // HTTP/2 first: it claims a connection on its preface before HTTP/1 would read "PRI".
    if (cfg.http.enabled && cfg.http2.enabled) {
        app_.add(*http2_);
        http_->set_h2c_upgrade(http2_.get());  // Upgrade: h2c hands the connection over
    }
    if (cfg.http.enabled) app_.add(*http_);
    app_.add(*rules_);
    // QUIC hellos reach the same observers as TLS ones (tls.sni / ja4.hash rules).
    quic_ = std::make_unique<quic::QuicInspector>(eve_, cfg.quic);
    quic_->add_hello_observer(*rules_);
}

Pipeline::~Pipeline() = default;

bool Pipeline::add_consumer(StreamConsumer& c) {
    return app_.add(c);
}

http::HttpCounters Pipeline::http_counters() const {
    http::HttpCounters h = http_->counters();
    const TransactionCounters& t = txn_->counters();
    h.transactions += t.transactions;
    h.llm_requests += t.llm_requests;
    h.llm_truncated += t.llm_truncated;
    h.usage_reports += t.usage_reports;
    h.enforced_block += t.enforced_block;
    h.enforced_rate_limit += t.enforced_rate_limit;
    h.rate_limit_admitted += t.rate_limit_admitted;
    const http::BodyCounters& b = bodies_->counters();
    h.body_buffers_exhausted += b.body_buffers_exhausted;
    h.decoders_exhausted += b.decoders_exhausted;
    h.decompression_capped += b.decompression_capped;
    h.anomalies[static_cast<size_t>(http::Anomaly::DecompressionFailed)] += b.decompression_failed;
    return h;
}

WorkerCounters Pipeline::counters() const {
    return ctr_;
}

void Pipeline::snapshot(PipelineStats& out) const {
    out.engine = ctr_;
    out.reassembly = reassembler_.counters();
    out.tls = tls_.counters();
    out.http = http_counters();
    out.http2 = http2_->counters();
    out.quic = quic_->counters();
    out.rules = rules_->counters();
    out.matcher = rules_->matcher_counters();
}

PoolOccupancy Pipeline::pools() const {
    PoolOccupancy o;
    o.flows = flows_.size();
    o.segment_nodes = segments_.size() - segments_.available();
    o.handshake_buffers = tls_.handshake_buffers_in_use();
    o.decrypt_sessions = tls_.decrypt_sessions_in_use();
    o.http_sessions = http_->sessions_in_use();
    o.head_buffers = http_->head_buffers_in_use();
    o.body_buffers = bodies_->buffers_in_use();
    o.decoders = bodies_->decoders_in_use();
    o.quic_sessions = quic_->sessions_in_use();
    o.answers = answers_.in_progress();
    return o;
}

std::string Pipeline::audit() const {
    PoolAudit a;
    a.pool(PoolKind::SegmentNodes, segments_.size(), segments_.size() - segments_.available());
    tls_.audit_pools(a);
    http_->audit_pools(a);
    bodies_->audit_pools(a);
    http2_->audit_pools(a);
    quic_->audit_pools(a);
    flows_.for_each([&](const Flow& f) {
        for (const TcpStream& s : f.stream) {
            // Bounded walks: a cycle in a list is a violation too, not a hang.
            for (const uint32_t head : {s.ooo_head, s.keep_head}) {
                uint32_t n = 0;
                for (uint32_t i = head; i != kNilIndex && n <= segments_.size(); ++n) {
                    a.claim(PoolKind::SegmentNodes, i, f.flow_id);
                    if (i >= segments_.size()) break;
                    i = segments_[i].next;
                }
            }
        }
        tls_.audit(f, a);
        http_->audit(f, a);
        http2_->audit(f, a);
        quic_->audit(f, a);
    });
    return a.verify() ? std::string() : a.report();
}

void Pipeline::audit_or_abort(const char* where) const {
    const std::string report = audit();
    if (report.empty()) return;
    std::fprintf(stderr, "sluice: pool ownership violated (%s), worker %u:\n%s", where, worker_id_,
                 report.c_str());
    std::abort();
}

Flow* Pipeline::lookup(const DecodedPacket& pkt, const PacketInput& in, bool& from_lo) {
    const FlowKey key = FlowKey::from_packet(pkt, from_lo);
    const uint64_t hash = flow_hashes(key, cfg_.flow_hash_key).table;
    if (Flow* f = flows_.find(key, hash)) {
        // A fresh SYN on a finished connection is a new connection reusing the 4-tuple.
        const bool tcp = pkt.proto == ip_proto::kTcp;
        const bool new_syn = tcp && pkt.has_flag(tcp_flag::kSyn) && !pkt.has_flag(tcp_flag::kAck);
        // After an accepted RST the tuple's next data is a new connection as far as inspection
        // goes: it is picked up mid-stream and inspected, never forwarded uninspected. A SYN on
        // a flow picked up mid-stream (its handshake unseen) starts over too.
        const bool after_rst = tcp && f->rst_closed && !pkt.has_flag(tcp_flag::kRst) &&
                               (!pkt.payload.empty() || pkt.has_flag(tcp_flag::kFin));
        const bool reuse = new_syn && (f->state == FlowState::Closed ||
                                       (!f->handshake_seen && f->state != FlowState::New));
        if (!reuse && !after_rst) return f;
        end_flow(*f, FlowEndReason::TcpReuse, in.ts, in.seq);
        flows_.remove(*f);
    }

    Flow* f = flows_.insert(key, hash, in.ts, [&](Flow& victim) {
        ++ctr_[Ctr::FlowsEvicted];
        if (victim.state == FlowState::Established) ++ctr_[Ctr::FlowsEvictedEstablished];
        end_flow(victim, FlowEndReason::Evicted, in.ts, in.seq);
    });
    ++ctr_[Ctr::FlowsCreated];
    f->flow_id = mix64(hash ^ in.ts.ns) & ((uint64_t{1} << 51) - 1);
    if (pkt.proto == ip_proto::kTcp) {
        const bool syn = pkt.has_flag(tcp_flag::kSyn);
        const bool ack = pkt.has_flag(tcp_flag::kAck);
        if (syn && !ack) {
            f->client_is_lo = from_lo;
        } else if (syn && ack) {
            f->client_is_lo = !from_lo;
        } else {
            // Mid-stream pickup: the content says who is speaking (a request line, a
            // ClientHello, a status line ...); failing that, the higher port is the client
            // (ties: the sender).
            if (const auto role = payload_role(pkt.payload)) {
                f->client_is_lo = (*role == PayloadRole::Client) == from_lo;
                ++ctr_[Ctr::TcpMidstreamRoleByContent];
            } else {
                f->client_is_lo = key.lo.port != key.hi.port ? key.lo.port > key.hi.port : from_lo;
            }
            f->state = FlowState::Established;
            ++ctr_[Ctr::TcpMidstreamPickup];
        }
    } else {
        f->client_is_lo = from_lo;  // the first sender is the client
        f->state = FlowState::Stateless;
    }
    const Endpoint& c = f->client();
    const Endpoint& s = f->server();
    if (auto m = cfg_.filters.match(pkt.proto, c.addr, c.port, s.addr, s.port)) {
        f->filter_index = *m;
    }
    return f;
}

void Pipeline::track_tcp(Flow& f, Dir dir, const DecodedPacket& pkt) {
    const uint8_t flags = pkt.tcp_flags;
    if (flags & tcp_flag::kSyn) ++ctr_[Ctr::TcpSyn];
    if (flags & tcp_flag::kRst) {
        ++ctr_[Ctr::TcpRst];
        f.state = FlowState::Closed;
        f.rst_closed = true;
        reassembler_.flush(f);
        return;
    }
    switch (f.state) {
        case FlowState::New:
            // The handshake completes with the client's ACK after the server's SYN-ACK.
            if (dir == Dir::ToServer && !(flags & tcp_flag::kSyn) && (flags & tcp_flag::kAck) &&
                (f.tcp_flags[idx(Dir::ToClient)] & tcp_flag::kSyn)) {
                f.state = FlowState::Established;
                f.handshake_seen = true;
            }
            break;
        default:
            break;
    }
    reassembler_.on_segment(f, dir, pkt.seq, flags, pkt.payload);
    if (flags & tcp_flag::kFin) {
        const bool both = (f.tcp_flags[0] & tcp_flag::kFin) && (f.tcp_flags[1] & tcp_flag::kFin);
        f.state = both ? FlowState::Closed : FlowState::Closing;
    }
}

// Flow::anomalies_seen has one bit per reason.
static_assert(kNormReasons <= 16, "widen Flow::anomalies_seen");

void Pipeline::note(Flow& f, Dir dir, NormReason r, const DecodedPacket& pkt) {
    ++ctr_.normalized[static_cast<size_t>(r)];
    const uint16_t bit = static_cast<uint16_t>(1u << static_cast<unsigned>(r));
    if ((f.anomalies_seen & bit) != 0) return;
    f.anomalies_seen |= bit;
    rules_->on_event(f, dir, rules::EventKind::Stream, suricata_stream_event(r));
    if (!eve_.enabled()) return;
    JsonBuilder& j = eve_.begin(f, "anomaly");
    j.object("anomaly")
        .field("type", std::string_view("stream"))
        .field("event", norm_reason_name(r))
        .field("direction",
               dir == Dir::ToServer ? std::string_view("to_server") : std::string_view("to_client"))
        .field("action", norm_discards(r) ? (cfg_.normalize.drop ? std::string_view("drop")
                                                                 : std::string_view("ignored"))
                                          : std::string_view("forward"));
    if (r == NormReason::TtlDrop)
        j.field("ttl", pkt.ttl).field("handshake_ttl", f.peer[idx(dir)].ttl);
    j.field("seq", pkt.seq).end_object();
    eve_.finish();
}

void Pipeline::apply_filters(Flow& f) {
    if (f.filter_index == 0xffff) return;
    const StaticFilter& rule = cfg_.filters[f.filter_index];
    if (rule.after_bytes != 0 && f.bytes[0] + f.bytes[1] < rule.after_bytes) return;
    if (rule.allow)
        f.verdict.allow();
    else
        f.verdict.merge(rule.verdict);
    f.filter_index = 0xffff;
    ++ctr_[Ctr::VerdictsApplied];
}

void Pipeline::inject_resets(Flow& f, Dir dir, LinkType link, Injector& injector) {
    f.reset_injected = true;
    if (f.key.proto != ip_proto::kTcp) return;
    std::array<uint8_t, kMaxRstFrame> frame;
    for (Dir toward : {Dir::ToServer, Dir::ToClient}) {
        const size_t n = build_rst(f, toward, link, frame);
        if (n == 0) continue;
        injector.inject(toward == dir, std::span<const uint8_t>(frame.data(), n));
        ++ctr_[Ctr::RstInjected];
    }
}

Disposition Pipeline::process(const PacketInput& in, Injector& injector) {
    ++ctr_[Ctr::Packets];
    ctr_[Ctr::Bytes] += in.frame.size();
    eve_.set_packet(in.seq, in.ts);
    answers_.set_packet(in.port, in.link);
    if (in.ts - last_expire_ >= kExpireInterval) {
        expire(in.ts, in.seq);
        last_expire_ = in.ts;
    }

    const DecodedPacket pkt = decode_frame(in.frame, in.link, cfg_.decode);
    switch (pkt.status) {
        case DecodeStatus::NotIp:
            ++ctr_[Ctr::NotIp];
            ++ctr_[Ctr::Forwarded];
            return Disposition::Forward;
        case DecodeStatus::Malformed:
            ++ctr_[Ctr::Malformed];
            ++ctr_.malformed[static_cast<size_t>(pkt.error)];
            // decode-event rules see it either way; a drop rule drops it whatever the policy.
            if (rules_->on_decode_event(pkt, suricata_decode_event(pkt.error)) >= Verdict::Drop ||
                cfg_.malformed == MalformedPolicy::Drop) {
                ++ctr_[Ctr::DroppedMalformed];
                return Disposition::Drop;
            }
            ++ctr_[Ctr::Forwarded];
            return Disposition::Forward;
        case DecodeStatus::Fragment:
            // Fragments never pass uninspected: reassembly happens before the engine (DPDK
            // ip_frag) when enabled, so any fragment reaching here is dropped.
            ++ctr_[Ctr::Fragments];
            ++ctr_[Ctr::DroppedFragment];
            return Disposition::Drop;
        case DecodeStatus::Ok:
            break;
    }
    if (cfg_.normalize.verify_checksums) {
        // A host drops a packet whose checksum fails; it creates no flow and is not inspected.
        static constexpr NormReason kReason[] = {NormReason::None, NormReason::Ipv4Checksum,
                                                 NormReason::TcpChecksum, NormReason::UdpChecksum};
        const ChecksumError e = verify_checksums(in.frame, pkt, in.checksums);
        if (e != ChecksumError::None) {
            ++ctr_.normalized[static_cast<size_t>(kReason[static_cast<size_t>(e)])];
            if (cfg_.normalize.drop) {
                ++ctr_[Ctr::DroppedNormalized];
                return Disposition::Drop;
            }
            ++ctr_[Ctr::Forwarded];
            return Disposition::Forward;
        }
    }
    ++ctr_[pkt.src.version == IpVersion::V4 ? Ctr::Ipv4 : Ctr::Ipv6];
    ++ctr_[pkt.proto == ip_proto::kTcp   ? Ctr::Tcp
           : pkt.proto == ip_proto::kUdp ? Ctr::Udp
                                         : Ctr::OtherIp];

    bool from_lo = true;
    Flow& f = *lookup(pkt, in, from_lo);
    const Dir dir = f.dir_of(from_lo);
    const size_t d = idx(dir);
    ++f.pkts[d];
    f.bytes[d] += in.frame.size();
    // Once sluice answers for the server, the connection is its own: the client's packets
    // acknowledge bytes the server never sent, so they go to the answer's sender, not to
    // normalization and inspection.
    if (answers_.answering(f)) {
        flows_.touch(f, class_of(f.state), in.ts);
        answers_.on_packet(f, dir, pkt, injector, in.ts.ns);
        ++ctr_[Ctr::DroppedVerdict];
        return Disposition::Drop;
    }
    TcpVerdict tv;
    if (pkt.proto == ip_proto::kTcp) {
        tv = normalizer_.check(f, dir, pkt);
        if (tv.note != NormReason::None) note(f, dir, tv.note, pkt);
        if (tv.reason != NormReason::None) note(f, dir, tv.reason, pkt);
        if (tv.action == TcpAction::Inspect && !pkt.payload.empty()) {
            // Bytes that differ from what inspection saw at the same sequence numbers: the
            // receiver might take these while inspection keeps the first (an insertion).
            const TcpPeer& rx = f.peer[idx(reverse(dir))];
            const uint32_t data_seq = pkt.seq + (pkt.has_flag(tcp_flag::kSyn) ? 1 : 0);
            const Overlap ov = reassembler_.compare(f, dir, data_seq, pkt.payload,
                                                    rx.has(TcpPeer::kAckKnown) ? &rx.ack : nullptr);
            if (ov == Overlap::Conflict) {
                note(f, dir, NormReason::OverlapConflict, pkt);
                if (cfg_.normalize.drop) tv.action = TcpAction::Discard;
            } else if (ov == Overlap::Unverified) {
                note(f, dir, NormReason::OverlapUnverified, pkt);
            }
        }
        if (tv.action == TcpAction::Discard && cfg_.normalize.drop) {
            ++ctr_[Ctr::DroppedNormalized];
            flows_.touch(f, class_of(f.state), in.ts);
            return Disposition::Drop;
        }
    }
    if (tv.action == TcpAction::Inspect) {
        f.tcp_flags[d] |= pkt.tcp_flags;
        LinkTemplate& lt = f.link[d];
        lt.len = static_cast<uint8_t>(std::min<size_t>(pkt.l3_offset, sizeof lt.bytes));
        std::memcpy(lt.bytes, in.frame.data(), lt.len);
        if (pkt.proto == ip_proto::kTcp) {
            TcpNormalizer::learn(f, dir, pkt);
            if (pkt.has_flag(tcp_flag::kAck)) reassembler_.acknowledged(f, reverse(dir), pkt.ack);
            track_tcp(f, dir, pkt);
        }
    }
    flows_.touch(f, class_of(f.state), in.ts);
    apply_filters(f);
    // QUIC: the client's Initial packets (and quic.action, merged into the verdict below).
    if (pkt.proto == ip_proto::kUdp && !pkt.payload.empty())
        quic_->on_datagram(f, dir, pkt.payload);
    if (tv.action == TcpAction::Inspect && rules_->inspects(rules::InspectPoint::Packet))
        inspect_packet(f, dir, pkt, in.frame);

    // Inline, a request waits for its TLS secrets (tls::TlsOptions::hold_for_secrets): the
    // segment is dropped, its bytes already queued for decryption; the retransmission passes
    // once they were inspected. Before the verdict check: a timeout may set one.
    if (dir == Dir::ToServer && !pkt.payload.empty() && tv.action == TcpAction::Inspect &&
        tls_.holds(f, in.ts.ns)) {
        ++ctr_[Ctr::DroppedHeld];
        return Disposition::Drop;
    }
    // A connection sluice answers a request on: its sender takes every later packet (the
    // server's are forwarded only while the answer waits for earlier responses).
    if (answers_.holds(f) && !answers_.on_packet(f, dir, pkt, injector, in.ts.ns)) {
        ++ctr_[Ctr::DroppedVerdict];
        return Disposition::Drop;
    }
    if (f.verdict.stops_flow() && !answers_.holds(f)) {
        if (f.verdict.injects_reset() && !f.reset_injected)
            inject_resets(f, dir, in.link, injector);
        ++ctr_[Ctr::DroppedVerdict];
        return Disposition::Drop;
    }
    // Only what the receiver takes moves the forwarded edge (RSTs are matched against it).
    if (pkt.proto == ip_proto::kTcp && tv.action == TcpAction::Inspect) {
        uint32_t end = pkt.seq + static_cast<uint32_t>(pkt.payload.size());
        if (pkt.has_flag(tcp_flag::kSyn)) ++end;
        if (pkt.has_flag(tcp_flag::kFin)) ++end;
        if (!f.fwd_known[d] || seq_lt(f.fwd_end[d], end)) f.fwd_end[d] = end;
        f.fwd_known[d] = true;
    }
    ++ctr_[Ctr::Forwarded];
    return Disposition::Forward;
}

void Pipeline::inspect_packet(Flow& f, Dir dir, const DecodedPacket& pkt,
                              std::span<const uint8_t> frame) {
    rules::PacketFacts p;
    p.ipv4 = pkt.src.version == IpVersion::V4;
    p.tcp = pkt.proto == ip_proto::kTcp;
    p.proto = pkt.proto;
    p.ttl = pkt.ttl;
    p.dsize = static_cast<uint32_t>(pkt.payload.size());
    p.same_ip = pkt.src == pkt.dst;
    std::span<const uint8_t> ip_hdr, l4_hdr;
    if (!p.ipv4 && pkt.l4_offset > pkt.l3_offset && frame.size() >= pkt.l4_offset)
        ip_hdr = frame.subspan(pkt.l3_offset, size_t{pkt.l4_offset} - pkt.l3_offset);
    if (p.ipv4 && frame.size() >= size_t{pkt.l3_offset} + 20) {
        const uint8_t* h = frame.data() + pkt.l3_offset;
        const size_t ihl = std::min<size_t>(size_t{h[0] & 0x0fu} * 4, frame.size() - pkt.l3_offset);
        p.ip_id = static_cast<uint16_t>(h[4] << 8 | h[5]);
        p.frag_bits = static_cast<uint8_t>(h[6] >> 5);  // reserved, DF, MF
        ip_hdr = frame.subspan(pkt.l3_offset, ihl);
        // Options (the decoder validated their lengths; bounded again here).
        for (size_t i = 20; i < ihl;) {
            const uint8_t type = h[i];
            p.ip_opts |= rules::ip_opt_bit(rules::ip_opt_of(type));
            if (type == 0) break;  // end of options
            if (type == 1) {
                ++i;
                continue;
            }
            if (i + 1 >= ihl || h[i + 1] < 2) break;
            i += h[i + 1];
        }
    }
    if (p.tcp) {
        // Sequence space used so far, as Suricata's stream_size reads it.
        for (size_t side = 0; side < 2; ++side) {
            const TcpStream& st = f.stream[side];
            p.stream_size[side] = static_cast<uint32_t>(st.delivered + (st.syn_seen ? 1 : 0) +
                                                        (st.fin_seen && st.ended ? 1 : 0));
        }
        p.tcp_flags = pkt.tcp_flags;
        p.window = pkt.window;
        p.seq = pkt.seq;
        p.ack = pkt.ack;
        p.has_mss = pkt.tcp_options.has_mss;
        p.mss = pkt.tcp_options.mss;
        if (frame.size() >= size_t{pkt.l4_offset} + 20) {
            const size_t doff = static_cast<size_t>(frame[pkt.l4_offset + 12] >> 4) * 4;
            l4_hdr = frame.subspan(pkt.l4_offset, std::min(doff, frame.size() - pkt.l4_offset));
        }
    } else if (pkt.proto == ip_proto::kUdp && frame.size() >= size_t{pkt.l4_offset} + 8) {
        l4_hdr = frame.subspan(pkt.l4_offset, 8);
    }
    std::span<const uint8_t> payload = pkt.payload;
    if (rules::is_icmp(p) && pkt.payload.size() >= 4) {
        // Type and code; the identifier and sequence number of the messages that carry them
        // (echo, timestamp, information, address mask; ICMPv6 echo). The payload after the
        // 8-byte header is what dsize and the contents see, as in Suricata.
        const std::span<const uint8_t> h = pkt.payload;
        p.icmp_type = h[0];
        p.icmp_code = h[1];
        static constexpr uint8_t kV4[] = {0, 8, 13, 14, 15, 16, 17, 18}, kV6[] = {128, 129};
        const std::span<const uint8_t> with_id = p.proto == ip_proto::kIcmp
                                                     ? std::span<const uint8_t>(kV4)
                                                     : std::span<const uint8_t>(kV6);
        p.icmp_has_id =
            h.size() >= 8 && std::find(with_id.begin(), with_id.end(), h[0]) != with_id.end();
        if (p.icmp_has_id) {
            p.icmp_id = static_cast<uint16_t>(h[4] << 8 | h[5]);
            p.icmp_seq = static_cast<uint16_t>(h[6] << 8 | h[7]);
        }
        payload = h.subspan(std::min<size_t>(8, h.size()));
        p.dsize = static_cast<uint32_t>(payload.size());
    }
    rules_->on_packet(f, dir, p, payload, ip_hdr, l4_hdr);
}

void Pipeline::expire(Timestamp now, uint64_t seq) {
    flows_.expire(now, [&](Flow& f) {
        ++ctr_[Ctr::FlowsTimedOut];
        end_flow(f, FlowEndReason::Timeout, now, seq);
    });
#ifndef NDEBUG
    if (now - last_audit_ >= kAuditInterval) {
        audit_or_abort("expiry sweep");
        last_audit_ = now;
    }
#endif
}

void Pipeline::finish(Timestamp now) {
    // Collect first: end_flow must not run while for_each walks the lists it would edit.
    eve_.set_packet(EveOrder::kFinalSeq, now);
    flows_.for_each([&](Flow& f) {
        if (f.key.proto == ip_proto::kTcp) reassembler_.flush(f);
        stream_.on_flow_end(f);
        quic_->on_flow_end(f);
        answers_.on_flow_end(f);
        emit_flow_record(f, FlowEndReason::Shutdown, now, EveOrder::kFinalSeq);
        ++ctr_[Ctr::FlowsEnded];
    });
#ifndef NDEBUG
    audit_or_abort("finish");
#endif
}

void Pipeline::end_flow(Flow& f, FlowEndReason reason, Timestamp now, uint64_t seq) {
    eve_.set_packet(seq, now);
    if (f.key.proto == ip_proto::kTcp) reassembler_.flush(f);
    stream_.on_flow_end(f);
    quic_->on_flow_end(f);
    answers_.on_flow_end(f);
    emit_flow_record(f, reason, now, seq);
    ++ctr_[Ctr::FlowsEnded];
}

void Pipeline::emit_flow_record(const Flow& f, FlowEndReason reason, Timestamp now, uint64_t seq) {
    if (!eve_.enabled() || !cfg_.eve_flow_records) return;
    eve_.set_packet(seq, now);
    char start[40], end[40];
    format_eve_time(f.first_seen, start);
    format_eve_time(f.last_seen, end);
    JsonBuilder& j = eve_.begin(f, "flow");
    j.object("flow")
        .field("pkts_toserver", f.pkts[0])
        .field("pkts_toclient", f.pkts[1])
        .field("bytes_toserver", f.bytes[0])
        .field("bytes_toclient", f.bytes[1])
        .field("start", std::string_view(start))
        .field("end", std::string_view(end))
        .field("age", (f.last_seen - f.first_seen).ns / 1'000'000'000ull)
        .field("state", flow_state_name(f.state))
        .field("reason", flow_end_reason_name(reason))
        .field("alerted", f.alerted)
        .field("action",
               f.verdict.allowlisted ? std::string_view("allow") : verdict_name(f.verdict.verdict))
        .end_object();
    if (f.key.proto == ip_proto::kTcp) {
        char hex[3][3];
        const uint8_t all = f.tcp_flags[0] | f.tcp_flags[1];
        std::snprintf(hex[0], 3, "%02x", all);
        std::snprintf(hex[1], 3, "%02x", f.tcp_flags[0]);
        std::snprintf(hex[2], 3, "%02x", f.tcp_flags[1]);
        j.object("tcp")
            .field("tcp_flags", std::string_view(hex[0], 2))
            .field("tcp_flags_ts", std::string_view(hex[1], 2))
            .field("tcp_flags_tc", std::string_view(hex[2], 2));
        if (all & tcp_flag::kSyn) j.field("syn", true);
        if (all & tcp_flag::kFin) j.field("fin", true);
        if (all & tcp_flag::kRst) j.field("rst", true);
        if (all & tcp_flag::kPsh) j.field("psh", true);
        if (all & tcp_flag::kAck) j.field("ack", true);
        j.field("bytes_reassembled_toserver", f.stream[0].delivered)
            .field("bytes_reassembled_toclient", f.stream[1].delivered)
            .end_object();
    }
    eve_.finish();
}

}  // namespace sluice
