// Bounded state: hostile traffic (HelloRetryRequests, half-sent hellos, random flows, gzip
// bombs) returns every pool to its baseline, and a normal client that follows is inspected.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <random>

#include <string>
#include <vector>

#include "account/correlator.h"
#include "correlator_fixtures.h"
#include "craft/frame_builder.h"
#include "decode/decoder.h"
#include "engine/pipeline.h"
#include "pipeline_harness.h"
#include "support/gzip.h"
#include "tls/keylog.h"
#include "tls/secret_feed.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

std::vector<std::vector<uint8_t>> read_capture(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE];
    std::vector<std::vector<uint8_t>> out;
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    if (p == nullptr) return out;
    pcap_pkthdr* h;
    const u_char* d;
    while (pcap_next_ex(p, &h, &d) == 1) out.emplace_back(d, d + h->caplen);
    pcap_close(p);
    return out;
}

// The same frames with the client's port (the SYN sender's) replaced, checksums fixed.
std::vector<std::vector<uint8_t>> with_client_port(const std::vector<std::vector<uint8_t>>& in,
                                                   uint16_t client, uint16_t port) {
    std::vector<std::vector<uint8_t>> out = in;
    for (auto& f : out) {
        const auto pkt = decode_frame(f, LinkType::Ethernet);
        if (!pkt.is_tcp()) continue;
        const size_t off = pkt.src_port == client ? pkt.l4_offset : pkt.l4_offset + 2u;
        f[off] = static_cast<uint8_t>(port >> 8);
        f[off + 1] = static_cast<uint8_t>(port);
        craft::fix_checksums(std::span<uint8_t>(f).subspan(pkt.l3_offset));
    }
    return out;
}

// After a flood: a normal client's request with the test rule's content is still inspected
// and alerted, once (the run is finished here).
void expect_normal_request_alerted(Harness& h) {
    Conversation c;
    c.cport = 55555;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    h.feed(
        c.client(kPA, "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\nEVIL!"));
    h.p->finish(Timestamp{h.t});
    size_t alerts = 0;
    for (const auto& a : h.sink.of_type("alert")) alerts += a["alert"]["signature_id"] == 9001;
    EXPECT_EQ(alerts, 1u);
}

// The capture's key log as pushed secrets (what --keylog-follow sends to each worker).
size_t push_capture_secrets(tls::SecretFeed& feed) {
    std::FILE* fp = std::fopen(SLUICE_TEST_DATA "/tls/tls13-aes128gcm.keylog", "r");
    if (fp == nullptr) return 0;
    char line[512];
    size_t pushed = 0;
    while (std::fgets(line, sizeof line, fp)) {
        tls::SecretUpdate u;
        std::string_view l(line);
        while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.remove_suffix(1);
        if (tls::SecretStore::parse_line(l, u) == tls::SecretStore::LineResult::Added)
            pushed += feed.push(u);
    }
    std::fclose(fp);
    return pushed;
}

}  // namespace

// Every connection of a client that provokes a HelloRetryRequest must give its handshake buffer
// back once the handshake is done, not when the flow ends: 600 such connections, still open,
// would otherwise drain a pool of 512 and blind every later flow on the worker. With no key
// log, with the session's secrets, and waiting for secrets that never come (live key-log
// follow).
enum class Secrets { None, Loaded, Awaited };
class HelloRetry : public ::testing::TestWithParam<Secrets> {};
INSTANTIATE_TEST_SUITE_P(Bounds, HelloRetry,
                         ::testing::Values(Secrets::None, Secrets::Loaded, Secrets::Awaited),
                         [](const auto& i) {
                             return i.param == Secrets::None     ? "no_keylog"
                                    : i.param == Secrets::Loaded ? "keylog"
                                                                 : "awaited";
                         });

