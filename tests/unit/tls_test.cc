#include <gtest/gtest.h>

#include <pcap/pcap.h>
#include <nlohmann/json.hpp>
#include <set>

#include <string>
#include <vector>

#include "craft/frame_builder.h"
#include "decode/decoder.h"
#include "engine/pipeline.h"
#include "tls/fingerprint.h"
#include "tls/hello.h"

using namespace sluice;

namespace {

// The TLS payload of the single ClientHello in the JA4 conformance capture tls12.pcap.
std::vector<uint8_t> conformance_client_hello() {
    const std::string path = std::string(SLUICE_CONFORMANCE) + "/tls12.pcap";
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    if (p == nullptr) return {};
    pcap_pkthdr* h;
    const u_char* d;
    std::vector<uint8_t> out;
    if (pcap_next_ex(p, &h, &d) == 1) {
        const auto pkt = decode_frame({d, h->caplen}, LinkType::Ethernet);
        out.assign(pkt.payload.begin(), pkt.payload.end());
    }
    pcap_close(p);
    return out;
}

constexpr const char* kJa4 = "t13d1715h2_5b57614c22b0_3d5424432f57";

struct Sink final : EventSink {
    std::vector<nlohmann::json> tls;
    bool emit(EveOrder, std::string_view json) override {
        auto j = nlohmann::json::parse(json);
        if (j["event_type"] == "tls") tls.push_back(j);
        return true;
    }
};
struct NoInject final : Injector {
    void inject(bool, std::span<const uint8_t>) override {}
};

// Sends `chunks` as consecutive client segments of one TCP connection; returns tls records.
std::vector<nlohmann::json> run_client_segments(const std::vector<std::vector<uint8_t>>& chunks) {
    EngineConfig cfg;
    cfg.flow_capacity = 16;
    cfg.reassembly_nodes = 16;
    cfg.tls.handshake_buffers = 2;
    cfg.tls.decrypt_sessions = 2;
    Sink sink;
    NoInject inj;
    Pipeline p(cfg, 0, &sink);
    craft::FrameSpec c2s;
    uint32_t seq = 100;
    uint64_t t = 1'000'000'000, n = 0;
    auto send = [&](uint8_t flags, std::span<const uint8_t> data) {
        const auto f = craft::tcp_frame(c2s, {50000, 443, seq, 1, flags, 65535, {}}, data);
        seq += static_cast<uint32_t>(data.size()) + ((flags & tcp_flag::kSyn) ? 1 : 0);
        p.process(PacketInput{f, LinkType::Ethernet, Timestamp{t += 1000}, n++}, inj);
    };
    send(tcp_flag::kSyn, {});
    for (const auto& c : chunks) send(0x18, c);
    p.finish(Timestamp{t});
    return sink.tls;
}

}  // namespace

// The conformance captures live in ../shared, which a plain clone does not have: skip with the
// marker line that tools/setup/test_summary.py lists under the suite's closing line.
#define SKIP_WITHOUT_CONFORMANCE(rec)                                                   \
    if ((rec).empty())                                                                  \
        GTEST_SKIP() << "sluice-skip: "                                                 \
                     << ::testing::UnitTest::GetInstance()->current_test_info()->name() \
                     << ": " SLUICE_CONFORMANCE                                         \
                        "/tls12.pcap is absent (a clone without ../shared)";            \
    ASSERT_GT((rec).size(), 100u)

TEST(TlsHello, ParsesConformanceClientHello) {
    const auto rec = conformance_client_hello();
    SKIP_WITHOUT_CONFORMANCE(rec);
    tls::ClientHello ch;
    ASSERT_EQ(tls::parse_client_hello(std::span<const uint8_t>(rec).subspan(9), ch),
              tls::ParseStatus::Ok);
    EXPECT_EQ(ch.sni, "contile.services.mozilla.com");
    EXPECT_EQ(ch.legacy_version, 0x0303);
    EXPECT_EQ(ch.ciphers.size(), 17u);
    EXPECT_EQ(ch.extension_count, 15u);
    auto fp = std::make_unique<tls::Fingerprints>();
    tls::compute_fingerprints(ch, *fp);
    EXPECT_EQ(fp->ja4, kJa4);
    EXPECT_EQ(fp->ja3.substr(0, 4), "771,");
    EXPECT_EQ(fp->ja3_hash.size(), 32u);
}

TEST(TlsHello, EveryTruncationIsMalformedNeverOk) {
    const auto rec = conformance_client_hello();
    SKIP_WITHOUT_CONFORMANCE(rec);
    const std::span<const uint8_t> body = std::span<const uint8_t>(rec).subspan(9);
    for (size_t n = 0; n < body.size(); ++n) {
        std::vector<uint8_t> cut(body.begin(), body.begin() + static_cast<long>(n));
        tls::ClientHello ch;
        // Cutting exactly before the extensions block leaves a valid extension-less hello.
        const auto st = tls::parse_client_hello(cut, ch);
        if (st == tls::ParseStatus::Ok) {
            EXPECT_EQ(ch.extension_count, 0u) << n;
        }
    }
}

