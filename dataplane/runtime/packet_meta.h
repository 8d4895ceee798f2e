// Per-packet metadata in each mbuf's private area (set up with the mempool, no dynfield
// registration): arrival order, packet time, the engine's disposition and injected frames.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace sluice {

inline constexpr int kMaxInjected = 4;

struct PacketMeta {
    uint64_t seq;
    uint64_t ts_ns;
    // Frames to send after this packet (nullptr when none): RSTs, and an answer's segments
    // with the RST toward the server (answer/answer_sender.h: at most 3 + 1).
    rte_mbuf* inject[kMaxInjected];
    uint16_t in_port;
    uint8_t drop;          // 1: the engine dropped the packet
    uint8_t inject_along;  // bit i: inject[i] travels with the packet (else back to sender)
};
static_assert(sizeof(PacketMeta) % RTE_MBUF_PRIV_ALIGN == 0, "mbuf private area alignment");

inline PacketMeta& meta(rte_mbuf* m) {
    return *static_cast<PacketMeta*>(rte_mbuf_to_priv(m));
}

}  // namespace sluice