TEST_P(HelloRetry, DoesNotPinHandshakeBuffers) {
    const auto frames = read_capture(SLUICE_TEST_DATA "/tls/tls13-hrr-keyupdate.pcap");
    ASSERT_FALSE(frames.empty());
    const auto first = decode_frame(frames[0], LinkType::Ethernet);
    ASSERT_TRUE(first.has_flag(tcp_flag::kSyn));
    EngineConfig cfg;
    cfg.tls.handshake_buffers = 512;
    if (GetParam() != Secrets::None) {
        auto store = std::make_shared<tls::SecretStore>();
        size_t added = 0;
        if (GetParam() == Secrets::Loaded) {
            ASSERT_EQ(store->load_file(SLUICE_TEST_DATA "/tls/tls13-hrr-keyupdate.keylog", added),
                      "");
        }
        cfg.tls_secrets = store;
        cfg.tls.wait_for_secrets = GetParam() == Secrets::Awaited;
    }
    Harness h(cfg);
    for (uint16_t i = 0; i < 600; ++i) {
        // Everything but the closing packets: the connection stays open.
        const auto conn =
            with_client_port(frames, first.src_port, static_cast<uint16_t>(20000 + i));
        for (const auto& f : conn) {
            const auto pkt = decode_frame(f, LinkType::Ethernet);
            if (pkt.has_flag(tcp_flag::kFin) || pkt.has_flag(tcp_flag::kRst)) break;
            h.feed(f);
        }
    }
    // A session waiting for its secrets keeps its ClientHello until they come (its tls record
    // says whether decryption worked): bounded by the decryption sessions, never more.
    if (GetParam() == Secrets::Awaited)
        EXPECT_LE(h.p->pools().handshake_buffers, cfg.tls.decrypt_sessions);
    else
        EXPECT_EQ(h.p->pools().handshake_buffers, 0u);
    EXPECT_EQ(h.p->tls_counters().buffers_exhausted, 0u);
    EXPECT_EQ(h.p->tls_counters().client_hellos, 1200u);  // two per connection
    EXPECT_EQ(h.p->audit(), "");  // every buffer still held has its live owner
    h.p->finish(Timestamp{h.t});
    size_t with_ja4 = 0;
    for (const auto& r : h.sink.of_type("tls")) with_ja4 += r["tls"].contains("ja4");
    EXPECT_EQ(with_ja4, 1200u);
    PoolOccupancy held = h.p->pools();
    held.flows = 0;  // finish() reports flows, it does not remove them
    EXPECT_EQ(held, PoolOccupancy{});
}

// A flood of hostile state: half-sent hellos, random flows, gzip bombs. Afterwards every pool is
// back to its baseline, the caps moved their counters, and a normal request is still alerted.
TEST(Bounds, HostileFloodReturnsEveryPoolAndANormalClientIsInspected) {
    EngineConfig cfg;
    cfg.rules = evil_body_rule();
    cfg.tls.handshake_buffers = 64;
    cfg.http.decoders = 8;
    Harness h(cfg);
    const std::string bomb =
        deflate_bytes(std::string(12u << 20, 'A'));  // 12 MiB decoded from ~12 KiB
    std::string half_hello("\x16\x03\x01\x20\x00\x01\x00\x1f\xfc", 9);
    half_hello.append(40, 'h');
    for (uint32_t i = 0; i < 300; ++i) {
        Conversation c;
        c.cport = static_cast<uint16_t>(10000 + i);
        c.sport = i % 3 == 0 ? 443 : 80;
        h.feed(c.client(tcp_flag::kSyn));
        h.feed(c.server(tcp_flag::kSyn | kA));
        h.feed(c.client(kA));
        switch (i % 3) {
            case 0:  // a hello that never completes: header says 8 KiB, 40 bytes sent
                h.feed(c.client(kPA, half_hello));
                break;
            case 1: {  // a gzip bomb as a request body
                const std::string head =
                    "POST /v1/messages HTTP/1.1\r\nHost: api\r\n"
                    "Content-Encoding: gzip\r\nContent-Length: " +
                    std::to_string(bomb.size()) + "\r\n\r\n";
                h.feed(c.client(kPA, head));
                for (size_t off = 0; off < bomb.size(); off += 1400)
                    h.feed(c.client(kPA, bomb.substr(off, 1400)));
                break;
            }
            default:  // random bytes
                h.feed(c.client(kPA, std::string(200, static_cast<char>(i))));
                break;
        }
    }
    EXPECT_GT(h.p->http_counters().decompression_capped, 0u);
    // The idle half-sent hellos hold their buffers only while their flows live.
    h.t += 3600ull * 1'000'000'000ull;
    h.p->expire(Timestamp{h.t}, h.seq);
    EXPECT_EQ(h.p->pools(), PoolOccupancy{});
    EXPECT_EQ(h.p->audit(), "");
    expect_normal_request_alerted(h);
    PoolOccupancy held = h.p->pools();
    EXPECT_EQ(held.flows, 1u);
    held.flows = 0;
    EXPECT_EQ(held, PoolOccupancy{});
}

