#include "common/digest.h"

#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace sluice {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

std::array<uint8_t, 20> sha1(std::span<const uint8_t> data) {
    std::array<uint8_t, 20> out{};
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, data.data(), data.size());
    SHA1_Final(out.data(), &c);
    return out;
}

std::array<uint8_t, 32> sha256(std::span<const uint8_t> data) {
    std::array<uint8_t, 32> out{};
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data.data(), data.size());
    SHA256_Final(out.data(), &c);
    return out;
}

std::array<uint8_t, 16> md5(std::span<const uint8_t> data) {
    std::array<uint8_t, 16> out{};
    MD5_CTX c;
    MD5_Init(&c);
    MD5_Update(&c, data.data(), data.size());
    MD5_Final(out.data(), &c);
    return out;
}

static_assert(sizeof(SHA256_CTX) == 112, "HmacSha256::kCtxSize must match SHA256_CTX");

HmacSha256::HmacSha256(std::span<const uint8_t> key) {
    std::array<uint8_t, 64> k{};
    if (key.size() > 64) {
        const auto h = sha256(key);
        std::copy(h.begin(), h.end(), k.begin());
    } else {
        std::copy(key.begin(), key.end(), k.begin());
    }
    std::array<uint8_t, 64> pad;
    SHA256_CTX c;
    for (size_t i = 0; i < 64; ++i) pad[i] = k[i] ^ 0x36;
    SHA256_Init(&c);
    SHA256_Update(&c, pad.data(), pad.size());
    std::memcpy(inner_, &c, sizeof c);
    for (size_t i = 0; i < 64; ++i) pad[i] = k[i] ^ 0x5c;
    SHA256_Init(&c);
    SHA256_Update(&c, pad.data(), pad.size());
    std::memcpy(outer_, &c, sizeof c);
    OPENSSL_cleanse(k.data(), k.size());
    OPENSSL_cleanse(pad.data(), pad.size());
}

std::array<uint8_t, 32> HmacSha256::mac(std::span<const uint8_t> message) const {
    std::array<uint8_t, 32> inner_hash, out;
    SHA256_CTX c;
    std::memcpy(&c, inner_, sizeof c);
    SHA256_Update(&c, message.data(), message.size());
    SHA256_Final(inner_hash.data(), &c);
    std::memcpy(&c, outer_, sizeof c);
    SHA256_Update(&c, inner_hash.data(), inner_hash.size());
    SHA256_Final(out.data(), &c);
    OPENSSL_cleanse(&c, sizeof c);
    return out;
}

#pragma GCC diagnostic pop

size_t to_hex(std::span<const uint8_t> in, std::span<char> out) {
    static constexpr char kHex[] = "0123456789abcdef";
    size_t n = 0;
    for (uint8_t b : in) {
        if (n + 2 > out.size()) break;
        out[n++] = kHex[b >> 4];
        out[n++] = kHex[b & 15];
    }
    return n;
}

}  // namespace sluice
