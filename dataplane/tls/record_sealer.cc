#include "tls/record_sealer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

namespace sluice::tls {

RecordSealer::RecordSealer() : ctx_(EVP_CIPHER_CTX_new()) {}

RecordSealer::~RecordSealer() {
    reset();
    EVP_CIPHER_CTX_free(ctx_);
}

void RecordSealer::reset() {
    OPENSSL_cleanse(&keys_, sizeof keys_);
    seq_ = 0;
    active_ = false;
}

bool RecordSealer::init(const SuiteInfo& s, const TrafficKeys& keys, uint64_t seq) {
    suite_ = s;
    keys_ = keys;
    seq_ = seq;
    active_ = ctx_ != nullptr &&
              EVP_EncryptInit_ex(ctx_, aead_cipher(s.aead), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1 &&
              EVP_EncryptInit_ex(ctx_, nullptr, nullptr, keys_.key.data(), nullptr) == 1;
    return active_;
}

size_t RecordSealer::seal(uint8_t type, std::span<const uint8_t> plain, std::span<uint8_t> out) {
    constexpr size_t kTag = 16;
    if (!active_ || plain.size() > 16384) return 0;
    const bool tls13 = suite_.tls13;
    const bool explicit_nonce = !tls13 && suite_.aead != Aead::Chacha20Poly1305;
    const size_t inner = plain.size() + (tls13 ? 1 : 0);  // TLS 1.3: the real content type
    const size_t body = (explicit_nonce ? 8 : 0) + inner + kTag;
    if (out.size() < 5 + body) return 0;
    uint8_t* p = out.data();
    // TLS 1.3 records all say application data; the type is inside.
    p[0] = tls13 ? kAppData : type;
    p[1] = 3;
    p[2] = 3;
    p[3] = static_cast<uint8_t>(body >> 8);
    p[4] = static_cast<uint8_t>(body);
    uint8_t seq_be[8];
    for (int i = 0; i < 8; ++i) seq_be[i] = static_cast<uint8_t>(seq_ >> (56 - 8 * i));
    uint8_t nonce[12];
    uint8_t* ct = p + 5;
    if (explicit_nonce) {
        std::memcpy(nonce, keys_.iv.data(), 4);
        std::memcpy(nonce + 4, seq_be, 8);
        std::memcpy(ct, seq_be, 8);
        ct += 8;
    } else {
        std::memcpy(nonce, keys_.iv.data(), 12);
        for (int i = 0; i < 8; ++i) nonce[4 + i] ^= seq_be[i];
    }
    uint8_t aad[13];
    size_t aad_len;
    if (tls13) {
        std::memcpy(aad, p, 5);
        aad_len = 5;
    } else {
        std::memcpy(aad, seq_be, 8);
        aad[8] = type;
        aad[9] = 3;
        aad[10] = 3;
        aad[11] = static_cast<uint8_t>(plain.size() >> 8);
        aad[12] = static_cast<uint8_t>(plain.size());
        aad_len = 13;
    }
    // The plaintext (and TLS 1.3's content type) is encrypted in place in `out`.
    std::memcpy(ct, plain.data(), plain.size());
    if (tls13) ct[plain.size()] = type;
    int len = 0, fin = 0;
    if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_EncryptUpdate(ctx_, nullptr, &len, aad, static_cast<int>(aad_len)) != 1 ||
        EVP_EncryptUpdate(ctx_, ct, &len, ct, static_cast<int>(inner)) != 1 ||
        EVP_EncryptFinal_ex(ctx_, ct + len, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTag, ct + inner) != 1)
        return 0;
    ++seq_;
    return 5 + body;
}

}  // namespace sluice::tls