// Slow clients that each hold a handshake buffer with a hello they never finish cannot lock
// out a new client: under pressure the longest holder is taken back (counted, recorded, and
// its flow gets the configured verdict, drop on inline ports) and the newcomer is fingerprinted.
TEST(Bounds, IdlePartialHellosAreReclaimedOldestFirst) {
    EngineConfig cfg;
    cfg.tls.handshake_buffers = 8;
    cfg.tls.reclaim_verdict = Verdict::Drop;
    Harness h(cfg);
    std::vector<Conversation> slow(8);
    const std::string partial = std::string("\x16\x03\x01\x20\x00\x01\x00\x1f\xfc", 9) + "hh";
    for (size_t i = 0; i < slow.size(); ++i) {
        Conversation& c = slow[i];
        c.cport = static_cast<uint16_t>(30000 + i);
        c.sport = 443;
        h.feed(c.client(tcp_flag::kSyn));
        h.feed(c.server(tcp_flag::kSyn | kA));
        h.feed(c.client(kA));
        h.feed(c.client(kPA, partial));
        h.t += 100'000'000;  // the first is the oldest
    }
    EXPECT_EQ(h.p->pools().handshake_buffers, 8u);
    h.t += 2'000'000'000ull;
    std::vector<uint8_t> body;
    if (FILE* fp = std::fopen(SLUICE_TEST_DATA "/../fuzz/seeds/tls/ch0.bin", "rb")) {
        uint8_t b[4096];
        body.assign(b, b + std::fread(b, 1, sizeof b, fp));
        std::fclose(fp);
    }
    ASSERT_FALSE(body.empty());
    std::string hello = {0x16,
                         0x03,
                         0x01,
                         static_cast<char>((body.size() + 4) >> 8),
                         static_cast<char>(body.size() + 4),
                         0x01,
                         0,
                         static_cast<char>(body.size() >> 8),
                         static_cast<char>(body.size())};
    hello.append(body.begin(), body.end());
    Conversation fresh;
    fresh.cport = 40000;
    fresh.sport = 443;
    h.feed(fresh.client(tcp_flag::kSyn));
    h.feed(fresh.server(tcp_flag::kSyn | kA));
    h.feed(fresh.client(kA));
    h.feed(fresh.client(kPA, hello));
    EXPECT_EQ(h.p->tls_counters().buffers_reclaimed, 1u);
    EXPECT_EQ(h.p->tls_counters().buffers_exhausted, 0u);
    EXPECT_EQ(h.p->audit(), "");
    // The oldest slow client lost its slot and its flow is dropped; the others keep theirs.
    EXPECT_EQ(h.feed(slow[0].client(kPA, "more")), Disposition::Drop);
    EXPECT_EQ(h.feed(slow[1].client(kPA, "more")), Disposition::Forward);
    h.p->finish(Timestamp{h.t});
    bool fresh_logged = false;
    for (const auto& r : h.sink.of_type("tls"))
        fresh_logged |= r["src_port"] == 40000 && r["tls"].contains("ja4");
    EXPECT_TRUE(fresh_logged);
    size_t reclaimed = 0;
    for (const auto& a : h.sink.of_type("anomaly"))
        if (a["anomaly"]["event"] == "tls_handshake_reclaimed") {
            ++reclaimed;
            EXPECT_EQ(a["src_port"], 30000);
            EXPECT_EQ(a["anomaly"]["action"], "drop");
        }
    EXPECT_EQ(reclaimed, 1u);
}

