// QUIC Initial visibility. Anchored on the RFCs' own vectors: RFC 9001 Appendix A (keys, the
// client Initial packet of A.2 byte for byte) and RFC 9369 Appendix A.1 (version 2 keys). The
// test's sealer must reproduce A.2's protected packet exactly before it is trusted to build the
// split, reordered, coalesced and Retry cases; the stage then runs in a whole Pipeline.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "pipeline_harness.h"
#include "quic/initial_frames.h"
#include "quic/initial_protection.h"
#include "quic/quic_packet.h"
#include "tls/fingerprint.h"
#include "tls/hello.h"

namespace sluice::testing {
namespace {

using namespace sluice::quic;

std::vector<uint8_t> hex(std::string s) {
    std::erase_if(s, [](char c) { return c == ' ' || c == '\n'; });
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < s.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
    return out;
}

template <size_t N>
std::vector<uint8_t> v(const std::array<uint8_t, N>& a) {
    return {a.begin(), a.end()};
}

// RFC 9001 A.2: the client's CRYPTO frame (a ClientHello for example.com, ALPN "alpn").
const std::string kCryptoA2 =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";
const std::string kHeaderA2 = "c300000001088394c8f03e5157080000449e00000002";
const std::string kProtectedA2 =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934";
const std::vector<uint8_t> kDcid = hex("8394c8f03e515708");

// A.2's payload: the CRYPTO frame, PADDING up to 1162 bytes.
std::vector<uint8_t> payload_a2() {
    auto p = hex(kCryptoA2);
    p.resize(1162, 0);
    return p;
}

// Protects `header` (unprotected, its packet number last, pn_len bytes) + `payload` as RFC
// 9001 section 5 says: AEAD first, then header protection from the ciphertext's sample.
std::vector<uint8_t> seal(const InitialKeys& k, std::vector<uint8_t> header, size_t pn_len,
                          const std::vector<uint8_t>& payload) {
    uint64_t pn = 0;
    for (size_t i = header.size() - pn_len; i < header.size(); ++i) pn = pn << 8 | header[i];
    uint8_t nonce[12];
    std::memcpy(nonce, k.iv.data(), 12);
    for (size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
    std::vector<uint8_t> out = header;
    out.resize(header.size() + payload.size() + 16);
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    EXPECT_EQ(EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, k.key.data(), nonce), 1);
    EXPECT_EQ(EVP_EncryptUpdate(c, nullptr, &n, header.data(), static_cast<int>(header.size())), 1);
    EXPECT_EQ(EVP_EncryptUpdate(c, out.data() + header.size(), &n, payload.data(),
                                static_cast<int>(payload.size())),
              1);
    EXPECT_EQ(EVP_EncryptFinal_ex(c, out.data() + header.size() + n, &f), 1);
    EXPECT_EQ(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
                                  out.data() + header.size() + payload.size()),
              1);
    EVP_CIPHER_CTX_free(c);
    const size_t pn_offset = header.size() - pn_len;
    uint8_t mask[32];
    c = EVP_CIPHER_CTX_new();
    EXPECT_EQ(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, k.hp.data(), nullptr), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    EXPECT_EQ(EVP_EncryptUpdate(c, mask, &n, out.data() + pn_offset + 4, 16), 1);
    EVP_CIPHER_CTX_free(c);
    out[0] ^= mask[0] & 0x0f;
    for (size_t i = 0; i < pn_len; ++i) out[pn_offset + i] ^= mask[1 + i];
    return out;
}

void put_varint(std::vector<uint8_t>& b, uint64_t x) {  // the 2-byte or 4-byte forms
    if (x < 0x4000) {
        b.push_back(static_cast<uint8_t>(0x40 | x >> 8));
        b.push_back(static_cast<uint8_t>(x));
    } else {
        for (int s : {24, 16, 8, 0})
            b.push_back(static_cast<uint8_t>((s == 24 ? 0x80 : 0) | ((x >> s) & 0xff)));
    }
}

// A client Initial (version 1 or 2) to `dcid` carrying `frames`, padded to 1162 bytes of
// payload, packet number `pn` in 4 bytes.
std::vector<uint8_t> client_initial(uint32_t version, const std::vector<uint8_t>& dcid,
                                    std::vector<uint8_t> frames, uint32_t pn) {
    frames.resize(std::max<size_t>(frames.size(), 1162), 0);
    std::vector<uint8_t> h{static_cast<uint8_t>(version == kVersion2 ? 0xd3 : 0xc3)};
    for (int s : {24, 16, 8, 0}) h.push_back(static_cast<uint8_t>(version >> s));
    h.push_back(static_cast<uint8_t>(dcid.size()));
    h.insert(h.end(), dcid.begin(), dcid.end());
    h.push_back(0);  // no source connection id
    h.push_back(0);  // no token
    put_varint(h, frames.size() + 4 + 16);
    for (int s : {24, 16, 8, 0}) h.push_back(static_cast<uint8_t>(pn >> s));
    InitialKeys k;
    EXPECT_TRUE(derive_initial_keys(version, dcid, true, k));
    return seal(k, h, 4, frames);
}

std::vector<uint8_t> crypto_frame(size_t offset, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> f{0x06};
    put_varint(f, offset);
    put_varint(f, data.size());
    f.insert(f.end(), data.begin(), data.end());
    return f;
}

// The ClientHello message of A.2 (handshake header included): the CRYPTO frame's data.
std::vector<uint8_t> hello_a2() {
    const auto f = hex(kCryptoA2);
    return {f.begin() + 4, f.end()};  // type 0x06, offset 0x00, length 0x40f1
}

struct Udp {
    FrameSpec c2s, s2c;
    uint16_t cport = 50000;
    Udp() {
        c2s.proto = s2c.proto = 17;
        s2c.src = c2s.dst;
        s2c.dst = c2s.src;
    }
    std::vector<uint8_t> client(const std::vector<uint8_t>& d) {
        return craft::udp_frame(c2s, cport, 443, d);
    }
    std::vector<uint8_t> server(const std::vector<uint8_t>& d) {
        return craft::udp_frame(s2c, 443, cport, d);
    }
};

std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST(QuicInitial, KeysAreRfc9001AndRfc9369Vectors) {
    InitialKeys c, s, c2;
    ASSERT_TRUE(derive_initial_keys(kVersion1, kDcid, true, c));
    ASSERT_TRUE(derive_initial_keys(kVersion1, kDcid, false, s));
    ASSERT_TRUE(derive_initial_keys(kVersion2, kDcid, true, c2));
    EXPECT_EQ(v(c.key), hex("1f369613dd76d5467730efcbe3b1a22d"));
    EXPECT_EQ(v(c.iv), hex("fa044b2f42a3fd3b46fb255c"));
    EXPECT_EQ(v(c.hp), hex("9f50449e04a0e810283a1e9933adedd2"));
    EXPECT_EQ(v(s.key), hex("cf3a5331653c364c88f0f379b6067e37"));
    EXPECT_EQ(v(s.iv), hex("0ac1493ca1905853b0bba03e"));
    EXPECT_EQ(v(s.hp), hex("c206b8d9b9f0f37644430b490eeaa314"));
    EXPECT_EQ(v(c2.key), hex("8b1a0bc121284290a29e0971b5cd045d"));
    EXPECT_EQ(v(c2.iv), hex("91f73e2351d8fa91660e909f"));
    EXPECT_EQ(v(c2.hp), hex("45b95e15235d6f45a6b19cbcb0294ba9"));
    EXPECT_FALSE(derive_initial_keys(0xff00001d, kDcid, true, c));
}

TEST(QuicInitial, OpensTheRfc9001ClientInitial) {
    InitialKeys k;
    ASSERT_TRUE(derive_initial_keys(kVersion1, kDcid, true, k));
    // The test's sealer reproduces the RFC's protected packet: it may build the other cases.
    ASSERT_EQ(seal(k, hex(kHeaderA2), 4, payload_a2()), hex(kProtectedA2));
    auto packet = hex(kProtectedA2);
    LongHeader h;
    ASSERT_EQ(parse_long_header(packet, h), HeaderStatus::Ok);
    EXPECT_EQ(h.type, PacketType::Initial);
    EXPECT_EQ(std::vector<uint8_t>(h.dcid.begin(), h.dcid.end()), kDcid);
    EXPECT_EQ(h.packet_len, packet.size());
    InitialOpener o;
    std::span<const uint8_t> frames;
    uint64_t pn = 0;
    ASSERT_TRUE(o.open(k, packet, h.pn_offset, frames, pn));
    EXPECT_EQ(pn, 2u);
    EXPECT_EQ(std::vector<uint8_t>(frames.begin(), frames.end()), payload_a2());
    EXPECT_EQ(std::vector<uint8_t>(packet.begin(), packet.begin() + 22), hex(kHeaderA2));
    // One flipped bit anywhere in the protected payload: the tag refuses it.
    for (size_t i = 22; i < hex(kProtectedA2).size(); i += 97) {
        auto bad = hex(kProtectedA2);
        bad[i] ^= 0x10;
        EXPECT_FALSE(o.open(k, bad, h.pn_offset, frames, pn)) << "byte " << i;
    }
}

TEST(QuicInitial, CryptoFramesReassembleInAnyOrder) {
    const auto hello = hello_a2();
    std::vector<uint8_t> buf(CryptoAssembler::kCapacity);
    CryptoAssembler a;
    // Three pieces, last first, with an overlap that carries other bytes (first wins).
    std::vector<uint8_t> frames = crypto_frame(150, {hello.begin() + 150, hello.end()});
    std::vector<uint8_t> liar(60, 'X');
    auto f2 = crypto_frame(100, liar);
    frames.insert(frames.end(), f2.begin(), f2.end());
    bool over = false;
    ASSERT_EQ(add_initial_frames(frames, a, buf, over), FramesStatus::Ok);
    EXPECT_EQ(a.contiguous(), 0u);
    auto f3 = crypto_frame(0, {hello.begin(), hello.begin() + 120});
    ASSERT_EQ(add_initial_frames(f3, a, buf, over), FramesStatus::Ok);
    EXPECT_EQ(a.contiguous(), hello.size());
    // Bytes 100..150 came from the liar first: first bytes win, as in TCP reassembly.
    EXPECT_EQ(buf[110], 'X');
    EXPECT_EQ(buf[155], hello[155]);
    EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 100),
              std::vector<uint8_t>(hello.begin(), hello.begin() + 100));
    EXPECT_FALSE(over);
    // A frame type that has no place in an Initial (STREAM) stops the parse.
    std::vector<uint8_t> stream{0x08, 0x00};
    EXPECT_EQ(add_initial_frames(stream, a, buf, over), FramesStatus::NotAllowed);
    EXPECT_EQ(
        add_initial_frames(crypto_frame(CryptoAssembler::kCapacity - 2, {1, 2, 3}), a, buf, over),
        FramesStatus::Ok);
    EXPECT_TRUE(over);
}

