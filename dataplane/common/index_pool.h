// A free list of indices into a fixed pool allocated at start-up: alloc/release never touch
// the heap (the list's capacity is reserved up front).
#pragma once

#include <cstdint>
#include <vector>

namespace sluice {

class IndexPool {
  public:
    static constexpr uint32_t kNil = 0xffffffffu;
    explicit IndexPool(uint32_t count) : count_(count) {
        free_.reserve(count);
        for (uint32_t i = count; i > 0; --i) free_.push_back(i - 1);
    }
    uint32_t alloc() {
        if (free_.empty()) return kNil;
        const uint32_t i = free_.back();
        free_.pop_back();
        return i;
    }
    void release(uint32_t i) { free_.push_back(i); }
    size_t available() const { return free_.size(); }
    size_t in_use() const { return count_ - free_.size(); }

  private:
    uint32_t count_;
    std::vector<uint32_t> free_;
};

}  // namespace sluice
