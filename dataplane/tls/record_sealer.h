// Seals TLS records in the name of one side of a session whose keys sluice holds (the answer
// to a stopped request, sent as the server would send it). TLS 1.3: the inner content type
// appended, the nonce the IV XOR the record sequence number, the record header as additional
// data (RFC 8446 5.2-5.3). TLS 1.2 GCM: an 8-byte explicit nonce (the sequence number, as
// OpenSSL does) after the 4-byte salt, sequence number, type, version and length as additional
// data (RFC 5288); ChaCha20-Poly1305 without an explicit nonce (RFC 7905). Keys are wiped when
// the sealer is reset or destroyed.
#pragma once

#include <cstdint>
#include <span>

#include "tls/record_cipher.h"

namespace sluice::tls {

class RecordSealer {
  public:
    // Header, TLS 1.2 explicit nonce, TLS 1.3 inner content type, tag.
    static constexpr size_t kOverhead = 5 + 8 + 1 + 16;
    static constexpr uint8_t kAppData = 23, kAlert = 21;

    RecordSealer();
    ~RecordSealer();
    RecordSealer(const RecordSealer&) = delete;
    RecordSealer& operator=(const RecordSealer&) = delete;

    // The sender's suite, keys and the sequence number of its next record.
    bool init(const SuiteInfo& s, const TrafficKeys& keys, uint64_t seq);
    void reset();
    // One record of `type` holding `plain` (at most 16384 bytes) into `out`; returns its
    // length (0: not initialised, too long, or `out` too small). Advances the sequence number.
    size_t seal(uint8_t type, std::span<const uint8_t> plain, std::span<uint8_t> out);
    uint64_t seq() const { return seq_; }

  private:
    EVP_CIPHER_CTX* ctx_;
    SuiteInfo suite_{};
    TrafficKeys keys_{};
    uint64_t seq_ = 0;
    bool active_ = false;
};

}  // namespace sluice::tls
