#include "flow/flow_hash.h"

#include <sodium/crypto_shorthash_siphash24.h>
#include <sys/random.h>

#include <cstring>

namespace sluice {

static_assert(crypto_shorthash_siphashx24_KEYBYTES == 16 &&
              crypto_shorthash_siphashx24_BYTES == 16);

FlowHashKey FlowHashKey::fixed() {
    FlowHashKey k;
    static constexpr char kText[] = "sluice-flowhash!";  // 16 bytes
    std::memcpy(k.bytes.data(), kText, 16);
    return k;
}

FlowHashKey FlowHashKey::random() {
    FlowHashKey k;
    size_t got = 0;
    while (got < k.bytes.size()) {
        const ssize_t n = getrandom(k.bytes.data() + got, k.bytes.size() - got, 0);
        if (n > 0) got += static_cast<size_t>(n);
    }
    return k;
}

std::optional<FlowHashKey> FlowHashKey::from_hex(std::string_view hex) {
    if (hex.size() != 32) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    FlowHashKey k;
    for (size_t i = 0; i < 16; ++i) {
        const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        k.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return k;
}

std::string FlowHashKey::hex() const {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : bytes) {
        s += kDigits[b >> 4];
        s += kDigits[b & 15];
    }
    return s;
}

FlowHashes flow_hashes(const FlowKey& k, const FlowHashKey& key) {
    uint8_t buf[16 + 16 + 2 + 2 + 1 + 2 + 1];
    std::memcpy(buf, k.lo.addr.bytes.data(), 16);
    std::memcpy(buf + 16, k.hi.addr.bytes.data(), 16);
    std::memcpy(buf + 32, &k.lo.port, 2);
    std::memcpy(buf + 34, &k.hi.port, 2);
    buf[36] = k.proto;
    std::memcpy(buf + 37, &k.vlan, 2);
    buf[39] = static_cast<uint8_t>(k.lo.addr.version);
    uint8_t out[16];
    crypto_shorthash_siphashx24(out, buf, sizeof buf, key.bytes.data());
    FlowHashes h;
    std::memcpy(&h.table, out, 8);
    std::memcpy(&h.worker, out + 8, 8);
    return h;
}

}  // namespace sluice
