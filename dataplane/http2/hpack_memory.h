// The allocator nghttp2's HPACK decoders use (nghttp2_mem): every dynamic table entry a peer
// makes the decoder keep is counted against one per-worker budget, so a peer announcing large
// tables on many connections cannot take more than http2.hpack_memory_mb; past it an
// allocation fails, nghttp2 reports NGHTTP2_ERR_NOMEM and that connection stops being parsed
// (counted). The only heap allocations of the HTTP/2 stage are these.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>

namespace sluice::http2 {

class HpackMemory {
  public:
    explicit HpackMemory(size_t budget_bytes);
    HpackMemory(const HpackMemory&) = delete;
    HpackMemory& operator=(const HpackMemory&) = delete;

    nghttp2_mem* mem() { return &mem_; }
    size_t in_use() const { return in_use_; }
    uint64_t refused() const { return refused_; }

  private:
    static void* do_malloc(size_t size, void* self);
    static void do_free(void* ptr, void* self);
    static void* do_calloc(size_t n, size_t size, void* self);
    static void* do_realloc(void* ptr, size_t size, void* self);
    void* take(size_t size, bool zero);
    void give(void* ptr);

    nghttp2_mem mem_;
    size_t budget_;
    size_t in_use_ = 0;
    uint64_t refused_ = 0;
};

}  // namespace sluice::http2