TEST(TlsHello, GreaseIsRecognised) {
    EXPECT_TRUE(tls::is_grease(0x0a0a));
    EXPECT_TRUE(tls::is_grease(0xfafa));
    EXPECT_FALSE(tls::is_grease(0x0a1a));
    EXPECT_FALSE(tls::is_grease(0x1301));
}

TEST(TlsInspector, SameFingerprintAtEverySegmentBoundary) {
    const auto rec = conformance_client_hello();
    SKIP_WITHOUT_CONFORMANCE(rec);
    // One pipeline, one flow per cut (a pipeline per cut spent minutes under ASan building
    // pools): every flow is independent, so each cut is still its own handshake.
    EngineConfig cfg;
    cfg.flow_capacity = 4096;
    cfg.reassembly_nodes = 4096;
    cfg.tls.handshake_buffers =
        1024;  // every flow's hello waits for a ServerHello that never comes
    cfg.tls.decrypt_sessions = 2;
    Sink sink;
    NoInject inj;
    Pipeline p(cfg, 0, &sink);
    uint64_t t = 1'000'000'000, n = 0;
    for (size_t cut = 1; cut < rec.size(); ++cut) {
        craft::FrameSpec c2s;
        const uint16_t port = static_cast<uint16_t>(10000 + cut);
        uint32_t seq = 100;
        auto send = [&](uint8_t flags, std::span<const uint8_t> data) {
            const auto f = craft::tcp_frame(c2s, {port, 443, seq, 1, flags, 65535, {}}, data);
            seq += static_cast<uint32_t>(data.size()) + ((flags & tcp_flag::kSyn) ? 1 : 0);
            p.process(PacketInput{f, LinkType::Ethernet, Timestamp{t += 1000}, n++}, inj);
        };
        send(tcp_flag::kSyn, {});
        send(0x18, std::span<const uint8_t>(rec).first(cut));
        send(0x18, std::span<const uint8_t>(rec).subspan(cut));
    }
    p.finish(Timestamp{t});
    // One record per cut (its flow's client port names the cut), each the same fingerprint.
    std::set<uint64_t> cuts;
    for (const auto& r : sink.tls) {
        cuts.insert(r["src_port"].get<uint64_t>() - 10000);
        ASSERT_EQ(r["tls"]["ja4"], kJa4) << "cut " << r["src_port"].get<uint64_t>() - 10000;
        ASSERT_EQ(r["tls"]["sni"], "contile.services.mozilla.com");
    }
    EXPECT_EQ(sink.tls.size(), rec.size() - 1);
    EXPECT_EQ(cuts.size(), rec.size() - 1);
}

TEST(TlsInspector, HelloSplitAcrossRecords) {
    const auto rec = conformance_client_hello();
    SKIP_WITHOUT_CONFORMANCE(rec);
    const std::vector<uint8_t> hs(rec.begin() + 5, rec.end());
    for (size_t cut : {1ul, 3ul, 4ul, 100ul, hs.size() - 1}) {
        std::vector<uint8_t> two;
        for (auto [from, to] : {std::pair{size_t{0}, cut}, std::pair{cut, hs.size()}}) {
            const size_t len = to - from;
            two.insert(two.end(), {0x16, 0x03, 0x01, static_cast<uint8_t>(len >> 8),
                                   static_cast<uint8_t>(len)});
            two.insert(two.end(), hs.begin() + static_cast<long>(from),
                       hs.begin() + static_cast<long>(to));
        }
        const auto tls = run_client_segments({two});
        ASSERT_EQ(tls.size(), 1u) << cut;
        EXPECT_EQ(tls[0]["tls"]["ja4"], kJa4) << cut;
    }
}

TEST(TlsInspector, MalformedHelloIsCountedNotLogged) {
    auto rec = conformance_client_hello();
    SKIP_WITHOUT_CONFORMANCE(rec);
    rec[9 + 2 + 32] = 0xff;  // session id length runs past the message
    EngineConfig cfg;
    Sink sink;
    NoInject inj;
    Pipeline p(cfg, 0, &sink);
    craft::FrameSpec c2s;
    const auto syn = craft::tcp_frame(c2s, {50000, 443, 1, 0, tcp_flag::kSyn, 65535, {}}, {});
    const auto data = craft::tcp_frame(c2s, {50000, 443, 2, 1, 0x18, 65535, {}}, rec);
    p.process(PacketInput{syn, LinkType::Ethernet, Timestamp{1}, 0}, inj);
    p.process(PacketInput{data, LinkType::Ethernet, Timestamp{2}, 1}, inj);
    p.finish(Timestamp{3});
    EXPECT_TRUE(sink.tls.empty());
    EXPECT_EQ(p.tls_counters().malformed, 1u);
    EXPECT_EQ(p.tls_counters().sessions, 1u);
}
