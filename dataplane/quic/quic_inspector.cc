#include "quic/quic_inspector.h"

#include <cstring>

#include "inspect/rule_inspector.h"

namespace sluice::quic {

QuicInspector::QuicInspector(EveEmitter& eve, const QuicOptions& opts)
    : eve_(eve),
      opts_(opts),
      sessions_(std::min<uint32_t>(opts.sessions, kNoSession)),
      buffers_(sessions_.size() * CryptoAssembler::kCapacity),
      free_(static_cast<uint32_t>(sessions_.size())),
      scratch_(65536),
      fp_(std::make_unique<tls::Fingerprints>()) {}

QuicInspector::~QuicInspector() = default;

QuicInspector::Session* QuicInspector::session(Flow& f) {
    if (f.quic_session == kNoSession || f.quic_session >= sessions_.size()) return nullptr;
    Session& s = sessions_[f.quic_session];
    if (!s.in_use || s.owner != &f || s.owner_id != f.flow_id) {
        f.quic_session = kNoSession;  // a stale index (the flow slot was reused)
        return nullptr;
    }
    return &s;
}

QuicInspector::Session* QuicInspector::start(Flow& f) {
    uint32_t i = free_.alloc();
    if (i == IndexPool::kNil) {
        // Under pressure the handshake idle longest gives its slot up, if it waited long
        // enough: a client that sends half a hello and stops cannot hold the pool.
        const uint64_t now = eve_.now().ns;
        Session* oldest = nullptr;
        for (Session& s : sessions_)
            if (s.in_use && (oldest == nullptr || s.last_ns < oldest->last_ns)) oldest = &s;
        if (oldest == nullptr ||
            now - oldest->last_ns < uint64_t{opts_.reclaim_after_ms} * 1'000'000ull)
            return nullptr;
        Flow& victim = *oldest->owner;
        end(victim);
        victim.inspect_flags |= inspect_flag::kQuicDone;
        ++ctr_[QuicCtr::Reclaimed];
        i = free_.alloc();
        if (i == IndexPool::kNil) return nullptr;
    }
    Session& s = sessions_[i];
    s.in_use = true;
    s.keyed = false;
    s.overflow = false;
    s.owner = &f;
    s.owner_id = f.flow_id;
    s.last_ns = eve_.now().ns;
    s.version = 0;
    s.crypto.reset();
    f.quic_session = static_cast<uint16_t>(i);
    return &s;
}

void QuicInspector::end(Flow& f) {
    if (Session* s = session(f)) {
        s->keys = InitialKeys{};
        s->in_use = false;
        s->owner = nullptr;
        free_.release(f.quic_session);
    }
    f.quic_session = kNoSession;
}

void QuicInspector::on_flow_end(Flow& f) {
    end(f);
}

void QuicInspector::on_datagram(Flow& f, Dir d, std::span<const uint8_t> datagram) {
    if (!opts_.enabled || datagram.empty()) return;
    Session* s = session(f);
    if (s == nullptr) {
        if (f.inspect_flags & inspect_flag::kQuicDone) return;
        ++ctr_[QuicCtr::Datagrams];
        // A flow is QUIC when the client's first datagram starts with a long header.
        LongHeader h;
        f.inspect_flags |= inspect_flag::kQuicDone;  // unless it turns out to be a handshake
        if (d != Dir::ToServer || parse_long_header(datagram, h) != HeaderStatus::Ok) return;
        const bool looks_quic =
            known_version(h.version) ||
            (h.type == PacketType::Other && (datagram[0] & 0x40) && datagram.size() >= 1200);
        if (!looks_quic) return;
        f.app_proto = AppProto::Quic;
        if (opts_.action == QuicAction::Block) {
            // Clients fall back to TCP, where every request is inspected.
            f.verdict.merge(Verdict::Drop);
            ++ctr_[QuicCtr::Blocked];
        }
        if (!known_version(h.version)) {
            ++ctr_[QuicCtr::OtherVersions];
            return;
        }
        if (h.type != PacketType::Initial) return;  // picked up mid-handshake: nothing to read
        ++ctr_[QuicCtr::Connections];
        if ((s = start(f)) == nullptr) {
            ++ctr_[QuicCtr::SessionsExhausted];
            return;
        }
        f.inspect_flags &= static_cast<uint8_t>(~inspect_flag::kQuicDone);
    } else {
        ++ctr_[QuicCtr::Datagrams];
    }
    s->last_ns = eve_.now().ns;
    // A datagram may coalesce several packets (RFC 9000 section 12.2); a short header ends
    // the long ones.
    size_t at = 0;
    while (at < datagram.size()) {
        LongHeader h;
        const std::span<const uint8_t> rest = datagram.subspan(at);
        const HeaderStatus st = parse_long_header(rest, h);
        if (st == HeaderStatus::NotLong) break;
        if (st == HeaderStatus::Malformed || h.packet_len == 0 || h.packet_len > rest.size()) {
            ++ctr_[QuicCtr::Malformed];
            break;
        }
        if (d == Dir::ToServer && h.type == PacketType::Initial) {
            client_packet(f, *s, h, rest.first(h.packet_len));
            if (f.quic_session == kNoSession) return;  // read whole, or given up
        } else if (d == Dir::ToClient && h.type == PacketType::Retry) {
            // The client's next Initials use the Retry's connection id, and keys from it.
            ++ctr_[QuicCtr::Retries];
            s->keyed = false;
        }
        at += h.packet_len;
    }
}

void QuicInspector::client_packet(Flow& f, Session& s, const LongHeader& h,
                                  std::span<const uint8_t> packet) {
    ++ctr_[QuicCtr::Initials];
    if (!s.keyed || s.version != h.version) {
        if (!derive_initial_keys(h.version, h.dcid, true, s.keys)) return;
        s.keyed = true;
        s.version = h.version;
        s.key_from(h.dcid);
    }
    std::memcpy(scratch_.data(), packet.data(), packet.size());
    std::span<const uint8_t> frames;
    uint64_t pn = 0;
    if (!opener_.open(s.keys, {scratch_.data(), packet.size()}, h.pn_offset, frames, pn)) {
        // Not under the first connection id's keys: a client that took a Retry this stage did
        // not see keys its Initials from their own connection id. A packet to the id the keys
        // came from is simply not one (no second derivation for a flood of garbage).
        InitialKeys own;
        std::memcpy(scratch_.data(), packet.data(), packet.size());
        if (s.keyed_by(h.dcid) || !derive_initial_keys(h.version, h.dcid, true, own) ||
            !opener_.open(own, {scratch_.data(), packet.size()}, h.pn_offset, frames, pn)) {
            ++ctr_[QuicCtr::DecryptFailures];
            return;
        }
        s.keys = own;
        s.key_from(h.dcid);
    }
    std::span<uint8_t> buf(buffers_.data() + size_t{f.quic_session} * CryptoAssembler::kCapacity,
                           CryptoAssembler::kCapacity);
    bool overflow = false;
    if (add_initial_frames(frames, s.crypto, buf, overflow) != FramesStatus::Ok)
        ++ctr_[QuicCtr::Malformed];
    if (overflow && !s.overflow) {
        s.overflow = true;
        ++ctr_[QuicCtr::HelloTooLarge];
    }
    // The CRYPTO stream starts with the ClientHello: type 1, a 24-bit length.
    const size_t have = s.crypto.contiguous();
    if (have < 4) return;
    const size_t len = size_t{buf[1]} << 16 | size_t{buf[2]} << 8 | buf[3];
    if (buf[0] != 1 || 4 + len > CryptoAssembler::kCapacity) {
        ++ctr_[buf[0] != 1 ? QuicCtr::Malformed : QuicCtr::HelloTooLarge];
        end(f);
        f.inspect_flags |= inspect_flag::kQuicDone;
        return;
    }
    if (have >= 4 + len) log_hello(f, s, buf.subspan(4, len));
}

void QuicInspector::log_hello(Flow& f, Session& s, std::span<const uint8_t> body) {
    tls::ClientHello ch;
    if (tls::parse_client_hello(body, ch) != tls::ParseStatus::Ok) {
        ++ctr_[QuicCtr::Malformed];
    } else {
        tls::compute_fingerprints(ch, *fp_, 'q');
        ++ctr_[QuicCtr::Hellos];
        if (eve_.enabled()) {
            char vbuf[12];
            JsonBuilder& j = eve_.begin(f, "quic");
            j.object("quic").field("version", version_name(s.version, vbuf));
            if (ch.has_sni) j.field("sni", ch.sni);
            if (ch.has_alpn)
                j.field("alpn",
                        std::string_view(reinterpret_cast<const char*>(ch.alpn_first.data()),
                                         ch.alpn_first.size()));
            j.object("ja3").field("hash", fp_->ja3_hash).field("string", fp_->ja3).end_object();
            j.field("ja4", fp_->ja4).field("ja4_r", fp_->ja4_r);
            if (opts_.action == QuicAction::Block) j.field("action", std::string_view("blocked"));
            j.end_object();
            eve_.finish();
        }
        for (tls::HelloObserver* o : observers_) o->on_client_hello(f, ch, *fp_);
        if (sink_ != nullptr) {
            account::Observation o;
            o.kind = account::ObservationKind::QuicHello;
            o.ts_ns = eve_.now().ns;
            o.seq = eve_.seq();
            o.src = f.client().addr;
            o.ja4_hash = account::hash_item(fp_->ja4);
            o.has_account = false;
            sink_->observe(o);
        }
    }
    end(f);
    f.inspect_flags |= inspect_flag::kQuicDone;
}

void QuicInspector::audit(const Flow& f, PoolAudit& a) const {
    if (f.quic_session == kNoSession) return;
    a.claim(PoolKind::QuicSessions, f.quic_session, f.flow_id);
    if (f.quic_session >= sessions_.size()) return;
    const Session& s = sessions_[f.quic_session];
    if (!s.in_use || s.owner != &f || s.owner_id != f.flow_id)
        a.violation(PoolKind::QuicSessions, f.quic_session, f.flow_id, "owner names another flow");
}

void QuicInspector::audit_pools(PoolAudit& a) const {
    a.pool(PoolKind::QuicSessions, static_cast<uint32_t>(sessions_.size()), free_.in_use());
}

}  // namespace sluice::quic
