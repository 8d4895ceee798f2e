// TCP normalization: each segment is checked against what the receiving host would accept
// (RFC 9293, RFC 5961, RFC 7323) before reassembly sees it, so inspection never reads bytes a
// host discards (the classic insertion evasion) and one crafted packet cannot end inspection
// of a connection the hosts keep using (an out-of-window or inexact RST).
//
// The normalizer only decides; the pipeline acts: a segment a host would discard is dropped
// inline and, offline or on a monitor port, forwarded but not inspected. Every decision is
// counted by reason; the first of each reason on a flow is an EVE `anomaly` record.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "decode/decoded_packet.h"
#include "flow/flow.h"

namespace sluice {

// Why a packet was not inspected (or, for the notes, what was noticed). Names in
// norm_reason_name(); keep both in sync.
enum class NormReason : uint8_t {
    None,
    // Discarded by the receiving host: dropped inline, not inspected anywhere.
    Ipv4Checksum,
    TcpChecksum,
    UdpChecksum,
    NoAck,            // a non-SYN, non-RST segment without ACK
    AckUnsent,        // acknowledges data the peer never sent (RFC 5961 section 5)
    Paws,             // timestamp older than the last one seen (RFC 7323 section 5)
    OutOfWindow,      // data past the receiver's advertised window
    DataAfterFin,     // data past the sender's own FIN
    RstOutOfWindow,   // RST outside the receive window (RFC 5961 section 3)
    OverlapConflict,  // retransmitted bytes that differ from what was inspected
    // Forwarded: the receiver answers with a challenge ACK and the connection goes on.
    RstInWindow,       // in the window but not the exact next sequence number
    SynOnEstablished,  // RFC 5961 section 4
    // Noticed, forwarded and inspected.
    TtlDrop,            // TTL / hop limit fell below the handshake's by more than ttl_delta
    OverlapUnverified,  // overlaps unacknowledged bytes no longer retained for comparison
    Count
};
constexpr size_t kNormReasons = static_cast<size_t>(NormReason::Count);
std::string_view norm_reason_name(NormReason r);
// Reasons whose packet a host discards (dropped inline, never inspected).
constexpr bool norm_discards(NormReason r) {
    return r != NormReason::None && r < NormReason::RstInWindow;
}

struct NormalizeOptions {
    // Inline ports drop what a host would discard; offline and monitor runs forward it but
    // leave it out of inspection.
    bool drop = false;
    // sluice sits in the path (inline): it sees each side's packets before the other side
    // answers them, so checks across directions hold (an ACK of data never sent, data past
    // the window the receiver advertised). A tap or a capture may merge the two directions
    // out of order: there only the checks within one direction apply.
    bool in_path = false;
    bool verify_checksums = true;
    // A TTL or hop limit this far below the one seen at the handshake is an anomaly (an
    // insertion packet meant to expire between sluice and the server). Linux and Windows
    // start at 64 and 128 and a route change moves a few hops; 8 leaves room for that.
    uint8_t ttl_delta = 8;
    // Delivered bytes the receiver has not acknowledged, kept per direction to tell a
    // faithful retransmission from one with other bytes (overlap_conflict). In steady state
    // only the bytes in flight are held; an overlap older than what is kept and not yet
    // acknowledged is overlap_unverified (counted, forwarded).
    uint32_t retain_bytes = 32768;
};

// What to do with one TCP segment.
enum class TcpAction : uint8_t {
    Inspect,  // reassemble and inspect as usual
    Forward,  // forward, but keep it out of reassembly (in-window RST, SYN on established)
    Discard,  // a host would drop it: drop inline, skip inspection offline
};

struct TcpVerdict {
    TcpAction action = TcpAction::Inspect;
    NormReason reason = NormReason::None;  // why not Inspect
    NormReason note = NormReason::None;    // an anomaly noticed on an inspected segment
};

class TcpNormalizer {
  public:
    explicit TcpNormalizer(const NormalizeOptions& opts) : opts_(opts) {}
    // Checks one segment of `f` travelling in `dir` (before reassembly and before the flow's
    // state moves on it).
    TcpVerdict check(const Flow& f, Dir dir, const DecodedPacket& pkt) const;
    // Records what the segment tells about its sender (ACK, window, timestamp, TTL); only for
    // segments that reach the receiver (not discarded).
    static void learn(Flow& f, Dir dir, const DecodedPacket& pkt);

  private:
    const NormalizeOptions& opts_;
};

}  // namespace sluice
