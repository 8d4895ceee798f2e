#include "reassembly/segment_pool.h"

namespace sluice {

SegmentPool::SegmentPool(uint32_t nodes)
    : nodes_(std::make_unique<SegmentNode[]>(nodes)), size_(nodes), available_(nodes) {
    for (uint32_t i = 0; i < nodes; ++i) nodes_[i].next = i + 1 < nodes ? i + 1 : kNilIndex;
    free_head_ = nodes ? 0 : kNilIndex;
}

uint32_t SegmentPool::alloc() {
    const uint32_t i = free_head_;
    if (i == kNilIndex) return i;
    free_head_ = nodes_[i].next;
    nodes_[i].next = kNilIndex;
    --available_;
    return i;
}

void SegmentPool::free(uint32_t i) {
    nodes_[i].next = free_head_;
    free_head_ = i;
    ++available_;
}

}  // namespace sluice
