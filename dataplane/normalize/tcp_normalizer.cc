#include "normalize/tcp_normalizer.h"

#include <algorithm>

namespace sluice {

namespace {
// TCP_PAWS_WINDOW in Linux: how far behind TS.Recent a timestamp may be and still pass.
constexpr int32_t kPawsWindow = 1;
}  // namespace

std::string_view norm_reason_name(NormReason r) {
    static constexpr std::array<std::string_view, kNormReasons> names = {
        "none",
        "ipv4_checksum",
        "tcp_checksum",
        "udp_checksum",
        "no_ack",
        "ack_unsent",
        "paws",
        "out_of_window",
        "data_after_fin",
        "rst_out_of_window",
        "overlap_conflict",
        "rst_in_window",
        "syn_on_established",
        "ttl_drop",
        "overlap_unverified",
    };
    const auto i = static_cast<size_t>(r);
    return i < names.size() ? names[i] : "unknown";
}

namespace {

constexpr TcpVerdict discard(NormReason r, NormReason note) {
    return {TcpAction::Discard, r, note};
}

// The sequence number the receiver expects next from `dir`: the in-order end of what it got
// (plus the FIN once that was reached), the point RFC 5961 accepts an RST at.
uint32_t next_expected(const Flow& f, Dir dir) {
    const TcpStream& s = f.stream[idx(dir)];
    if (!s.seq_known) return f.fwd_end[idx(dir)];
    return s.next_seq + (s.fin_seen && s.next_seq == s.fin_seq ? 1 : 0);
}

}  // namespace

TcpVerdict TcpNormalizer::check(const Flow& f, Dir dir, const DecodedPacket& pkt) const {
    const size_t d = idx(dir);
    const TcpPeer& me = f.peer[d];
    const TcpPeer& them = f.peer[idx(reverse(dir))];
    const NormReason note = me.has(TcpPeer::kTtlKnown) && pkt.ttl + opts_.ttl_delta < me.ttl
                                ? NormReason::TtlDrop
                                : NormReason::None;
    const bool syn = pkt.has_flag(tcp_flag::kSyn), ack = pkt.has_flag(tcp_flag::kAck);

    if (pkt.has_flag(tcp_flag::kRst)) {
        if (!f.fwd_known[d]) {
            // This side's first packet. Answering a SYN, it must acknowledge the SYN; on a flow
            // picked up mid-stream nothing is known: it is accepted, and any later data on the
            // tuple starts a new, inspected flow.
            if (f.state == FlowState::New && dir == Dir::ToClient && f.fwd_known[0] &&
                (!ack || pkt.ack != f.fwd_end[0]))
                return discard(NormReason::RstOutOfWindow, note);
            return {TcpAction::Inspect, NormReason::None, note};
        }
        if (pkt.seq == next_expected(f, dir)) return {TcpAction::Inspect, NormReason::None, note};
        const uint32_t left = them.has(TcpPeer::kAckKnown) ? them.ack : next_expected(f, dir);
        const uint32_t wnd = std::max<uint32_t>(them.window, 1);
        if (seq_leq(left, pkt.seq) && seq_lt(pkt.seq, left + wnd))
            return {TcpAction::Forward, NormReason::RstInWindow, note};
        return discard(NormReason::RstOutOfWindow, note);
    }
    if (syn) {
        // A SYN on a connection whose handshake was seen gets a challenge ACK from the
        // receiver (RFC 5961 section 4), not a new connection: forward, never reassemble it.
        if (!ack && f.handshake_seen &&
            (f.state == FlowState::Established || f.state == FlowState::Closing))
            return {TcpAction::Forward, NormReason::SynOnEstablished, note};
        return {TcpAction::Inspect, NormReason::None, note};
    }
    if (!ack) return discard(NormReason::NoAck, note);
    if (opts_.in_path && f.handshake_seen && f.fwd_known[idx(reverse(dir))] &&
        seq_lt(f.fwd_end[idx(reverse(dir))], pkt.ack))
        return discard(NormReason::AckUnsent, note);
    // PAWS as the receiving stack applies it (Linux: tcp_paws_discard): a timestamp one tick
    // behind TS.Recent still passes, and a reordered pure ACK is never refused (it carries no
    // bytes to inspect; refusing it would only cost the connection a retransmission).
    const bool pure_ack = pkt.payload.empty() && !pkt.has_flag(tcp_flag::kFin);
    if (me.has(TcpPeer::kSynTs) && them.has(TcpPeer::kSynTs) && me.has(TcpPeer::kTsKnown) &&
        pkt.tcp_options.has_timestamp && !pure_ack &&
        static_cast<int32_t>(me.ts_recent - pkt.tcp_options.ts_value) > kPawsWindow)
        return discard(NormReason::Paws, note);
    if (!pkt.payload.empty()) {
        const uint32_t end = pkt.seq + static_cast<uint32_t>(pkt.payload.size());
        const TcpStream& s = f.stream[d];
        if (s.fin_seen && seq_lt(s.fin_seq, end)) return discard(NormReason::DataAfterFin, note);
        // The window is known only once both SYNs said whether it is scaled. One byte past it
        // is a zero-window probe.
        if (opts_.in_path && f.handshake_seen && them.has(TcpPeer::kAckKnown) &&
            seq_lt(them.ack + them.window + 1, end))
            return discard(NormReason::OutOfWindow, note);
    }
    return {TcpAction::Inspect, NormReason::None, note};
}

void TcpNormalizer::learn(Flow& f, Dir dir, const DecodedPacket& pkt) {
    TcpPeer& me = f.peer[idx(dir)];
    const TcpPeer& them = f.peer[idx(reverse(dir))];
    const bool syn = pkt.has_flag(tcp_flag::kSyn);
    if (!me.has(TcpPeer::kTtlKnown)) {
        me.ttl = pkt.ttl;
        me.bits |= TcpPeer::kTtlKnown;
    }
    if (syn) {
        me.bits |= TcpPeer::kSynSeen;
        if (pkt.tcp_options.has_window_scale) {
            me.wscale = std::min<uint8_t>(pkt.tcp_options.window_scale, 14);  // RFC 7323 2.3
            me.bits |= TcpPeer::kSynWs;
        }
        if (pkt.tcp_options.has_timestamp) me.bits |= TcpPeer::kSynTs;
        if (pkt.tcp_options.has_mss && pkt.tcp_options.mss >= 8)
            me.mss8 = static_cast<uint8_t>(std::min<uint16_t>(pkt.tcp_options.mss, 2040) / 8);
    }
    if (pkt.has_flag(tcp_flag::kAck)) {
        me.ack = pkt.ack;
        me.bits |= TcpPeer::kAckKnown;
    }
    // The window of a SYN is never scaled; scaling holds only if both SYNs carried the option.
    const bool scaled = !syn && me.has(TcpPeer::kSynWs) && them.has(TcpPeer::kSynWs);
    me.window = scaled ? uint32_t{pkt.window} << me.wscale : pkt.window;
    if (pkt.tcp_options.has_timestamp) {
        // TS.Recent moves only on a segment at the receiver's left edge (RFC 7323 section 4.3),
        // so a segment reordered behind later ones is not refused by PAWS.
        const uint32_t tsval = pkt.tcp_options.ts_value;
        if (!me.has(TcpPeer::kTsKnown)) {
            me.ts_recent = tsval;
            me.bits |= TcpPeer::kTsKnown;
        } else if (seq_lt(me.ts_recent, tsval) &&
                   (!them.has(TcpPeer::kAckKnown) || seq_leq(pkt.seq, them.ack))) {
            me.ts_recent = tsval;
        }
    }
}

}  // namespace sluice