// The RFC's packet in a UDP datagram through a whole pipeline: one quic record whose JA4 is
// the TLS JA4 of the same hello with the transport letter q.
TEST(QuicStage, LogsTheClientHelloOfAnInitial) {
    Harness h;
    Udp u;
    EXPECT_EQ(h.feed(u.client(hex(kProtectedA2))), Disposition::Forward);
    h.p->finish(Timestamp{h.t + 1});
    const auto q = h.sink.of_type("quic");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0]["app_proto"], "quic");
    EXPECT_EQ(q[0]["quic"]["version"], "1");
    EXPECT_EQ(q[0]["quic"]["sni"], "example.com");
    EXPECT_EQ(q[0]["quic"]["alpn"], "alpn");
    const auto hello = hello_a2();
    tls::ClientHello ch;
    ASSERT_EQ(tls::parse_client_hello({hello.data() + 4, hello.size() - 4}, ch),
              tls::ParseStatus::Ok);
    tls::Fingerprints fp;
    tls::compute_fingerprints(ch, fp);
    std::string want(fp.ja4);
    ASSERT_EQ(want[0], 't');
    want[0] = 'q';
    EXPECT_EQ(q[0]["quic"]["ja4"], want);
    EXPECT_EQ(h.p->quic_counters()[QuicCtr::Hellos], 1u);
    EXPECT_EQ(h.p->audit(), "");
}

