// A worker's fixed pool of buffers for handshake messages being assembled (a ClientHello
// split across TCP segments or records). Only flows in their handshake hold one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace sluice::tls {

class HandshakeBuffers {
  public:
    static constexpr uint32_t kNil = 0xffffffffu;
    static constexpr uint32_t kBufferSize = 16384;  // a hello larger than this is not kept

    explicit HandshakeBuffers(uint32_t count)
        : data_(new uint8_t[size_t{count} * kBufferSize]) {  // uninitialised: written before read
        free_.reserve(count);
        for (uint32_t i = count; i > 0; --i) free_.push_back(i - 1);
    }
    uint32_t alloc() {
        if (free_.empty()) return kNil;
        const uint32_t i = free_.back();
        free_.pop_back();
        return i;
    }
    void release(uint32_t i) { free_.push_back(i); }  // capacity reserved: no allocation
    std::span<uint8_t> operator[](uint32_t i) {
        return {data_.get() + size_t{i} * kBufferSize, kBufferSize};
    }

  private:
    std::unique_ptr<uint8_t[]> data_;
    std::vector<uint32_t> free_;
};

}  // namespace sluice::tls
