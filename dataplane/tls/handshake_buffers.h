// A worker's fixed pool of buffers for handshake messages being assembled (a ClientHello
// split across TCP segments or records). Only flows in their handshake hold one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/index_pool.h"

namespace sluice::tls {

class HandshakeBuffers {
  public:
    static constexpr uint32_t kNil = IndexPool::kNil;
    static constexpr uint32_t kBufferSize = 16384;  // a hello larger than this is not kept

    explicit HandshakeBuffers(uint32_t count)
        : data_(new uint8_t[size_t{count} * kBufferSize]),  // uninitialised: written before read
          free_(count),
          holders_(count) {}
    // Who holds a buffer, so the oldest holder can be found when the pool runs dry.
    struct Holder {
        void* flow = nullptr;  // the owning Flow (valid while its flow_id matches)
        uint64_t flow_id = 0;
        uint64_t since_ns = 0;  // packet time of the allocation
        uint8_t dir = 0;
    };
    uint32_t alloc() { return free_.alloc(); }
    void release(uint32_t i) {
        holders_[i] = Holder{};
        free_.release(i);
    }
    size_t in_use() const { return free_.in_use(); }
    Holder& holder(uint32_t i) { return holders_[i]; }
    const Holder& holder(uint32_t i) const { return holders_[i]; }
    uint32_t count() const { return static_cast<uint32_t>(holders_.size()); }
    std::span<uint8_t> operator[](uint32_t i) {
        return {data_.get() + size_t{i} * kBufferSize, kBufferSize};
    }

  private:
    std::unique_ptr<uint8_t[]> data_;
    IndexPool free_;
    std::vector<Holder> holders_;
};

}  // namespace sluice::tls