// Each hello goes to the correlator as a QuicHello observation: its client address and the
// hash of its JA4, no account.
TEST(QuicStage, HellosBecomeObservations) {
    struct Sink final : account::ObservationSink {
        std::vector<account::Observation> seen;
        void observe(const account::Observation& o) override { seen.push_back(o); }
    } sink;
    Harness h;
    h.p->set_observation_sink(&sink);
    Udp u;
    h.feed(u.client(hex(kProtectedA2)));
    ASSERT_EQ(sink.seen.size(), 1u);
    EXPECT_EQ(sink.seen[0].kind, account::ObservationKind::QuicHello);
    EXPECT_FALSE(sink.seen[0].has_account);
    EXPECT_EQ(sink.seen[0].src, u.c2s.src);
    const auto q = h.sink.of_type("quic");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(sink.seen[0].ja4_hash, account::hash_item(q[0]["quic"]["ja4"].get<std::string>()));
}

// A hello split over two Initial packets, CRYPTO frames out of order, in every arrangement:
// separate datagrams either way round, and both coalesced in one; version 1 and 2.
TEST(QuicStage, SplitReorderedAndCoalescedHellos) {
    const auto hello = hello_a2();
    const size_t half = hello.size() / 2;
    for (uint32_t version : {kVersion1, kVersion2}) {
        const auto first = client_initial(
            version, kDcid, crypto_frame(half, {hello.begin() + half, hello.end()}), 0);
        const auto second = client_initial(
            version, kDcid, crypto_frame(0, {hello.begin(), hello.begin() + half}), 1);
        std::vector<std::vector<std::vector<uint8_t>>> layouts = {
            {first, second}, {second, first}, {cat(first, second)}};
        for (size_t l = 0; l < layouts.size(); ++l) {
            SCOPED_TRACE("version " + std::to_string(version) + " layout " + std::to_string(l));
            Harness h;
            Udp u;
            for (const auto& d : layouts[l]) h.feed(u.client(d));
            h.p->finish(Timestamp{h.t + 1});
            const auto q = h.sink.of_type("quic");
            ASSERT_EQ(q.size(), 1u);
            EXPECT_EQ(q[0]["quic"]["version"], version == kVersion2 ? "2" : "1");
            EXPECT_EQ(q[0]["quic"]["sni"], "example.com");
            EXPECT_EQ(h.p->quic_counters()[QuicCtr::DecryptFailures], 0u);
            EXPECT_EQ(h.p->audit(), "");
        }
    }
}

