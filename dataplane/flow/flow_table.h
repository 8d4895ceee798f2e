// Per-worker flow table: fixed capacity chosen at start-up, no allocation afterwards.
//
// Chained hash over a preallocated pool; each flow also sits on the LRU list of its class.
// Expiry walks list heads (each class has one timeout, so the head is the oldest). When the
// table is full a new flow evicts the head of the first non-empty class in FlowClass order:
// embryonic (SYN floods eat their own kind), then closed, closing, stateless, and only then
// established flows.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "flow/flow.h"

namespace sluice {

struct FlowTimeouts {
    Duration embryonic = Duration::seconds(30);
    Duration established = Duration::seconds(600);
    Duration closing = Duration::seconds(60);
    Duration closed = Duration::seconds(10);
    Duration stateless = Duration::seconds(60);

    Duration of(FlowClass c) const;
};

class FlowTable {
  public:
    FlowTable(uint32_t capacity, FlowTimeouts timeouts);

    uint32_t capacity() const { return capacity_; }
    uint32_t size() const { return size_; }

    Flow* find(const FlowKey& key, uint64_t hash);
    // Inserts a new flow for key. When full, evicts first and calls on_evict(flow) before reuse.
    template <typename OnEvict>
    Flow* insert(const FlowKey& key, uint64_t hash, Timestamp now, OnEvict&& on_evict);

    // Moves the flow to the tail of `cls`'s LRU list and records the time.
    void touch(Flow& f, FlowClass cls, Timestamp now);

    // Calls on_expire(flow) for each flow idle past its class timeout, then frees it.
    template <typename OnExpire>
    uint32_t expire(Timestamp now, OnExpire&& on_expire);

    // Calls fn(flow) for every flow in a deterministic order (by class, then LRU order).
    template <typename Fn>
    void for_each(Fn&& fn);
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (size_t c = 0; c < kClasses; ++c)
            for (uint32_t i = lru_head_[c]; i != kNilIndex; i = pool_[i].lru_next) fn(pool_[i]);
    }

    void remove(Flow& f);
    size_t class_size(FlowClass c) const { return class_count_[static_cast<size_t>(c)]; }
    // The longest bucket chain (a scan of every bucket: tests and diagnostics, not the hot path).
    uint32_t longest_chain() const;
    static constexpr size_t flow_bytes() { return sizeof(Flow) + 2 * sizeof(uint32_t); }
    // A flow's slot in the table's pool: stages keep side tables indexed by it (validated by
    // flow_id, since slots are reused).
    uint32_t index_of(const Flow& f) const { return static_cast<uint32_t>(&f - pool_.get()); }
    // The slot at `i` (a stage's record of index_of; check its flow_id: slots are reused).
    const Flow& slot(uint32_t i) const { return pool_[i]; }

  private:
    Flow& at(uint32_t i) { return pool_[i]; }
    void lru_unlink(Flow& f);
    void lru_append(Flow& f, FlowClass c);
    uint32_t pop_free();
    Flow* evict_one();

    uint32_t capacity_;
    uint32_t bucket_mask_;
    FlowTimeouts timeouts_;
    std::unique_ptr<Flow[]> pool_;
    std::unique_ptr<uint32_t[]> buckets_;
    uint32_t free_head_ = kNilIndex;  // free list threaded through bucket_next
    uint32_t size_ = 0;
    static constexpr size_t kClasses = static_cast<size_t>(FlowClass::Count);
    std::array<uint32_t, kClasses> lru_head_{};
    std::array<uint32_t, kClasses> lru_tail_{};
    std::array<uint32_t, kClasses> class_count_{};
};

template <typename OnEvict>
Flow* FlowTable::insert(const FlowKey& key, uint64_t hash, Timestamp now, OnEvict&& on_evict) {
    if (free_head_ == kNilIndex) {
        Flow* victim = evict_one();
        on_evict(*victim);
        remove(*victim);
    }
    const uint32_t i = pop_free();
    Flow& f = at(i);
    f = Flow{};
    f.key = key;
    f.hash = hash;
    f.first_seen = now;
    f.last_seen = now;
    const uint32_t b = static_cast<uint32_t>(hash) & bucket_mask_;
    f.bucket_next = buckets_[b];
    buckets_[b] = i;
    lru_append(f, FlowClass::Embryonic);
    ++size_;
    return &f;
}

template <typename OnExpire>
uint32_t FlowTable::expire(Timestamp now, OnExpire&& on_expire) {
    uint32_t n = 0;
    for (size_t c = 0; c < kClasses; ++c) {
        const Duration limit = timeouts_.of(static_cast<FlowClass>(c));
        while (lru_head_[c] != kNilIndex) {
            Flow& f = at(lru_head_[c]);
            if (now - f.last_seen <= limit) break;
            on_expire(f);
            remove(f);
            ++n;
        }
    }
    return n;
}

template <typename Fn>
void FlowTable::for_each(Fn&& fn) {
    for (size_t c = 0; c < kClasses; ++c) {
        for (uint32_t i = lru_head_[c]; i != kNilIndex;) {
            Flow& f = at(i);
            i = f.lru_next;  // fn may not remove, but read next first anyway
            fn(f);
        }
    }
}

}  // namespace sluice
