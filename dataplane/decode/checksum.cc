#include "decode/checksum.h"

#include <cstring>

namespace sluice {

namespace {

// Sums 16-bit big-endian words 32 bits at a time into a 64-bit accumulator (no carries lost).
uint64_t sum_words(std::span<const uint8_t> b, uint64_t acc) {
    size_t i = 0;
    for (; i + 8 <= b.size(); i += 8) {
        uint32_t w[2];
        std::memcpy(w, b.data() + i, 8);
        acc += w[0];
        acc += w[1];
    }
    for (; i + 2 <= b.size(); i += 2) {
        uint16_t w;
        std::memcpy(&w, b.data() + i, 2);
        acc += w;
    }
    if (i < b.size()) {
        const uint8_t last[2] = {b[i], 0};
        uint16_t w;
        std::memcpy(&w, last, 2);
        acc += w;
    }
    return acc;
}

// The folded sum is in the machine's byte order of the words summed (native loads of
// big-endian data): a ones' complement sum is byte-order independent (RFC 1071 section 2.B),
// so comparing the fold with 0xffff works on any host.
bool sums_to_all_ones(uint64_t acc) {
    return ones_complement_fold(acc) == 0xffff;
}

}  // namespace

uint16_t ones_complement_fold(uint64_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

uint32_t ones_complement_add(std::span<const uint8_t> b, uint32_t acc) {
    return ones_complement_fold(sum_words(b, acc));
}

ChecksumError verify_checksums(std::span<const uint8_t> frame, const DecodedPacket& pkt,
                               ChecksumHint hint) {
    if (pkt.status != DecodeStatus::Ok) return ChecksumError::None;
    const bool v4 = pkt.src.version == IpVersion::V4;
    if (v4 && !hint.l3_good) {
        const size_t ihl = static_cast<size_t>(frame[pkt.l3_offset] & 0x0f) * 4;
        if (!sums_to_all_ones(sum_words(frame.subspan(pkt.l3_offset, ihl), 0)))
            return ChecksumError::Ipv4;
    }
    if (hint.l4_good) return ChecksumError::None;
    if (pkt.proto != ip_proto::kTcp && pkt.proto != ip_proto::kUdp) return ChecksumError::None;
    const size_t l4_len = pkt.l3_offset + pkt.l3_length - pkt.l4_offset;
    const std::span<const uint8_t> seg = frame.subspan(pkt.l4_offset, l4_len);
    if (pkt.proto == ip_proto::kUdp && v4) {
        uint16_t stored;
        std::memcpy(&stored, seg.data() + 6, 2);
        if (stored == 0) return ChecksumError::None;  // IPv4 UDP: zero means "not computed"
    }
    // Pseudo-header: addresses, protocol, upper-layer length.
    uint64_t acc = 0;
    if (v4) {
        acc = sum_words(std::span<const uint8_t>(pkt.src.bytes.data(), 4), acc);
        acc = sum_words(std::span<const uint8_t>(pkt.dst.bytes.data(), 4), acc);
    } else {
        acc = sum_words(std::span<const uint8_t>(pkt.src.bytes.data(), 16), acc);
        acc = sum_words(std::span<const uint8_t>(pkt.dst.bytes.data(), 16), acc);
    }
    const uint8_t tail[8] = {static_cast<uint8_t>(l4_len >> 24),
                             static_cast<uint8_t>(l4_len >> 16),
                             static_cast<uint8_t>(l4_len >> 8),
                             static_cast<uint8_t>(l4_len),
                             0,
                             0,
                             0,
                             pkt.proto};
    acc = sum_words(tail, acc);
    acc = sum_words(seg, acc);
    if (!sums_to_all_ones(acc))
        return pkt.proto == ip_proto::kTcp ? ChecksumError::Tcp : ChecksumError::Udp;
    return ChecksumError::None;
}

}  // namespace sluice
