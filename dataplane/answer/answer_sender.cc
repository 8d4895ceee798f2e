#include "answer/answer_sender.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "engine/tcp_frame_builder.h"

namespace sluice {

namespace {

constexpr uint16_t kDefaultMss = 536;  // RFC 9293 3.7.1: when the SYN carried none

bool link_has_header(LinkType l) {
    return l != LinkType::Raw && l != LinkType::RawBsd && l != LinkType::RawOpenBsd &&
           l != LinkType::Ipv4 && l != LinkType::Ipv6;
}

}  // namespace

AnswerSender::AnswerSender(const AnswerOptions& opts, FlowTable& flows, WorkerCounters& ctr)
    : opts_(opts),
      templates_(opts.templates ? opts.templates : std::make_shared<const AnswerTemplates>()),
      flows_(flows),
      ctr_(ctr),
      sessions_(opts.http ? std::max<uint32_t>(opts.sessions, 1) : 0),
      by_flow_(opts.http ? flows.capacity() : 0, kNilIndex) {
    free_.reserve(sessions_.size());
    for (size_t i = sessions_.size(); i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
}

AnswerSender::Session* AnswerSender::find(const Flow& f) {
    return const_cast<Session*>(std::as_const(*this).find(f));
}

const AnswerSender::Session* AnswerSender::find(const Flow& f) const {
    if (used_ == 0) return nullptr;
    const uint32_t slot = by_flow_[flows_.index_of(f)];
    if (slot == kNilIndex) return nullptr;
    const Session& s = sessions_[slot];
    return s.state != State::Free && s.flow_id == f.flow_id ? &s : nullptr;
}

void AnswerSender::release(Session& s, uint32_t slot) {
    if (by_flow_[s.flow_index] == slot) by_flow_[s.flow_index] = kNilIndex;
    s.state = State::Free;
    free_.push_back(slot);
    --used_;
}

std::optional<AnswerFallback> AnswerSender::open(Flow& f, const StoppedRequest& r,
                                                 uint64_t now_ns) {
    const auto why = try_open(f, r, now_ns);
    if (why) ++ctr_.answer_fallback[static_cast<size_t>(*why)];
    return why;
}

std::optional<AnswerFallback> AnswerSender::try_open(Flow& f, const StoppedRequest& r,
                                                     uint64_t now_ns) {
    if (!opts_.http || r.facts.status == 0) return AnswerFallback::Configured;
    const bool h2 = r.http2 || f.app_proto == AppProto::Http2;
    if (h2 && h2_ == nullptr) return AnswerFallback::Http2;
    H2AnswerLimits limits;
    if (h2)
        if (const auto why = h2_->h2_answer_limits(f, r.stream_id, limits)) return why;
    const bool tls = f.app_proto == AppProto::Tls || f.tls.client_hello || f.tls.server_hello;
    if (tls && sealer_ == nullptr) return AnswerFallback::TlsNoKeys;
    if (tls)
        if (const auto why = sealer_->can_seal(f)) return why;
    const TcpStream& in = f.stream[idx(Dir::ToServer)];
    if (f.key.proto != ip_proto::kTcp || !f.fwd_known[idx(Dir::ToClient)] || !in.seq_known)
        return AnswerFallback::Sequence;
    if (link_has_header(link_) && f.link[0].len == 0 && f.link[1].len == 0)
        return AnswerFallback::NoLink;
    if (find(f) != nullptr) return std::nullopt;  // already answering this connection
    if (free_.empty()) reclaim_done();
    if (free_.empty()) return AnswerFallback::NoSession;
    const uint32_t slot = free_.back();
    Session& s = sessions_[slot];
    s = Session{};
    size_t n = 0;
    if (h2) {
        // The header block and the body now; the frames when sent (limits may move).
        std::array<char, kMaxAnswer> body;
        const size_t blen = templates_->build_body(r.facts, body);
        const size_t hb =
            h2_answer_header_block(r.facts, templates_->style_for(r.facts.path), blen, s.bytes);
        if (blen > 0 && hb > 0 && hb + blen <= s.bytes.size()) {
            std::memcpy(s.bytes.data() + hb, body.data(), blen);
            n = hb + blen;
            s.h2 = true;
            s.h2_block = static_cast<uint16_t>(hb);
            s.stream_id = r.stream_id;
        }
    } else {
        n = templates_->build_http1(r.facts,
                                    {reinterpret_cast<char*>(s.bytes.data()), s.bytes.size()});
    }
    if (n == 0) return AnswerFallback::Configured;  // cannot happen with validated templates
    free_.pop_back();
    ++used_;
    s.state = State::Waiting;
    s.flow_id = f.flow_id;
    s.flow_index = flows_.index_of(f);
    s.port = port_;
    s.link = link_;
    s.len = static_cast<uint16_t>(n);
    s.tls = tls;
    s.mss = f.peer[idx(Dir::ToServer)].mss_or(kDefaultMss);
    s.waiting_for = r.earlier_in_flight;
    s.rto_ms = opts_.rto_ms;
    s.rto_at_ns = now_ns;
    // Every byte the client sent in order is taken: the request, and what followed it.
    s.rcv_nxt = in.next_seq;
    if (in.fin_seen && in.fin_seq == in.next_seq) {
        s.rcv_nxt += 1;
        s.client_fin = true;
    }
    by_flow_[s.flow_index] = slot;
    f.reset_injected = true;  // the answer replaces the resets
    ++ctr_[r.facts.status == 429 ? Ctr::AnswersRateLimited : Ctr::AnswersForbidden];
    return std::nullopt;
}

bool AnswerSender::emit(const Session& s, const Flow& f, uint32_t seq, uint8_t flags,
                        std::span<const uint8_t> payload, Injector& inj,
                        std::optional<bool> along) {
    std::array<uint8_t, kMaxFrameHeaders + kMaxAnswer> frame;
    TcpSegmentSpec spec;
    spec.toward = Dir::ToClient;
    spec.seq = seq;
    spec.ack = s.rcv_nxt;
    spec.flags = flags;
    // The server's receive window as the client reads it (scaled when both SYNs agreed).
    const TcpPeer& srv = f.peer[idx(Dir::ToClient)];
    const TcpPeer& cli = f.peer[idx(Dir::ToServer)];
    const bool scaled = srv.has(TcpPeer::kSynWs) && cli.has(TcpPeer::kSynWs);
    spec.window = static_cast<uint16_t>(std::max(1u, 65535u >> (scaled ? srv.wscale : 0)));
    spec.payload = payload;
    const size_t n = build_segment(f, s.link, spec, frame);
    if (n == 0) return false;
    const std::span<const uint8_t> bytes(frame.data(), n);
    if (along) {
        inj.inject(*along, bytes);
    } else if (!inj.inject_on(s.port, bytes)) {
        ++ctr_[Ctr::AnswerFramesLost];
        return false;
    }
    return true;
}

size_t AnswerSender::send(Session& s, const Flow& f, uint32_t from, size_t max, Injector& inj,
                          std::optional<bool> along) {
    const uint32_t window = std::max<uint32_t>(f.peer[idx(Dir::ToServer)].window, 1);
    const uint32_t fin_off = s.len;
    // Bytes past the hold point wait until the client acknowledged those before it.
    const uint32_t limit = s.hold != 0 && s.una < s.hold ? s.hold : fin_off;
    uint32_t off = from;
    size_t sent = 0;
    while (sent < max && off <= fin_off) {
        uint32_t seg = 0;
        if (off < fin_off) {
            if (off >= limit) break;
            const uint32_t in_flight = off - s.una;
            // A closed window still lets one segment through (a probe, as RFC 9293 3.8.6.1).
            const uint32_t room = in_flight < window ? window - in_flight : (sent == 0 ? 1 : 0);
            seg = std::min<uint32_t>({s.mss, limit - off, room});
            if (seg == 0) break;
        }
        const bool fin = off + seg == fin_off;
        uint8_t flags = tcp_flag::kAck;
        if (seg > 0) flags |= tcp_flag::kPsh;
        if (fin) flags |= tcp_flag::kFin;
        if (!emit(s, f, s.iss + off, flags, {s.bytes.data() + off, seg}, inj, along)) break;
        ++ctr_[Ctr::AnswerSegments];
        ++sent;
        off += seg + (fin ? 1 : 0);
    }
    s.nxt = std::max(s.nxt, off);
    return sent;
}

bool AnswerSender::start(Session& s, Flow& f, Injector& inj, bool client_side_packet,
                         uint64_t now_ns) {
    s.state = State::Sending;
    s.iss = f.fwd_end[idx(Dir::ToClient)];  // the next byte the client expects from the server
    // The server never got the request's last bytes: reset it so it frees the connection.
    std::array<uint8_t, kMaxRstFrame> rst;
    if (const size_t n = build_rst(f, Dir::ToServer, s.link, rst)) {
        inj.inject(client_side_packet, {rst.data(), n});
        ++ctr_[Ctr::RstInjected];
    }
    // Framed and sealed now, not when the answer was opened: what the server sent meanwhile
    // moved its windows, frame boundary and record sequence number.
    std::array<uint8_t, kMaxWire> plain;
    size_t len = s.len;
    std::optional<AnswerFallback> why;
    size_t split = len;  // HTTP/2: the GOAWAY waits for the response's acknowledgement
    if (s.h2) {
        H2AnswerLimits limits;
        why = h2_->h2_answer_limits(f, s.stream_id, limits);
        len = why ? 0
                  : h2_answer_frames({s.bytes.data(), s.h2_block},
                                     {s.bytes.data() + s.h2_block, size_t{s.len} - s.h2_block},
                                     s.stream_id, limits, plain, split);
        if (!why && len == 0) why = AnswerFallback::Http2;
    } else {
        std::memcpy(plain.data(), s.bytes.data(), len);
    }
    if (!why && s.tls) {
        AnswerFallback w = AnswerFallback::TlsState;
        size_t split_end = 0;
        len = sealer_->seal(f, {plain.data(), len}, split, s.bytes, split_end, w);
        if (len == 0) why = w;
        split = split_end;
    } else if (!why) {
        std::memcpy(s.bytes.data(), plain.data(), len);
    }
    if (s.h2 && split < len) s.hold = static_cast<uint16_t>(split);
    if (why) {
        ++ctr_.answer_fallback[static_cast<size_t>(*why)];
        if (const size_t k = build_rst(f, Dir::ToClient, s.link, rst)) {
            inj.inject(!client_side_packet, {rst.data(), k});
            ++ctr_[Ctr::RstInjected];
        }
        return false;
    }
    s.len = static_cast<uint16_t>(len);
    s.tls = s.h2 = false;
    send(s, f, 0, kMaxSegmentsPerPacket, inj, !client_side_packet);
    s.rto_at_ns = now_ns + uint64_t{s.rto_ms} * 1'000'000;
    return true;
}

void AnswerSender::retransmit(Session& s, const Flow& f, Injector& inj, std::optional<bool> along,
                              uint64_t now_ns) {
    ++ctr_[Ctr::AnswerRetransmits];
    ++s.retransmits;
    send(s, f, s.una, kMaxSegmentsPerPacket, inj, along);
    s.rto_ms = std::min<uint32_t>(s.rto_ms * 2, 60'000);
    s.rto_at_ns = now_ns + uint64_t{s.rto_ms} * 1'000'000;
}

void AnswerSender::reset_client(const Session& s, const Flow& f, Injector& inj,
                                std::optional<bool> along) {
    // At the first byte the client has not acknowledged: what it expects next, unless more
    // of the answer arrived (then it is ignored, and the client's own timeout ends it).
    if (emit(s, f, s.iss + s.una, tcp_flag::kRst | tcp_flag::kAck, {}, inj, along))
        ++ctr_[Ctr::RstInjected];
}

void AnswerSender::ack_only(Session& s, const Flow& f, Injector& inj, bool along) {
    if (emit(s, f, s.iss + s.nxt, tcp_flag::kAck, {}, inj, along)) ++ctr_[Ctr::AnswerSegments];
}

bool AnswerSender::on_packet(Flow& f, Dir dir, const DecodedPacket& pkt, Injector& inj,
                             uint64_t now_ns) {
    Session* sp = find(f);
    if (sp == nullptr) return false;
    Session& s = *sp;
    const uint32_t slot = by_flow_[s.flow_index];
    if (s.state == State::Waiting) {
        if (dir == Dir::ToClient) {
            // A response to an earlier request: forwarded (the answer's numbers follow it).
            uint32_t end = pkt.seq + static_cast<uint32_t>(pkt.payload.size());
            if (pkt.has_flag(tcp_flag::kSyn)) ++end;
            if (pkt.has_flag(tcp_flag::kFin)) ++end;
            if (seq_lt(f.fwd_end[idx(Dir::ToClient)], end)) f.fwd_end[idx(Dir::ToClient)] = end;
            if (s.waiting_for == 0 && !start(s, f, inj, false, now_ns)) release(s, slot);
            return true;
        }
        if (s.waiting_for == 0 && !start(s, f, inj, true, now_ns)) release(s, slot);
        return false;  // the client's bytes wait with the answer; the server never gets them
    }
    if (dir == Dir::ToClient) return false;  // the server was reset: its leftovers go nowhere
    if (s.state == State::Done) {
        // Closed both ways: the client sends its FIN again only when our ACK of it was lost.
        if (pkt.has_flag(tcp_flag::kFin)) ack_only(s, f, inj, false);
        return false;
    }
    if (pkt.has_flag(tcp_flag::kRst)) {
        release(s, slot);
        return false;
    }
    bool owe_ack = false;
    // Bytes past what the answer acknowledged: taken and dropped (the answer says the
    // connection closes); bytes already acknowledged: the client retransmits, so our
    // segments (or their ACK) were lost.
    const uint32_t data_end = pkt.seq + static_cast<uint32_t>(pkt.payload.size());
    bool resend = false;
    if (!pkt.payload.empty()) {
        if (seq_lt(s.rcv_nxt, data_end) && seq_leq(pkt.seq, s.rcv_nxt)) s.rcv_nxt = data_end;
        if (seq_leq(data_end, s.rcv_nxt)) resend = true;
        owe_ack = true;
    }
    if (pkt.has_flag(tcp_flag::kFin) && seq_leq(data_end, s.rcv_nxt) && !s.client_fin) {
        s.client_fin = true;
        s.rcv_nxt = data_end + 1;
        owe_ack = true;
    } else if (pkt.has_flag(tcp_flag::kFin) && s.client_fin) {
        owe_ack = true;  // its FIN again: our ACK of it was lost
    }
    if (pkt.has_flag(tcp_flag::kAck)) {
        const uint32_t acked = pkt.ack - s.iss;
        if (acked > s.una && acked <= s.nxt) {
            s.una = acked;
            s.retransmits = 0;
            s.rto_ms = opts_.rto_ms;
            s.rto_at_ns = now_ns + uint64_t{s.rto_ms} * 1'000'000;
            if (s.una == uint32_t{s.len} + 1u && !s.fin_acked) {
                s.fin_acked = true;
                ++ctr_[Ctr::AnswersDelivered];
            }
        } else if (acked == s.una && s.una < s.nxt && pkt.payload.empty() &&
                   !pkt.has_flag(tcp_flag::kFin)) {
            resend = true;  // a duplicate ACK: the segment after it was lost
        }
    }
    const bool back = false;  // frames toward the client travel back from its packet
    if (resend && s.una < s.nxt) {
        if (s.retransmits >= opts_.max_retransmits) {
            reset_client(s, f, inj, back);
            ++ctr_[Ctr::AnswersAbandoned];
            release(s, slot);
            return false;
        }
        retransmit(s, f, inj, back, now_ns);
        owe_ack = false;  // the resent segments carry the ACK
    } else if (s.nxt < uint32_t{s.len} + 1u) {
        if (send(s, f, s.nxt, kMaxSegmentsPerPacket, inj, back) > 0) owe_ack = false;
    }
    if (owe_ack) ack_only(s, f, inj, back);
    if (s.fin_acked && s.client_fin) s.state = State::Done;  // closed both ways
    return false;
}

void AnswerSender::reclaim_done() {
    // A session closed both ways only waits to acknowledge a FIN the client might resend;
    // a new answer needs the slot more.
    for (uint32_t i = 0; i < sessions_.size(); ++i)
        if (sessions_[i].state == State::Done) {
            release(sessions_[i], i);
            ++ctr_[Ctr::AnswersReclaimed];
        }
}

void AnswerSender::on_response_complete(const Flow& f) {
    if (Session* s = find(f); s != nullptr && s->state == State::Waiting && s->waiting_for > 0)
        --s->waiting_for;
}

void AnswerSender::on_flow_end(const Flow& f) {
    if (Session* s = find(f)) release(*s, by_flow_[s->flow_index]);
}

void AnswerSender::tick(uint64_t now_ns, Injector& inj) {
    if (used_ == 0 || now_ns < next_tick_ns_) return;
    next_tick_ns_ = now_ns + 5'000'000;  // timers are checked every 5 ms
    for (uint32_t i = 0; i < sessions_.size(); ++i) {
        Session& s = sessions_[i];
        if (s.state != State::Sending || s.una >= s.nxt || now_ns < s.rto_at_ns) continue;
        const Flow& f = flows_.slot(s.flow_index);
        if (f.flow_id != s.flow_id) {  // the flow ended without telling us
            release(s, i);
            continue;
        }
        if (s.retransmits >= opts_.max_retransmits) {
            reset_client(s, f, inj, std::nullopt);
            ++ctr_[Ctr::AnswersAbandoned];
            release(s, i);
            continue;
        }
        retransmit(s, f, inj, std::nullopt, now_ns);
    }
}

}  // namespace sluice