namespace {

// The first TLS 1.3 connection of the repository's capture (OpenSSL client and server, with its
// key log), replayed with another client port: everything but its closing packets, or only those.
struct TlsReplay {
    std::vector<std::vector<uint8_t>> frames =
        read_capture(SLUICE_TEST_DATA "/tls/tls13-aes128gcm.pcap");
    uint16_t client = frames.empty() ? 0 : decode_frame(frames[0], LinkType::Ethernet).src_port;
    std::vector<std::vector<uint8_t>> part(uint16_t port, bool closing) const {
        std::vector<std::vector<uint8_t>> out;
        bool closed = false;
        std::vector<std::vector<uint8_t>> first;
        for (const auto& f : frames) {
            const auto pkt = decode_frame(f, LinkType::Ethernet);
            if (pkt.src_port == client || pkt.dst_port == client) first.push_back(f);
        }
        for (auto& f : with_client_port(first, client, port)) {
            const auto pkt = decode_frame(f, LinkType::Ethernet);
            closed |= pkt.has_flag(tcp_flag::kFin) || pkt.has_flag(tcp_flag::kRst);
            if (closed == closing) out.push_back(std::move(f));
        }
        return out;
    }
};

std::shared_ptr<tls::SecretStore> capture_secrets() {
    auto store = std::make_shared<tls::SecretStore>();
    size_t added = 0;
    EXPECT_EQ(store->load_file(SLUICE_TEST_DATA "/tls/tls13-aes128gcm.keylog", added), "");
    return store;
}

size_t http_records_of(const CollectSink& sink, uint16_t port) {
    size_t n = 0;
    for (const auto& r : sink.of_type("http")) n += r["src_port"] == port;
    return n;
}

}  // namespace

// Connections that hold a decryption session and then go quiet cannot lock the pool: when
// every session is in use, the one idle longest is taken back (counted, recorded, and its flow
// gets the configured verdict, drop on inline ports), and the newcomer is decrypted.
TEST(Bounds, IdleDecryptionSessionsAreReclaimedOldestFirst) {
    const TlsReplay tls;
    ASSERT_FALSE(tls.frames.empty());
    EngineConfig cfg;
    cfg.tls.decrypt_sessions = 4;
    cfg.tls.reclaim_verdict = Verdict::Drop;
    cfg.tls_secrets = capture_secrets();
    Harness h(cfg);
    for (uint16_t i = 0; i < 4; ++i) {
        for (const auto& f : tls.part(static_cast<uint16_t>(20000 + i), false)) h.feed(f);
        h.t += 100'000'000;  // the first goes quiet first
    }
    EXPECT_EQ(h.p->pools().decrypt_sessions, 4u);
    EXPECT_EQ(h.p->audit(), "");
    // Within reclaim_after_ms nobody is idle enough: the newcomer stays encrypted, counted.
    for (const auto& f : tls.part(20009, false)) h.feed(f);
    EXPECT_EQ(h.p->tls_counters().decrypt_reclaimed, 0u);
    EXPECT_EQ(h.p->tls_counters().decrypt_no_capacity, 1u);
    h.t += 2'000'000'000ull;
    for (const auto& f : tls.part(20010, false)) h.feed(f);
    EXPECT_EQ(h.p->tls_counters().decrypt_reclaimed, 1u);
    EXPECT_EQ(h.p->tls_counters().decrypt_no_capacity, 1u);
    EXPECT_EQ(h.p->pools().decrypt_sessions, 4u);
    EXPECT_EQ(h.p->audit(), "");
    // The reclaimed flow is dropped from now on; the others are untouched.
    EXPECT_EQ(h.feed(tls.part(20000, true).front()), Disposition::Drop);
    EXPECT_EQ(h.feed(tls.part(20001, true).front()), Disposition::Forward);
    h.p->finish(Timestamp{h.t});
    // The newcomer's requests were decrypted like any other connection's (not the refused one's).
    EXPECT_GT(http_records_of(h.sink, 20001), 0u);
    EXPECT_EQ(http_records_of(h.sink, 20010), http_records_of(h.sink, 20001));
    EXPECT_EQ(http_records_of(h.sink, 20009), 0u);
    size_t reclaimed = 0;
    for (const auto& a : h.sink.of_type("anomaly"))
        if (a["anomaly"]["event"] == "tls_decrypt_reclaimed") {
            ++reclaimed;
            EXPECT_EQ(a["src_port"], 20000);
            EXPECT_EQ(a["anomaly"]["action"], "drop");
            EXPECT_GE(a["anomaly"]["idle_ms"].get<uint64_t>(), 1000u);
        }
    EXPECT_EQ(reclaimed, 1u);
    EXPECT_EQ(h.p->audit(), "");
}

