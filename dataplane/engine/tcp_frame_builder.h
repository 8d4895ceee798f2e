// Builds the TCP frames the engine originates: the RSTs a reject/block verdict injects toward
// each end of a flow, and the segments of an answer sluice sends a client in the server's name
// (answer/answer_sender.h). Addresses, ports and the link header come from the flow.
#pragma once

#include <cstdint>
#include <span>

#include "flow/flow.h"

namespace sluice {

// Link header (with VLAN tags), IPv6 header and a TCP header without options.
constexpr size_t kMaxFrameHeaders = 24 + 40 + 20;
constexpr size_t kMaxRstFrame = kMaxFrameHeaders;

struct TcpSegmentSpec {
    Dir toward = Dir::ToClient;  // the direction the segment travels
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint8_t flags = 0;  // tcp_flag bits
    uint16_t window = 0;
    std::span<const uint8_t> payload;
};

// Writes the whole frame into `out` (which must hold kMaxFrameHeaders + payload bytes);
// returns its length, or 0 when the flow lacks what is needed (no link header seen in either
// direction on a link type that has one) or `out` is too small.
size_t build_segment(const Flow& flow, LinkType link, const TcpSegmentSpec& spec,
                     std::span<uint8_t> out);

// An RST that appears to come from the peer of `toward`'s receiver (toward ToServer: from the
// client to the server), at the sequence number that receiver expects next.
size_t build_rst(const Flow& flow, Dir toward, LinkType link, std::span<uint8_t, kMaxRstFrame> out);

// Internet checksum helpers (exposed for tests and the packet generator).
uint32_t checksum_partial(std::span<const uint8_t> bytes, uint32_t sum = 0);
uint16_t checksum_fold(uint32_t sum);

}  // namespace sluice
