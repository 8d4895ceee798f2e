#include "tls/record_cipher.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstring>

namespace sluice::tls {
namespace {

const char* digest_name(Hash h) {
    return h == Hash::Sha256 ? "SHA256" : "SHA384";
}

bool kdf(const char* name, Hash h, std::span<const uint8_t> key,
         std::span<const uint8_t> info_or_seed, bool hkdf, std::span<uint8_t> out) {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, name, nullptr);
    if (k == nullptr) return false;
    EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(k);
    EVP_KDF_free(k);
    if (ctx == nullptr) return false;
    OSSL_PARAM params[5];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                   const_cast<char*>(digest_name(h)), 0);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    if (hkdf) {
        params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key.data()), key.size());
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info_or_seed.data()), info_or_seed.size());
    } else {
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(key.data()), key.size());
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_SEED, const_cast<uint8_t*>(info_or_seed.data()), info_or_seed.size());
    }
    params[n] = OSSL_PARAM_construct_end();
    const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok;
}

}  // namespace

const EVP_CIPHER* aead_cipher(Aead a) {
    switch (a) {
        case Aead::Aes128Gcm:
            return EVP_aes_128_gcm();
        case Aead::Aes256Gcm:
            return EVP_aes_256_gcm();
        case Aead::Chacha20Poly1305:
            return EVP_chacha20_poly1305();
    }
    return nullptr;
}

std::optional<SuiteInfo> suite_info(uint16_t suite) {
    switch (suite) {
        case 0x1301:
            return SuiteInfo{Aead::Aes128Gcm, Hash::Sha256, true};
        case 0x1302:
            return SuiteInfo{Aead::Aes256Gcm, Hash::Sha384, true};
        case 0x1303:
            return SuiteInfo{Aead::Chacha20Poly1305, Hash::Sha256, true};
        case 0xc02f:  // ECDHE-RSA-AES128-GCM-SHA256
        case 0xc02b:  // ECDHE-ECDSA-AES128-GCM-SHA256
        case 0x009c:  // RSA-AES128-GCM-SHA256
        case 0x009e:  // DHE-RSA-AES128-GCM-SHA256
            return SuiteInfo{Aead::Aes128Gcm, Hash::Sha256, false};
        case 0xc030:
        case 0xc02c:
        case 0x009d:
        case 0x009f:
            return SuiteInfo{Aead::Aes256Gcm, Hash::Sha384, false};
        case 0xcca8:  // ECDHE-RSA-CHACHA20-POLY1305
        case 0xcca9:  // ECDHE-ECDSA-CHACHA20-POLY1305
        case 0xccaa:  // DHE-RSA-CHACHA20-POLY1305
            return SuiteInfo{Aead::Chacha20Poly1305, Hash::Sha256, false};
        default:
            return std::nullopt;
    }
}

size_t hash_len(Hash h) {
    return h == Hash::Sha256 ? 32 : 48;
}

bool hkdf_expand_label(Hash h, std::span<const uint8_t> secret, std::string_view label,
                       std::span<const uint8_t> context, std::span<uint8_t> out) {
    // struct { uint16 length; opaque label<7..255> = "tls13 " + label; opaque context<0..255>; }
    uint8_t info[2 + 1 + 255 + 1 + 255];
    const size_t full = 6 + label.size();
    if (full > 255 || context.size() > 255 || out.size() > 0xffff) return false;
    size_t n = 0;
    info[n++] = static_cast<uint8_t>(out.size() >> 8);
    info[n++] = static_cast<uint8_t>(out.size());
    info[n++] = static_cast<uint8_t>(full);
    std::memcpy(info + n, "tls13 ", 6);
    n += 6;
    std::memcpy(info + n, label.data(), label.size());
    n += label.size();
    info[n++] = static_cast<uint8_t>(context.size());
    if (!context.empty()) std::memcpy(info + n, context.data(), context.size());
    n += context.size();
    return kdf("HKDF", h, secret, {info, n}, true, out);
}

bool tls12_prf(Hash h, std::span<const uint8_t> secret, std::string_view label,
               std::span<const uint8_t> seed, std::span<uint8_t> out) {
    uint8_t buf[256];
    if (label.size() + seed.size() > sizeof buf) return false;
    std::memcpy(buf, label.data(), label.size());
    std::memcpy(buf + label.size(), seed.data(), seed.size());
    return kdf("TLS1-PRF", h, secret, {buf, label.size() + seed.size()}, false, out);
}

bool tls13_traffic_keys(const SuiteInfo& s, std::span<const uint8_t> secret, TrafficKeys& out) {
    return hkdf_expand_label(s.hash, secret, "key", {}, {out.key.data(), s.key_len()}) &&
           hkdf_expand_label(s.hash, secret, "iv", {}, {out.iv.data(), 12});
}

