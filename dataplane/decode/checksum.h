// Internet checksums (RFC 1071) of a decoded packet: the IPv4 header and the TCP or UDP
// segment with its pseudo-header (RFC 793, RFC 768, RFC 8200 section 8.1). A host discards a
// segment whose checksum fails, so inspection must not see it either.
#pragma once

#include <cstdint>
#include <span>

#include "decode/decoded_packet.h"

namespace sluice {

enum class ChecksumError : uint8_t { None, Ipv4, Tcp, Udp };

// What the NIC already verified (DPDK's rx offload flags), per layer.
struct ChecksumHint {
    bool l3_good = false;
    bool l4_good = false;
};

// Verifies what the hint does not vouch for; `frame` is the frame `pkt` was decoded from.
ChecksumError verify_checksums(std::span<const uint8_t> frame, const DecodedPacket& pkt,
                               ChecksumHint hint = {});

// The 16-bit ones' complement sum of `b` folded into `acc` (not complemented).
uint32_t ones_complement_add(std::span<const uint8_t> b, uint32_t acc);
uint16_t ones_complement_fold(uint64_t sum);

}  // namespace sluice
