// The frames an Initial packet may carry (RFC 9000 section 12.4: PADDING, PING, ACK, CRYPTO,
// CONNECTION_CLOSE), and the reassembly of CRYPTO data into the ClientHello: split and
// out-of-order frames across several packets and datagrams, overlaps first-wins.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice::quic {

enum class FramesStatus : uint8_t { Ok, Malformed, NotAllowed };

// Collects the CRYPTO stream's first kCapacity bytes. Fixed size, no allocation.
class CryptoAssembler {
  public:
    static constexpr size_t kCapacity = 16384;  // a ClientHello with post-quantum key shares fits
    void reset() {
        have_.fill(0);
        contiguous_ = 0;
    }
    // False when some of `data` lies past the capacity (what fits is kept).
    bool add(uint64_t offset, std::span<const uint8_t> data, std::span<uint8_t> buffer);
    // Bytes received without a hole from offset 0.
    size_t contiguous() const { return contiguous_; }

  private:
    std::array<uint64_t, kCapacity / 64> have_{};  // one bit per byte received
    size_t contiguous_ = 0;
};

// Reads a decrypted Initial payload and adds each CRYPTO frame's data to `crypto` (held in
// `buffer`); `overflow` is set when some lay past its capacity. Stops at the first malformed
// frame, or one that has no place in an Initial packet.
FramesStatus add_initial_frames(std::span<const uint8_t> frames, CryptoAssembler& crypto,
                                std::span<uint8_t> buffer, bool& overflow);

}  // namespace sluice::quic