// A burst of short connections does not exhaust decryption: a session goes back to the pool
// when both directions of its connection ended, not when the flow record times out, so six
// connections in a row through two sessions are all decrypted.
TEST(Bounds, ClosedConnectionsGiveTheirDecryptionSessionsBack) {
    const TlsReplay tls;
    ASSERT_FALSE(tls.frames.empty());
    EngineConfig cfg;
    cfg.tls.decrypt_sessions = 2;
    cfg.tls_secrets = capture_secrets();
    Harness h(cfg);
    for (uint16_t i = 0; i < 6; ++i) {
        const auto port = static_cast<uint16_t>(21000 + i);
        for (const auto& f : tls.part(port, false)) h.feed(f);
        for (const auto& f : tls.part(port, true)) h.feed(f);
        EXPECT_EQ(h.p->pools().decrypt_sessions, 0u) << "connection " << i;
        EXPECT_EQ(h.p->audit(), "");
    }
    EXPECT_EQ(h.p->tls_counters().decrypt_no_capacity, 0u);
    EXPECT_EQ(h.p->tls_counters().decrypt_reclaimed, 0u);
    EXPECT_EQ(h.p->tls_counters().sessions_closed, 6u);
    h.p->finish(Timestamp{h.t});
    EXPECT_GT(http_records_of(h.sink, 21000), 0u);
    for (uint16_t i = 1; i < 6; ++i)
        EXPECT_EQ(http_records_of(h.sink, static_cast<uint16_t>(21000 + i)),
                  http_records_of(h.sink, 21000));
    for (const auto& r : h.sink.of_type("tls")) EXPECT_TRUE(r["tls"]["decrypted"].get<bool>());
}

// Live, a terminator exports a session's secrets a little after its handshake. A secret that
// arrives after the connection's last record is applied when it arrives: the queued records
// are decrypted and inspected at once, as many transactions as with the key log loaded up front.
TEST(Bounds, ASecretArrivingAfterTheLastRecordIsAppliedOnArrival) {
    const TlsReplay tls;
    ASSERT_FALSE(tls.frames.empty());
    size_t expected = 0;
    {
        EngineConfig cfg;
        cfg.tls_secrets = capture_secrets();
        Harness h(cfg);
        for (const auto& f : tls.part(20000, false)) h.feed(f);
        for (const auto& f : tls.part(20000, true)) h.feed(f);
        h.p->finish(Timestamp{h.t});
        expected = http_records_of(h.sink, 20000);
    }
    ASSERT_GT(expected, 0u);
    EngineConfig cfg;
    cfg.tls.wait_for_secrets = true;
    cfg.tls.pending_bytes = 1u << 20;  // the whole conversation queues up
    Harness h(cfg);
    tls::SecretFeed feed;
    h.p->attach_secret_feed(feed);
    for (const auto& f : tls.part(20000, false)) h.feed(f);
    h.p->poll_secrets(Timestamp{h.t});
    EXPECT_EQ(http_records_of(h.sink, 20000), 0u);
    EXPECT_EQ(h.p->pools().decrypt_sessions, 1u);
    ASSERT_GT(push_capture_secrets(feed), 0u);
    h.p->poll_secrets(Timestamp{h.t});
    EXPECT_EQ(h.p->tls_counters().secrets_on_arrival, 1u);
    EXPECT_EQ(h.p->tls_counters().late_secrets, 1u);
    EXPECT_EQ(http_records_of(h.sink, 20000), expected);  // before any further packet
    for (const auto& f : tls.part(20000, true)) h.feed(f);
    h.p->finish(Timestamp{h.t});
    EXPECT_EQ(http_records_of(h.sink, 20000), expected);
    const auto records = h.sink.of_type("tls");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0]["tls"]["decrypted"], true);
    EXPECT_EQ(h.p->audit(), "");
}

