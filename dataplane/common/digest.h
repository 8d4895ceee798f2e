// One-shot message digests that do not allocate. OpenSSL 3.0's EVP digests allocate a provider
// context per init, which a worker must not do per flow; the low-level API (deprecated but
// supported throughout 3.x) hashes on the stack.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice {

std::array<uint8_t, 20> sha1(std::span<const uint8_t> data);
std::array<uint8_t, 32> sha256(std::span<const uint8_t> data);
std::array<uint8_t, 16> md5(std::span<const uint8_t> data);

inline std::span<const uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// HMAC-SHA256 (RFC 2104) with the key's inner and outer states computed once, so each MAC
// costs two SHA-256 passes and no allocation. Used for account ids (keyed hashes of API keys).
class HmacSha256 {
  public:
    explicit HmacSha256(std::span<const uint8_t> key);
    std::array<uint8_t, 32> mac(std::span<const uint8_t> message) const;

  private:
    static constexpr size_t kCtxSize = 112;  // sizeof(SHA256_CTX), checked in digest.cc
    alignas(8) unsigned char inner_[kCtxSize];
    alignas(8) unsigned char outer_[kCtxSize];
};

// The value of one hex digit, or -1.
constexpr int hex_value(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

// Lower-case hex of `in` into `out` (2 chars per byte, no NUL); returns chars written.
size_t to_hex(std::span<const uint8_t> in, std::span<char> out);

}  // namespace sluice
