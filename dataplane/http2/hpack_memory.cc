#include "http2/hpack_memory.h"

#include <cstdlib>
#include <cstring>

namespace sluice::http2 {

namespace {
// Each block starts with its size, so frees and reallocs are counted exactly.
constexpr size_t kPrefix = alignof(std::max_align_t);
}  // namespace

HpackMemory::HpackMemory(size_t budget_bytes) : budget_(budget_bytes) {
    mem_.mem_user_data = this;
    mem_.malloc = &HpackMemory::do_malloc;
    mem_.free = &HpackMemory::do_free;
    mem_.calloc = &HpackMemory::do_calloc;
    mem_.realloc = &HpackMemory::do_realloc;
}

void* HpackMemory::take(size_t size, bool zero) {
    if (size > budget_ || in_use_ + size > budget_) {
        ++refused_;
        return nullptr;
    }
    auto* p = static_cast<unsigned char*>(zero ? std::calloc(1, size + kPrefix)
                                               : std::malloc(size + kPrefix));
    if (p == nullptr) return nullptr;
    std::memcpy(p, &size, sizeof size);
    in_use_ += size;
    return p + kPrefix;
}

void HpackMemory::give(void* ptr) {
    if (ptr == nullptr) return;
    auto* p = static_cast<unsigned char*>(ptr) - kPrefix;
    size_t size;
    std::memcpy(&size, p, sizeof size);
    in_use_ -= size;
    std::free(p);
}

void* HpackMemory::do_malloc(size_t size, void* self) {
    return static_cast<HpackMemory*>(self)->take(size, false);
}

void HpackMemory::do_free(void* ptr, void* self) {
    static_cast<HpackMemory*>(self)->give(ptr);
}

void* HpackMemory::do_calloc(size_t n, size_t size, void* self) {
    if (size != 0 && n > SIZE_MAX / size) return nullptr;
    return static_cast<HpackMemory*>(self)->take(n * size, true);
}

void* HpackMemory::do_realloc(void* ptr, size_t size, void* self) {
    auto* m = static_cast<HpackMemory*>(self);
    if (ptr == nullptr) return m->take(size, false);
    if (size == 0) {
        m->give(ptr);
        return nullptr;
    }
    size_t old;
    std::memcpy(&old, static_cast<unsigned char*>(ptr) - kPrefix, sizeof old);
    void* fresh = m->take(size, false);
    if (fresh == nullptr) return nullptr;  // the old block stays valid, as realloc promises
    std::memcpy(fresh, ptr, old < size ? old : size);
    m->give(ptr);
    return fresh;
}

}  // namespace sluice::http2
