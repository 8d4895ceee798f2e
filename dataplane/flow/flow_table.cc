#include "flow/flow_table.h"

#include <algorithm>

#include <bit>

namespace sluice {

Duration FlowTimeouts::of(FlowClass c) const {
    switch (c) {
        case FlowClass::Embryonic:
            return embryonic;
        case FlowClass::Established:
            return established;
        case FlowClass::Closing:
            return closing;
        case FlowClass::Closed:
            return closed;
        case FlowClass::Stateless:
        case FlowClass::Count:
            break;
    }
    return stateless;
}

FlowTable::FlowTable(uint32_t capacity, FlowTimeouts timeouts)
    : capacity_(capacity == 0 ? 1 : capacity),
      bucket_mask_(std::bit_ceil(capacity_ * 2u) - 1),
      timeouts_(timeouts),
      pool_(std::make_unique<Flow[]>(capacity_)),
      buckets_(std::make_unique<uint32_t[]>(bucket_mask_ + 1)) {
    for (uint32_t b = 0; b <= bucket_mask_; ++b) buckets_[b] = kNilIndex;
    for (uint32_t i = 0; i < capacity_; ++i)
        pool_[i].bucket_next = i + 1 < capacity_ ? i + 1 : kNilIndex;
    free_head_ = 0;
    lru_head_.fill(kNilIndex);
    lru_tail_.fill(kNilIndex);
    class_count_.fill(0);
}

Flow* FlowTable::find(const FlowKey& key, uint64_t hash) {
    for (uint32_t i = buckets_[static_cast<uint32_t>(hash) & bucket_mask_]; i != kNilIndex;) {
        Flow& f = at(i);
        if (f.hash == hash && f.key == key) return &f;
        i = f.bucket_next;
    }
    return nullptr;
}

void FlowTable::touch(Flow& f, FlowClass cls, Timestamp now) {
    f.last_seen = now;
    lru_unlink(f);
    lru_append(f, cls);
}

void FlowTable::remove(Flow& f) {
    const uint32_t i = index_of(f);
    // Unlink from the hash chain.
    uint32_t* link = &buckets_[static_cast<uint32_t>(f.hash) & bucket_mask_];
    while (*link != kNilIndex && *link != i) link = &at(*link).bucket_next;
    if (*link == i) *link = f.bucket_next;
    lru_unlink(f);
    f.bucket_next = free_head_;
    free_head_ = i;
    --size_;
}

void FlowTable::lru_unlink(Flow& f) {
    const size_t c = static_cast<size_t>(f.lru_class);
    if (f.lru_prev != kNilIndex)
        at(f.lru_prev).lru_next = f.lru_next;
    else
        lru_head_[c] = f.lru_next;
    if (f.lru_next != kNilIndex)
        at(f.lru_next).lru_prev = f.lru_prev;
    else
        lru_tail_[c] = f.lru_prev;
    f.lru_prev = f.lru_next = kNilIndex;
    --class_count_[c];
}

void FlowTable::lru_append(Flow& f, FlowClass cls) {
    const size_t c = static_cast<size_t>(cls);
    const uint32_t i = index_of(f);
    f.lru_class = cls;
    f.lru_next = kNilIndex;
    f.lru_prev = lru_tail_[c];
    if (lru_tail_[c] != kNilIndex)
        at(lru_tail_[c]).lru_next = i;
    else
        lru_head_[c] = i;
    lru_tail_[c] = i;
    ++class_count_[c];
}

uint32_t FlowTable::pop_free() {
    const uint32_t i = free_head_;
    free_head_ = at(i).bucket_next;
    return i;
}

Flow* FlowTable::evict_one() {
    for (size_t c = 0; c < kClasses; ++c)
        if (lru_head_[c] != kNilIndex) return &at(lru_head_[c]);
    return nullptr;  // unreachable: only called when the pool is exhausted
}

uint32_t FlowTable::longest_chain() const {
    uint32_t longest = 0;
    for (uint32_t b = 0; b <= bucket_mask_; ++b) {
        uint32_t n = 0;
        for (uint32_t i = buckets_[b]; i != kNilIndex; i = pool_[i].bucket_next) ++n;
        longest = std::max(longest, n);
    }
    return longest;
}

}  // namespace sluice
