// Small, fast, non-cryptographic hashing used for flow keys and worker distribution.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace sluice {

constexpr uint64_t mix64(uint64_t x) {
    // SplitMix64 finaliser: full avalanche, cheap.
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

inline uint64_t hash_bytes(std::span<const uint8_t> b, uint64_t seed) {
    uint64_t h = mix64(seed ^ b.size());
    size_t i = 0;
    for (; i + 8 <= b.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, b.data() + i, 8);
        h = mix64(h ^ w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, b.data() + i, b.size() - i);
    return mix64(h ^ tail ^ 0x9e3779b97f4a7c15ull);
}

}  // namespace sluice
