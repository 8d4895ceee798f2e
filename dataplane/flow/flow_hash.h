// The keyed, symmetric flow hash: SipHash-2-4 with a 128-bit output (libsodium's
// crypto_shorthash_siphashx24) over the canonical FlowKey, so both directions of a connection
// hash alike. One half picks the flow-table bucket, the other the worker: independent bits, so
// flows that share a worker do not also share buckets. Live runs draw the key at random (an
// attacker who cannot learn it cannot aim collisions at one bucket or one worker); offline runs
// use a fixed, configurable key so their output stays byte-identical.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "flow/flow_key.h"

namespace sluice {

struct FlowHashKey {
    std::array<uint8_t, 16> bytes{};

    // The fixed key of offline runs (public: determinism, not secrecy).
    static FlowHashKey fixed();
    // A key from the operating system's random source.
    static FlowHashKey random();
    // 32 hex digits.
    static std::optional<FlowHashKey> from_hex(std::string_view hex);
    std::string hex() const;
    bool operator==(const FlowHashKey&) const = default;
};

struct FlowHashes {
    uint64_t table = 0;   // flow-table bucket (and the flow's stored hash)
    uint64_t worker = 0;  // worker selection
};

FlowHashes flow_hashes(const FlowKey& k, const FlowHashKey& key);

}  // namespace sluice