// After a Retry the client's Initials go to the new connection id, under keys derived from it.
TEST(QuicStage, RetryChangesTheKeys) {
    const auto hello = hello_a2();
    const std::vector<uint8_t> odcid = hex("0102030405060708"), fresh = hex("a1a2a3a4a5a6a7a8");
    Harness h;
    Udp u;
    // The first flight carries only a PING (an unfinished hello, say); then the Retry.
    h.feed(u.client(client_initial(kVersion1, odcid, {0x01}, 0)));
    std::vector<uint8_t> retry{0xf0, 0, 0, 0, 1, 0, static_cast<uint8_t>(fresh.size())};
    retry.insert(retry.end(), fresh.begin(), fresh.end());
    retry.insert(retry.end(), {'t', 'o', 'k', 'e', 'n'});
    retry.resize(retry.size() + 16, 0x5a);  // integrity tag (not checked)
    h.feed(u.server(retry));
    h.feed(u.client(client_initial(kVersion1, fresh, crypto_frame(0, hello), 1)));
    h.p->finish(Timestamp{h.t + 1});
    ASSERT_EQ(h.sink.of_type("quic").size(), 1u);
    EXPECT_EQ(h.p->quic_counters()[QuicCtr::Retries], 1u);
    EXPECT_EQ(h.p->audit(), "");
}

