#include "common/digest.h"

#include <openssl/md5.h>
#include <openssl/sha.h>

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
