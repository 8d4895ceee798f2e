// TLS key schedules and AEAD record decryption (OpenSSL EVP).
//   TLS 1.3: HKDF-Expand-Label for traffic keys and KeyUpdate (RFC 8446 7.1-7.3).
//   TLS 1.2: the PRF's key expansion from the master secret (RFC 5246 6.3, RFC 5288, RFC 7905).
// Tags are always verified; a failed record is reported, never delivered.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_cipher_st EVP_CIPHER;

namespace sluice::tls {

enum class Hash : uint8_t { Sha256, Sha384 };
enum class Aead : uint8_t { Aes128Gcm, Aes256Gcm, Chacha20Poly1305 };

struct SuiteInfo {
    Aead aead;
    Hash hash;
    bool tls13;
    size_t key_len() const { return aead == Aead::Aes128Gcm ? 16 : 32; }
    // TLS 1.2 GCM uses a 4-byte implicit salt plus an 8-byte explicit nonce per record.
    size_t fixed_iv_len() const { return (!tls13 && aead != Aead::Chacha20Poly1305) ? 4 : 12; }
};

// Suites sluice decrypts: TLS 1.3 AES-GCM and ChaCha20-Poly1305; TLS 1.2 (EC)DHE and RSA
// key exchange with AES-GCM and ChaCha20-Poly1305. nullopt for anything else.
std::optional<SuiteInfo> suite_info(uint16_t suite);
size_t hash_len(Hash h);
// The OpenSSL cipher of an AEAD (record_cipher.cc and record_sealer.cc).
const EVP_CIPHER* aead_cipher(Aead a);

bool hkdf_expand_label(Hash h, std::span<const uint8_t> secret, std::string_view label,
                       std::span<const uint8_t> context, std::span<uint8_t> out);
bool tls12_prf(Hash h, std::span<const uint8_t> secret, std::string_view label,
               std::span<const uint8_t> seed, std::span<uint8_t> out);

struct TrafficKeys {
    std::array<uint8_t, 32> key{};
    std::array<uint8_t, 12> iv{};
};

// TLS 1.3: key and iv from a traffic secret.
bool tls13_traffic_keys(const SuiteInfo& s, std::span<const uint8_t> secret, TrafficKeys& out);
// TLS 1.3 KeyUpdate: the next traffic secret (written over `secret`).
bool tls13_next_secret(Hash h, std::span<uint8_t> secret);
// TLS 1.2: client and server write keys from the master secret and the two randoms.
bool tls12_keys(const SuiteInfo& s, std::span<const uint8_t> master,
                std::span<const uint8_t> client_random, std::span<const uint8_t> server_random,
                TrafficKeys& client, TrafficKeys& server);

// Decrypts the records of one direction. Owns its EVP context (allocated once).
class RecordDecryptor {
  public:
    RecordDecryptor();
    ~RecordDecryptor();
    RecordDecryptor(const RecordDecryptor&) = delete;
    RecordDecryptor& operator=(const RecordDecryptor&) = delete;

    bool init(const SuiteInfo& s, const TrafficKeys& keys);  // also resets the sequence number
    bool active() const { return active_; }
    void reset();  // forget keys, keep the EVP context for reuse

    // `header` is the 5-byte record header, `body` the record fragment; plaintext is written
    // into `out` (at least body.size() bytes). For TLS 1.3 the inner content type is
    // returned in `content_type` and padding removed. Returns the plaintext length or -1
    // when the tag does not verify.
    long decrypt(std::span<const uint8_t, 5> header, std::span<const uint8_t> body,
                 std::span<uint8_t> out, uint8_t& content_type);
    uint64_t seq() const { return seq_; }
    const SuiteInfo& suite() const { return suite_; }
    const TrafficKeys& keys() const { return keys_; }

  private:
    EVP_CIPHER_CTX* ctx_;
    SuiteInfo suite_{};
    TrafficKeys keys_{};
    uint64_t seq_ = 0;
    bool active_ = false;
};

}  // namespace sluice::tls
