// A fixed pool of equal-sized byte buffers allocated at start-up, handed out by index so
// per-flow state stays small. alloc/release never touch the heap.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "common/index_pool.h"

namespace sluice {

class BufferPool {
  public:
    static constexpr uint32_t kNil = IndexPool::kNil;

    BufferPool(uint32_t count, size_t size)
        : size_(size), data_(new char[size_t{count} * size]), free_(count), count_(count) {}
    uint32_t alloc() { return free_.alloc(); }
    void release(uint32_t i) { free_.release(i); }
    std::span<char> operator[](uint32_t i) { return {data_.get() + size_t{i} * size_, size_}; }
    size_t buffer_size() const { return size_; }
    uint32_t count() const { return count_; }
    size_t in_use() const { return count_ - free_.available(); }

  private:
    size_t size_;
    std::unique_ptr<char[]> data_;  // uninitialised: written before read
    IndexPool free_;
    uint32_t count_;
};

}  // namespace sluice