namespace {

bool carries_data(const std::vector<uint8_t>& f, uint16_t client_port) {
    const auto pkt = decode_frame(f, LinkType::Ethernet);
    return pkt.src_port == client_port && !pkt.payload.empty();
}

// Replays a connection inline: once a client segment is held, the server never got it, so its
// later frames (which acknowledge and answer it in the capture) are left out. Returns the held
// segments (what the client would retransmit).
std::vector<std::vector<uint8_t>> replay_held(Harness& h, const TlsReplay& tls, uint16_t port,
                                              size_t& client_data) {
    std::vector<std::vector<uint8_t>> held;
    client_data = 0;
    for (const auto& f : tls.part(port, false)) {
        const bool from_client = decode_frame(f, LinkType::Ethernet).src_port == port;
        if (!held.empty() && !from_client) continue;
        client_data += carries_data(f, port);
        if (h.feed(f) == Disposition::Drop) {
            EXPECT_TRUE(carries_data(f, port)) << "only client data is held";
            held.push_back(f);
        }
    }
    return held;
}

}  // namespace

// Inline, no request reaches the server before it was inspected: while a session waits for
// its secrets every client segment with data is dropped (its bytes queued for decryption); once
// the secret arrives the queue is inspected and the client's retransmission passes.
TEST(Bounds, InlineRequestsWaitForTheirSecrets) {
    const TlsReplay tls;
    ASSERT_FALSE(tls.frames.empty());
    EngineConfig cfg;
    cfg.tls.wait_for_secrets = true;
    cfg.tls.hold_for_secrets = true;
    cfg.tls.pending_bytes = 1u << 20;
    Harness h(cfg);
    tls::SecretFeed feed;
    h.p->attach_secret_feed(feed);
    size_t client_data = 0;
    const auto held = replay_held(h, tls, 20000, client_data);
    // The ClientHello went through (no session yet); everything the client sent after the
    // ServerHello was held.
    ASSERT_FALSE(held.empty());
    EXPECT_EQ(held.size(), client_data - 1);
    EXPECT_EQ(h.p->tls_counters().held_segments, held.size());
    EXPECT_EQ(h.p->tls_counters().held_sessions, 1u);
    EXPECT_EQ(h.p->counters()[Ctr::DroppedHeld], held.size());
    EXPECT_EQ(h.p->http_counters().requests, 0u);
    ASSERT_GT(push_capture_secrets(feed), 0u);
    h.p->poll_secrets(Timestamp{h.t});
    EXPECT_GT(h.p->http_counters().requests, 0u);  // inspected before anything was forwarded
    // The client's retransmissions now pass.
    for (const auto& f : held) EXPECT_EQ(h.feed(f), Disposition::Forward);
    EXPECT_EQ(h.p->tls_counters().secret_wait_timeouts, 0u);
    h.p->finish(Timestamp{h.t});
    EXPECT_EQ(h.p->audit(), "");
}