bool tls13_next_secret(Hash h, std::span<uint8_t> secret) {
    uint8_t next[48];
    if (secret.size() != hash_len(h) ||
        !hkdf_expand_label(h, secret, "traffic upd", {}, {next, secret.size()}))
        return false;
    std::memcpy(secret.data(), next, secret.size());
    OPENSSL_cleanse(next, sizeof next);
    return true;
}

bool tls12_keys(const SuiteInfo& s, std::span<const uint8_t> master,
                std::span<const uint8_t> client_random, std::span<const uint8_t> server_random,
                TrafficKeys& client, TrafficKeys& server) {
    // key_block = PRF(master, "key expansion", server_random + client_random); AEAD suites
    // have no MAC keys: client_key, server_key, client_iv, server_iv.
    uint8_t seed[64];
    if (client_random.size() != 32 || server_random.size() != 32) return false;
    std::memcpy(seed, server_random.data(), 32);
    std::memcpy(seed + 32, client_random.data(), 32);
    const size_t k = s.key_len(), iv = s.fixed_iv_len();
    uint8_t block[2 * 32 + 2 * 12];
    if (!tls12_prf(s.hash, master, "key expansion", seed, {block, 2 * k + 2 * iv})) return false;
    std::memcpy(client.key.data(), block, k);
    std::memcpy(server.key.data(), block + k, k);
    std::memcpy(client.iv.data(), block + 2 * k, iv);
    std::memcpy(server.iv.data(), block + 2 * k + iv, iv);
    OPENSSL_cleanse(block, sizeof block);
    return true;
}

RecordDecryptor::RecordDecryptor() : ctx_(EVP_CIPHER_CTX_new()) {}

RecordDecryptor::~RecordDecryptor() {
    EVP_CIPHER_CTX_free(ctx_);
    OPENSSL_cleanse(&keys_, sizeof keys_);
}

void RecordDecryptor::reset() {
    OPENSSL_cleanse(&keys_, sizeof keys_);
    seq_ = 0;
    active_ = false;
}

bool RecordDecryptor::init(const SuiteInfo& s, const TrafficKeys& keys) {
    suite_ = s;
    keys_ = keys;
    seq_ = 0;
    active_ = ctx_ != nullptr &&
              EVP_DecryptInit_ex(ctx_, aead_cipher(s.aead), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1 &&
              EVP_DecryptInit_ex(ctx_, nullptr, nullptr, keys_.key.data(), nullptr) == 1;
    return active_;
}

long RecordDecryptor::decrypt(std::span<const uint8_t, 5> header, std::span<const uint8_t> body,
                              std::span<uint8_t> out, uint8_t& content_type) {
    constexpr size_t kTag = 16;
    uint8_t nonce[12];
    std::span<const uint8_t> ct = body;
    const bool explicit_nonce = !suite_.tls13 && suite_.aead != Aead::Chacha20Poly1305;
    if (explicit_nonce) {
        if (body.size() < 8 + kTag) return -1;
        std::memcpy(nonce, keys_.iv.data(), 4);
        std::memcpy(nonce + 4, body.data(), 8);
        ct = body.subspan(8);
    } else {
        if (body.size() < kTag) return -1;
        std::memcpy(nonce, keys_.iv.data(), 12);
        for (int i = 0; i < 8; ++i) nonce[4 + i] ^= static_cast<uint8_t>(seq_ >> (56 - 8 * i));
    }
    const size_t plain_len = ct.size() - kTag;
    if (out.size() < plain_len) return -1;
    uint8_t aad[13];
    size_t aad_len;
    if (suite_.tls13) {
        std::memcpy(aad, header.data(), 5);
        aad_len = 5;
    } else {
        for (int i = 0; i < 8; ++i) aad[i] = static_cast<uint8_t>(seq_ >> (56 - 8 * i));
        aad[8] = header[0];
        aad[9] = header[1];
        aad[10] = header[2];
        aad[11] = static_cast<uint8_t>(plain_len >> 8);
        aad[12] = static_cast<uint8_t>(plain_len);
        aad_len = 13;
    }
    int len = 0, fin = 0;
    if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_DecryptUpdate(ctx_, nullptr, &len, aad, static_cast<int>(aad_len)) != 1 ||
        EVP_DecryptUpdate(ctx_, out.data(), &len, ct.data(), static_cast<int>(plain_len)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTag,
                            const_cast<uint8_t*>(ct.data() + plain_len)) != 1 ||
        EVP_DecryptFinal_ex(ctx_, out.data() + len, &fin) != 1)
        return -1;
    ++seq_;
    size_t n = plain_len;
    if (suite_.tls13) {
        while (n > 0 && out[n - 1] == 0) --n;  // padding
        if (n == 0) return -1;                 // no inner content type: malformed
        content_type = out[--n];
    } else {
        content_type = header[0];
    }
    return static_cast<long>(n);
}

}  // namespace sluice::tls
