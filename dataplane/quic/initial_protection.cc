#include "quic/initial_protection.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string_view>

#include "quic/quic_packet.h"
#include "tls/record_cipher.h"

namespace sluice::quic {
namespace {

// RFC 9001 section 5.2 and RFC 9369 section 3.3.1.
constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

struct Labels {
    std::string_view key, iv, hp;
};
constexpr Labels kLabelsV1{"quic key", "quic iv", "quic hp"};
constexpr Labels kLabelsV2{"quicv2 key", "quicv2 iv", "quicv2 hp"};

}  // namespace

bool derive_initial_keys(uint32_t version, std::span<const uint8_t> dcid, bool client,
                         InitialKeys& out) {
    if (!known_version(version)) return false;
    const uint8_t* salt = version == kVersion2 ? kSaltV2 : kSaltV1;
    const Labels& l = version == kVersion2 ? kLabelsV2 : kLabelsV1;
    // HKDF-Extract(salt, cid) is HMAC-SHA256 keyed with the salt (RFC 5869 section 2.2).
    uint8_t initial[32], secret[32];
    unsigned len = 0;
    if (HMAC(EVP_sha256(), salt, 20, dcid.data(), dcid.size(), initial, &len) == nullptr ||
        len != sizeof initial)
        return false;
    using tls::Hash;
    const bool ok = tls::hkdf_expand_label(Hash::Sha256, initial,
                                           client ? "client in" : "server in", {}, secret) &&
                    tls::hkdf_expand_label(Hash::Sha256, secret, l.key, {}, out.key) &&
                    tls::hkdf_expand_label(Hash::Sha256, secret, l.iv, {}, out.iv) &&
                    tls::hkdf_expand_label(Hash::Sha256, secret, l.hp, {}, out.hp);
    OPENSSL_cleanse(initial, sizeof initial);
    OPENSSL_cleanse(secret, sizeof secret);
    return ok;
}

InitialOpener::InitialOpener() : ecb_(EVP_CIPHER_CTX_new()), gcm_(EVP_CIPHER_CTX_new()) {}

InitialOpener::~InitialOpener() {
    EVP_CIPHER_CTX_free(ecb_);
    EVP_CIPHER_CTX_free(gcm_);
}

bool InitialOpener::open(const InitialKeys& k, std::span<uint8_t> packet, size_t pn_offset,
                         std::span<const uint8_t>& frames, uint64_t& packet_number) {
    constexpr size_t kSample = 16, kTag = 16;
    // The sample starts 4 bytes after the packet number's start, whatever its length (RFC
    // 9001 section 5.4.2).
    if (ecb_ == nullptr || gcm_ == nullptr || packet.size() < pn_offset + 4 + kSample) return false;
    uint8_t mask[16];
    int n = 0;
    if (EVP_EncryptInit_ex(ecb_, EVP_aes_128_ecb(), nullptr, k.hp.data(), nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ecb_, 0) != 1 ||
        EVP_EncryptUpdate(ecb_, mask, &n, packet.data() + pn_offset + 4, kSample) != 1 || n != 16)
        return false;
    packet[0] ^= mask[0] & 0x0f;  // long header: the low four bits are protected
    const size_t pn_len = (packet[0] & 0x03) + 1;
    packet_number = 0;
    for (size_t i = 0; i < pn_len; ++i) {
        packet[pn_offset + i] ^= mask[1 + i];
        packet_number = packet_number << 8 | packet[pn_offset + i];
    }
    const size_t header = pn_offset + pn_len;
    if (packet.size() < header + kTag) return false;
    uint8_t nonce[12];
    std::memcpy(nonce, k.iv.data(), sizeof nonce);
    for (size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(packet_number >> (8 * i));
    uint8_t* body = packet.data() + header;
    const int body_len = static_cast<int>(packet.size() - header - kTag);
    int out = 0, fin = 0;
    const bool ok =
        EVP_DecryptInit_ex(gcm_, EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1 &&
        EVP_CIPHER_CTX_ctrl(gcm_, EVP_CTRL_GCM_SET_IVLEN, sizeof nonce, nullptr) == 1 &&
        EVP_DecryptInit_ex(gcm_, nullptr, nullptr, k.key.data(), nonce) == 1 &&
        EVP_DecryptUpdate(gcm_, nullptr, &out, packet.data(), static_cast<int>(header)) == 1 &&
        EVP_DecryptUpdate(gcm_, body, &out, body, body_len) == 1 &&
        EVP_CIPHER_CTX_ctrl(gcm_, EVP_CTRL_GCM_SET_TAG, kTag, body + body_len) == 1 &&
        EVP_DecryptFinal_ex(gcm_, body + out, &fin) == 1;
    if (!ok) return false;
    frames = {body, static_cast<size_t>(out + fin)};
    return true;
}

}  // namespace sluice::quic