// Held inline, a session that finds every decryption session busy (none idle long enough to
// be reclaimed) would pass uninspected: it gets the secret-wait choice instead, recorded.
TEST(Bounds, NoDecryptionCapacityWhileHeldGetsTheConfiguredChoice) {
    const TlsReplay tls;
    ASSERT_FALSE(tls.frames.empty());
    EngineConfig cfg;
    cfg.tls.decrypt_sessions = 1;
    cfg.tls.wait_for_secrets = true;
    cfg.tls.hold_for_secrets = true;
    cfg.tls.secret_wait_verdict = Verdict::Drop;
    cfg.tls_secrets = capture_secrets();
    Harness h(cfg);
    for (const auto& f : tls.part(22000, false)) EXPECT_EQ(h.feed(f), Disposition::Forward);
    EXPECT_EQ(h.p->pools().decrypt_sessions, 1u);
    size_t dropped = 0, client_data = 0;
    for (const auto& f : tls.part(22001, false)) {
        client_data += carries_data(f, 22001);
        dropped += h.feed(f) == Disposition::Drop;
    }
    EXPECT_EQ(h.p->tls_counters().decrypt_no_capacity, 1u);
    EXPECT_GE(dropped, client_data - 1);  // everything after the ServerHello
    h.p->finish(Timestamp{h.t});
    size_t refused = 0;
    for (const auto& a : h.sink.of_type("anomaly"))
        if (a["anomaly"]["event"] == "tls_decrypt_no_capacity") {
            ++refused;
            EXPECT_EQ(a["src_port"], 22001);
            EXPECT_EQ(a["anomaly"]["action"], "drop");
        }
    EXPECT_EQ(refused, 1u);
    EXPECT_EQ(http_records_of(h.sink, 22001), 0u);
}

// Secrets that never come: past secret_wait_ms the configured choice applies, counted and
// recorded: fail open (alert: forwarded from then on) or fail closed (drop).
TEST(Bounds, ASecretThatNeverComesGetsTheConfiguredChoice) {
    const TlsReplay tls;
    ASSERT_FALSE(tls.frames.empty());
    for (const Verdict choice : {Verdict::Alert, Verdict::Drop}) {
        EngineConfig cfg;
        cfg.tls.wait_for_secrets = true;
        cfg.tls.hold_for_secrets = true;
        cfg.tls.pending_bytes = 1u << 20;
        cfg.tls.secret_wait_ms = 1500;
        cfg.tls.secret_wait_verdict = choice;
        Harness h(cfg);
        tls::SecretFeed feed;
        h.p->attach_secret_feed(feed);
        size_t client_data = 0;
        const auto held = replay_held(h, tls, 20000, client_data);
        ASSERT_FALSE(held.empty());
        h.t += 2'000'000'000ull;  // the client retransmits, the secret never came
        const Disposition d = h.feed(held.front());
        EXPECT_EQ(d, choice == Verdict::Drop ? Disposition::Drop : Disposition::Forward);
        EXPECT_EQ(h.p->tls_counters().secret_wait_timeouts, 1u);
        h.p->finish(Timestamp{h.t});
        size_t timeouts = 0;
        for (const auto& a : h.sink.of_type("anomaly"))
            if (a["anomaly"]["event"] == "tls_secret_wait_timeout") {
                ++timeouts;
                EXPECT_EQ(a["anomaly"]["action"], choice == Verdict::Drop ? "drop" : "alert");
                EXPECT_GE(a["anomaly"]["held_ms"].get<uint64_t>(), 1500u);
            }
        EXPECT_EQ(timeouts, 1u);
        const auto records = h.sink.of_type("tls");
        ASSERT_EQ(records.size(), 1u);
        EXPECT_EQ(records[0]["tls"]["decrypt_reason"], "secret_timeout");
        EXPECT_EQ(h.p->audit(), "");
    }
}

