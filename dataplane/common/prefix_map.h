// Longest-prefix match over IPv4 and IPv6 prefixes: one exact-match hash map of masked
// addresses per prefix length in use, probed from the longest length down. Lookups cost one
// probe per distinct length (a handful in practice) and never allocate; inserts may. Used
// for enforcement prefixes and the prefix-to-ASN table.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>

#include "common/hash.h"
#include "common/ip_address.h"

namespace sluice {

template <typename V>
class PrefixMap {
  public:
    void insert(const IpAddress& addr, unsigned len, const V& v) {
        auto& by_len = addr.version == IpVersion::V4 ? v4_ : v6_;
        by_len[len][masked(addr, len)] = v;
        ++size_;
    }
    // The value of the longest prefix containing `a`, or nullptr.
    const V* find(const IpAddress& a) const {
        const auto& by_len = a.version == IpVersion::V4 ? v4_ : v6_;
        for (const auto& [len, map] : by_len) {
            auto it = map.find(masked(a, len));
            if (it != map.end()) return &it->second;
        }
        return nullptr;
    }
    size_t size() const { return size_; }

  private:
    using Key = std::array<uint8_t, 16>;
    struct KeyHash {
        size_t operator()(const Key& k) const { return hash_bytes(k, 0x51); }
    };
    static Key masked(const IpAddress& a, unsigned len) { return a.masked(len).bytes; }
    std::map<unsigned, std::unordered_map<Key, V, KeyHash>, std::greater<>> v4_, v6_;
    size_t size_ = 0;
};

}  // namespace sluice
