// Per-direction TCP reassembly state, embedded in each Flow (kept small: see docs).
#pragma once

#include <cstdint>

namespace sluice {

constexpr uint32_t kNilIndex = 0xffffffffu;

// Sequence comparisons modulo 2^32 (RFC 1982 style).
constexpr bool seq_lt(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b) < 0;
}
constexpr bool seq_leq(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b) <= 0;
}

struct TcpStream {
    uint32_t next_seq = 0;          // next byte expected in order
    uint32_t fin_seq = 0;           // sequence number of the FIN (valid if fin_seen)
    uint32_t ooo_head = kNilIndex;  // out-of-order segment list (SegmentPool indices, by seq)
    uint32_t ooo_bytes = 0;         // bytes held in that list
    uint64_t delivered = 0;         // bytes handed to consumers
    // Recently delivered bytes the receiver has not acknowledged yet, kept to compare
    // retransmissions with (SegmentPool nodes, oldest first): [keep_seq, next_seq).
    uint32_t keep_head = kNilIndex;
    uint32_t keep_tail = kNilIndex;
    uint32_t keep_seq = 0;
    uint32_t keep_bytes = 0;
    bool seq_known = false;
    bool syn_seen = false;
    bool fin_seen = false;
    bool ended = false;  // FIN reached in order, RST, or flushed: consumers were told
};

}  // namespace sluice