// quic.action: block drops the Initial and the rest of the flow; the hello is still logged.
TEST(QuicStage, BlockDropsQuicFlows) {
    EngineConfig cfg;
    cfg.quic.action = QuicAction::Block;
    Harness h(cfg);
    Udp u;
    EXPECT_EQ(h.feed(u.client(hex(kProtectedA2))), Disposition::Drop);
    EXPECT_EQ(h.feed(u.client({0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9})), Disposition::Drop);
    // Other UDP (a DNS query) is not QUIC and passes.
    Udp dns;
    dns.cport = 53000;
    EXPECT_EQ(h.feed(craft::udp_frame(dns.c2s, 53000, 53, std::vector<uint8_t>(40, 7))),
              Disposition::Forward);
    h.p->finish(Timestamp{h.t + 1});
    const auto q = h.sink.of_type("quic");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0]["quic"]["action"], "blocked");
    EXPECT_EQ(h.p->quic_counters()[QuicCtr::Blocked], 1u);
}

// Handshakes that stop half-way hold a slot only until a newcomer needs it (after
// reclaim_after_ms); hostile datagrams never crash and every slot comes back.
TEST(QuicStage, IdleHalfHellosAreReclaimedAndGarbageIsCounted) {
    EngineConfig cfg;
    cfg.quic.sessions = 1;
    cfg.quic.reclaim_after_ms = 1;
    Harness h(cfg);
    const auto hello = hello_a2();
    Udp a, b;
    b.cport = 50001;
    h.feed(a.client(
        client_initial(kVersion1, kDcid, crypto_frame(0, {hello.begin(), hello.begin() + 50}), 0)));
    h.t += 5'000'000;  // 5 ms later
    h.feed(b.client(hex(kProtectedA2)));
    EXPECT_EQ(h.p->quic_counters()[QuicCtr::Reclaimed], 1u);
    EXPECT_EQ(h.sink.of_type("quic").size(), 1u);
    h.p->finish(Timestamp{h.t + 1});
    EXPECT_EQ(h.p->pools().quic_sessions, 0u);  // every slot back after the flows ended
    EXPECT_EQ(h.p->audit(), "");
}

// On a handshake in progress, truncated packets, flipped bits and a second hello that
// disagrees: counted, never a crash, never a second record; unrelated UDP is left alone.
TEST(QuicStage, HostileDatagramsAreCounted) {
    Harness h;
    const auto hello = hello_a2();
    Udp a;
    h.feed(a.client(
        client_initial(kVersion1, kDcid, crypto_frame(0, {hello.begin(), hello.begin() + 50}), 0)));
    const auto p = hex(kProtectedA2);
    for (size_t n = 1; n < p.size(); n += 37) h.feed(a.client({p.begin(), p.begin() + long(n)}));
    EXPECT_GT(h.p->quic_counters()[QuicCtr::Malformed], 0u);
    for (size_t i = 30; i < p.size(); i += 101) {
        auto bad = p;
        bad[i] ^= 0x04;
        h.feed(a.client(bad));
    }
    EXPECT_GT(h.p->quic_counters()[QuicCtr::DecryptFailures], 0u);
    EXPECT_TRUE(h.sink.of_type("quic").empty());
    h.feed(a.client(p));  // the whole hello at last (its first 50 bytes already agree)
    EXPECT_EQ(h.sink.of_type("quic").size(), 1u);
    h.feed(a.client(p));  // once logged, the flow is done
    Udp other;
    other.cport = 52000;
    for (size_t n = 1; n < p.size(); n += 37) {
        other.cport++;
        h.feed(other.client({p.begin(), p.begin() + long(n)}));  // truncated: not QUIC
    }
    h.p->finish(Timestamp{h.t + 1});
    EXPECT_EQ(h.sink.of_type("quic").size(), 1u);
    EXPECT_EQ(h.p->pools().quic_sessions, 0u);
    EXPECT_EQ(h.p->audit(), "");
}

}  // namespace sluice::testing
