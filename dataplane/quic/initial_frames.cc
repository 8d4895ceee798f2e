#include "quic/initial_frames.h"

#include <algorithm>
#include <cstring>

#include "quic/quic_packet.h"

namespace sluice::quic {

FramesStatus add_initial_frames(std::span<const uint8_t> b, CryptoAssembler& crypto,
                                std::span<uint8_t> buffer, bool& overflow) {
    size_t at = 0;
    uint64_t type = 0, v = 0, n = 0;
    auto skip_varints = [&](int k) {
        for (int i = 0; i < k; ++i)
            if (!read_varint(b, at, v)) return false;
        return true;
    };
    while (at < b.size()) {
        if (!read_varint(b, at, type)) return FramesStatus::Malformed;
        switch (type) {
            case 0x00:  // PADDING
            case 0x01:  // PING
                break;
            case 0x02:  // ACK: largest, delay, range count, first range, then the ranges
            case 0x03: {
                if (!skip_varints(2) || !read_varint(b, at, n) || !skip_varints(1))
                    return FramesStatus::Malformed;
                if (n > b.size()) return FramesStatus::Malformed;  // each range takes 2 bytes
                if (!skip_varints(static_cast<int>(2 * n + (type == 0x03 ? 3 : 0))))
                    return FramesStatus::Malformed;
                break;
            }
            case 0x06: {  // CRYPTO: offset, length, data
                uint64_t off = 0;
                if (!read_varint(b, at, off) || !read_varint(b, at, n) || b.size() - at < n)
                    return FramesStatus::Malformed;
                if (!crypto.add(off, b.subspan(at, static_cast<size_t>(n)), buffer))
                    overflow = true;
                at += static_cast<size_t>(n);
                break;
            }
            case 0x1c:  // CONNECTION_CLOSE: error, frame type, reason
            case 0x1d:
                if (!skip_varints(type == 0x1c ? 2 : 1) || !read_varint(b, at, n) ||
                    b.size() - at < n)
                    return FramesStatus::Malformed;
                at += static_cast<size_t>(n);
                break;
            default:
                return FramesStatus::NotAllowed;
        }
    }
    return FramesStatus::Ok;
}

bool CryptoAssembler::add(uint64_t offset, std::span<const uint8_t> data,
                          std::span<uint8_t> buffer) {
    if (offset >= kCapacity) return data.empty();
    const size_t start = static_cast<size_t>(offset);
    const size_t n = std::min(data.size(), kCapacity - start);
    for (size_t i = 0; i < n; ++i) {
        const size_t at = start + i;
        uint64_t& word = have_[at / 64];
        const uint64_t bit = uint64_t{1} << (at % 64);
        if (word & bit) continue;  // first bytes win
        buffer[at] = data[i];
        word |= bit;
    }
    while (contiguous_ < kCapacity && (have_[contiguous_ / 64] >> (contiguous_ % 64) & 1))
        ++contiguous_;
    return n == data.size();
}

}  // namespace sluice::quic
