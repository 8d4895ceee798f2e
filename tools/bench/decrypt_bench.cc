// sluice-bench-decrypt: TLS 1.3 record decryption throughput of one core, per AEAD, through
// sluice's RecordDecryptor (nonce construction, AAD, tag check, inner type). Records are
// encrypted here with OpenSSL first. Prints one JSON object; tools/bench/decrypt.py compares
// it with `openssl speed -evp` in the same invocation.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "tls/record_cipher.h"

using namespace sluice::tls;

namespace {

std::vector<std::vector<uint8_t>> make_records(const SuiteInfo& s, const TrafficKeys& k, size_t n,
                                               size_t len) {
    const EVP_CIPHER* c = s.aead == Aead::Aes128Gcm   ? EVP_aes_128_gcm()
                          : s.aead == Aead::Aes256Gcm ? EVP_aes_256_gcm()
                                                      : EVP_chacha20_poly1305();
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t> plain(len + 1, 0x41);
    plain.back() = 23;  // inner content type: application data
    for (uint64_t seq = 0; seq < n; ++seq) {
        const size_t body = plain.size() + 16;
        std::vector<uint8_t> rec(5 + body);
        rec[0] = 23, rec[1] = 3, rec[2] = 3, rec[3] = static_cast<uint8_t>(body >> 8),
        rec[4] = static_cast<uint8_t>(body);
        uint8_t nonce[12];
        std::copy(k.iv.begin(), k.iv.end(), nonce);
        for (int i = 0; i < 8; ++i) nonce[4 + i] ^= static_cast<uint8_t>(seq >> (56 - 8 * i));
        int l = 0;
        EVP_EncryptInit_ex(ctx, c, nullptr, k.key.data(), nonce);
        EVP_EncryptUpdate(ctx, nullptr, &l, rec.data(), 5);
        EVP_EncryptUpdate(ctx, rec.data() + 5, &l, plain.data(), static_cast<int>(plain.size()));
        EVP_EncryptFinal_ex(ctx, rec.data() + 5 + l, &l);
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, rec.data() + 5 + plain.size());
        out.push_back(std::move(rec));
    }
    EVP_CIPHER_CTX_free(ctx);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const size_t len = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 16384;
    const double seconds = argc > 2 ? std::strtod(argv[2], nullptr) : 2.0;
    struct {
        const char* name;
        uint16_t suite;
    } cases[] = {{"aes-128-gcm", 0x1301}, {"aes-256-gcm", 0x1302}, {"chacha20-poly1305", 0x1303}};
    std::printf("{");
    bool first = true;
    for (const auto& c : cases) {
        const SuiteInfo s = *suite_info(c.suite);
        TrafficKeys k;
        RAND_bytes(k.key.data(), static_cast<int>(k.key.size()));
        RAND_bytes(k.iv.data(), static_cast<int>(k.iv.size()));
        const size_t n = 256;
        const auto records = make_records(s, k, n, len);
        std::vector<uint8_t> out(len + 64);
        uint64_t bytes = 0;
        const auto start = std::chrono::steady_clock::now();
        double elapsed = 0;
        while (elapsed < seconds) {
            RecordDecryptor d;
            d.init(s, k);
            for (const auto& r : records) {
                uint8_t type = 0;
                const long got = d.decrypt(std::span<const uint8_t, 5>(r.data(), 5),
                                           {r.data() + 5, r.size() - 5}, out, type);
                if (got != static_cast<long>(len) || type != 23) {
                    std::fprintf(stderr, "decryption failed\n");
                    return 1;
                }
                bytes += static_cast<uint64_t>(got);
            }
            elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
        std::printf("%s\"%s\": %.3f", first ? "" : ", ", c.name, double(bytes) / elapsed / 1e9);
        first = false;
    }
    std::printf("}\n");
    return 0;
}