// Every kind of hostile state at once, interleaved: half-sent hellos, HelloRetryRequests, gzip
// bombs, random bytes and never-seen credentials, against small pools and a small correlator.
// Afterwards every pool is back to its baseline with every slot's owner accounted for, the
// accounts stay within capacity, the caps' and reclaims' counters moved, and a normal client
// that follows is still inspected and alerted.
TEST(Bounds, CombinedFloodStaysWithinEveryBound) {
    const auto hrr = read_capture(SLUICE_TEST_DATA "/tls/tls13-hrr-keyupdate.pcap");
    ASSERT_FALSE(hrr.empty());
    const uint16_t hrr_client = decode_frame(hrr[0], LinkType::Ethernet).src_port;
    EngineConfig cfg;
    cfg.rules = evil_body_rule();
    cfg.tls.handshake_buffers = 16;
    cfg.tls.reclaim_after_ms = 100;
    cfg.http.decoders = 4;
    Harness h(cfg);
    CollectRecords records;
    account::Correlator accounts(policy_of("window: 600\ncapacity: {accounts: 64, enforced: 32}\n"),
                                 &records, 1);
    h.p->set_observation_sink(&accounts);
    const std::string bomb = deflate_bytes(std::string(12u << 20, 'A'));
    std::string half_hello("\x16\x03\x01\x20\x00\x01\x00\x1f\xfc", 9);
    half_hello.append(40, 'h');
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    std::mt19937_64 rng(2026);
    for (uint32_t i = 0; i < 500; ++i) {
        const auto port = static_cast<uint16_t>(10000 + i);
        if (i % 5 == 3) {  // a client that provokes a HelloRetryRequest, connection left open
            for (const auto& f : with_client_port(hrr, hrr_client, port)) {
                const auto pkt = decode_frame(f, LinkType::Ethernet);
                if (pkt.has_flag(tcp_flag::kFin) || pkt.has_flag(tcp_flag::kRst)) break;
                h.feed(f);
            }
            continue;
        }
        Conversation c;
        c.cport = port;
        c.sport = i % 5 == 0 ? 443 : 80;
        h.feed(c.client(tcp_flag::kSyn));
        h.feed(c.server(tcp_flag::kSyn | kA));
        h.feed(c.client(kA));
        switch (i % 5) {
            case 0:
                h.feed(c.client(kPA, half_hello));
                break;
            case 1: {
                h.feed(c.client(kPA,
                                "POST /v1/messages HTTP/1.1\r\nHost: api\r\n"
                                "Content-Encoding: gzip\r\nContent-Length: " +
                                    std::to_string(bomb.size()) + "\r\n\r\n"));
                for (size_t off = 0; off < bomb.size(); off += 1400)
                    h.feed(c.client(kPA, bomb.substr(off, 1400)));
                break;
            }
            case 2:
                h.feed(c.client(kPA, std::string(200, static_cast<char>(i))));
                break;
            default: {  // a never-seen credential, one request each
                char key[64];
                std::snprintf(key, sizeof key, "sk-ant-api03-%016llx%016llx",
                              static_cast<unsigned long long>(rng()),
                              static_cast<unsigned long long>(rng()));
                const std::string body =
                    R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"}]})";
                h.feed(c.client(kPA, "POST /v1/messages HTTP/1.1\r\nHost: api\r\nx-api-key: " +
                                         std::string(key) +
                                         "\r\nContent-Type: application/json\r\n"
                                         "Content-Length: " +
                                         std::to_string(body.size()) + "\r\n\r\n" + body));
                h.feed(c.server(kPA, answer));
                break;
            }
        }
        EXPECT_EQ(h.p->audit(), "") << "after connection " << i;
    }
    EXPECT_GT(h.p->tls_counters().buffers_reclaimed, 0u);
    EXPECT_GT(h.p->http_counters().decompression_capped, 0u);
    EXPECT_EQ(h.p->tls_counters().client_hellos, 200u);  // two per HRR connection (half: none)
    EXPECT_LE(accounts.accounts(), 64u);
    EXPECT_LE(accounts.counters().clusters, 64u);
    EXPECT_EQ(accounts.counters().accounts, 100u);
    EXPECT_GT(accounts.counters().evicted, 0u);
    // Idle flows time out; nothing stays behind them.
    h.t += 3600ull * 1'000'000'000ull;
    h.p->expire(Timestamp{h.t}, h.seq);
    EXPECT_EQ(h.p->pools(), PoolOccupancy{});
    EXPECT_EQ(h.p->audit(), "");
    expect_normal_request_alerted(h);
}
