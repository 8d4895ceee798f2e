// Fixed pool of out-of-order segment nodes shared by all flows of one worker: the global
// reassembly memory cap. Allocated once at start-up.
#pragma once

#include <cstdint>
#include <memory>

#include "reassembly/tcp_stream.h"

namespace sluice {

struct SegmentNode {
    static constexpr uint32_t kCapacity = 1536 - 12;  // one MSS-sized segment fits one node
    uint32_t seq = 0;
    uint32_t next = kNilIndex;
    uint16_t len = 0;
    uint8_t data[kCapacity];
};

class SegmentPool {
  public:
    explicit SegmentPool(uint32_t nodes);
    uint32_t alloc();  // kNilIndex when exhausted
    void free(uint32_t i);
    SegmentNode& operator[](uint32_t i) { return nodes_[i]; }
    const SegmentNode& operator[](uint32_t i) const { return nodes_[i]; }
    uint32_t available() const { return available_; }
    uint32_t size() const { return size_; }

  private:
    std::unique_ptr<SegmentNode[]> nodes_;
    uint32_t size_;
    uint32_t free_head_ = kNilIndex;
    uint32_t available_ = 0;
};

}  // namespace sluice
