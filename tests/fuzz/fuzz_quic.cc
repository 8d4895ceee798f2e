// The QUIC stage alone over datagrams of one flow. Input: chunks of [u8 control][u16 length,
// big-endian][bytes]. Control bit 0: the server's direction; bit 1: the bytes are a plaintext
// Initial payload (frames) that the harness seals into a client Initial under the right keys, so
// the frame parser, the CRYPTO assembler and the hello parser are reached past the AEAD (random
// bytes never carry a valid tag); otherwise they are the datagram itself. Every datagram is an
// exact-size heap copy so AddressSanitizer sees any overread. Seeds: the Initial datagrams of
// the ngtcp2 captures and RFC 9001's client Initial (tests/fuzz/seeds/quic/make-seeds.sh).
#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "quic/initial_protection.h"
#include "quic/quic_inspector.h"

namespace {

using namespace sluice;

struct NullSink final : EventSink {
    bool emit(EveOrder, std::string_view json) override { return !json.empty(); }
};

const uint8_t kDcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

// RFC 9001 section 5: AEAD, then header protection (the unit test checks the same steps
// against Appendix A.2 byte for byte).
std::vector<uint8_t> seal(std::vector<uint8_t> frames, uint32_t pn) {
    quic::InitialKeys k;
    quic::derive_initial_keys(quic::kVersion1, kDcid, true, k);
    frames.resize(std::max<size_t>(frames.size(), 1162), 0);
    std::vector<uint8_t> h = {0xc3, 0, 0, 0, 1, 8};
    for (uint8_t b : kDcid) h.push_back(b);
    const size_t len = frames.size() + 4 + 16;
    h.insert(h.end(), {0, 0, static_cast<uint8_t>(0x40 | len >> 8), static_cast<uint8_t>(len)});
    for (int s : {24, 16, 8, 0}) h.push_back(static_cast<uint8_t>(pn >> s));
    uint8_t nonce[12];
    std::memcpy(nonce, k.iv.data(), 12);
    for (size_t i = 0; i < 4; ++i) nonce[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
    std::vector<uint8_t> out = h;
    out.resize(h.size() + frames.size() + 16);
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int n = 0;
    EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, k.key.data(), nonce);
    EVP_EncryptUpdate(c, nullptr, &n, h.data(), static_cast<int>(h.size()));
    EVP_EncryptUpdate(c, out.data() + h.size(), &n, frames.data(), static_cast<int>(frames.size()));
    EVP_EncryptFinal_ex(c, out.data() + h.size() + n, &n);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out.data() + h.size() + frames.size());
    EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, k.hp.data(), nullptr);
    EVP_CIPHER_CTX_set_padding(c, 0);
    uint8_t mask[32];
    EVP_EncryptUpdate(c, mask, &n, out.data() + h.size() - 4 + 4, 16);
    EVP_CIPHER_CTX_free(c);
    out[0] ^= mask[0] & 0x0f;
    for (size_t i = 0; i < 4; ++i) out[h.size() - 4 + i] ^= mask[1 + i];
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static NullSink sink;
    static EveEmitter eve(&sink, 0);
    static const quic::QuicOptions opts = [] {
        quic::QuicOptions o;
        o.sessions = 2;
        return o;
    }();
    static quic::QuicInspector inspector(eve, opts);
    Flow f;
    f.flow_id = 1;
    size_t i = 0;
    uint32_t pn = 0;
    while (i + 3 <= size) {
        const uint8_t ctl = data[i];
        const size_t len = std::min<size_t>(size - i - 3, size_t{data[i + 1]} << 8 | data[i + 2]);
        i += 3;
        std::vector<uint8_t> d(data + i, data + i + len);
        i += len;
        if (ctl & 2) d = seal(std::move(d), pn++);
        std::unique_ptr<uint8_t[]> copy(new uint8_t[d.size() ? d.size() : 1]);
        if (!d.empty()) std::memcpy(copy.get(), d.data(), d.size());
        inspector.on_datagram(f, (ctl & 1) ? Dir::ToClient : Dir::ToServer, {copy.get(), d.size()});
    }
    inspector.on_flow_end(f);
    if (inspector.sessions_in_use() != 0) __builtin_trap();  // every slot comes back
    return 0;
}
