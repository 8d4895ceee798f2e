#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "craft/frame_builder.h"
#include "decode/decoder.h"
#include "engine/pipeline.h"
#include "flow/midstream_role.h"
#include "inspect/suricata_events.h"
#include "pipeline_harness.h"
#include "rules/events.h"

using namespace sluice;
using craft::FrameSpec;
using craft::TcpSpec;

using namespace sluice::testing;

TEST(Pipeline, TcpSessionProducesFlowRecord) {
    Harness h;
    Conversation c;
    EXPECT_EQ(h.feed(c.client(tcp_flag::kSyn)), Disposition::Forward);
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    h.feed(c.client(kPA, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    h.feed(c.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    h.feed(c.client(tcp_flag::kFin | kA));
    h.feed(c.server(tcp_flag::kFin | kA));
    h.feed(c.client(kA));
    h.p->finish(Timestamp{h.t});
    const auto flows = h.sink.of_type("flow");
    ASSERT_EQ(flows.size(), 1u);
    const auto& f = flows[0];
    EXPECT_EQ(f["src_ip"], "10.0.0.1");
    EXPECT_EQ(f["src_port"], 43210);
    EXPECT_EQ(f["dest_port"], 80);
    EXPECT_EQ(f["proto"], "TCP");
    EXPECT_EQ(f["app_proto"], "http");
    EXPECT_EQ(f["flow"]["pkts_toserver"], 5);
    EXPECT_EQ(f["flow"]["pkts_toclient"], 3);
    EXPECT_EQ(f["flow"]["state"], "closed");
    EXPECT_EQ(f["flow"]["reason"], "shutdown");
    EXPECT_EQ(f["tcp"]["bytes_reassembled_toserver"], 27);
    EXPECT_EQ(f["tcp"]["bytes_reassembled_toclient"], 40);
    EXPECT_EQ(f["community_id"].get<std::string>().substr(0, 2), "1:");
    const auto c_ = h.p->counters();
    EXPECT_EQ(c_[Ctr::Packets], 8u);
    EXPECT_EQ(c_[Ctr::Forwarded], 8u);
    EXPECT_EQ(c_[Ctr::FlowsCreated], 1u);
}

TEST(Pipeline, CommunityIdMatchesSpecVector) {
    // From the Community ID specification's baseline: TCP 128.232.110.120:34855
    // -> 66.35.250.204:80.
    EngineConfig cfg;
    Harness h(cfg);
    Conversation c;
    c.c2s.src = *IpAddress::parse("128.232.110.120");
    c.c2s.dst = *IpAddress::parse("66.35.250.204");
    c.s2c.src = c.c2s.dst;
    c.s2c.dst = c.c2s.src;
    c.cport = 34855;
    h.feed(c.client(tcp_flag::kSyn));
    h.p->finish(Timestamp{h.t});
    const auto flows = h.sink.of_type("flow");
    ASSERT_EQ(flows.size(), 1u);
    EXPECT_EQ(flows[0]["community_id"], "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
}

TEST(Pipeline, RejectFilterInjectsExactResetsAndStopsTheFlow) {
    EngineConfig cfg;
    StaticFilter rule;
    rule.verdict = Verdict::Reject;
    rule.server_port = 80;
    rule.after_bytes = 300;
    cfg.filters = StaticFilterTable({rule});
    Harness h(cfg);
    Conversation c;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    EXPECT_EQ(h.feed(c.client(kPA, "GET /big HTTP/1.1\r\n\r\n")), Disposition::Forward);
    const uint32_t client_next = c.cseq;  // what the server expects next
    const uint32_t server_at = c.sseq;    // the next server byte (this one will be dropped)
    EXPECT_EQ(h.feed(c.server(kPA, std::string(400, 'x'))),
              Disposition::Drop);  // crosses 300 bytes
    ASSERT_EQ(h.inj.frames.size(), 2u);
    for (const auto& [along, frame] : h.inj.frames) {
        const auto d = decode_frame(frame, LinkType::Ethernet);
        ASSERT_EQ(d.status, DecodeStatus::Ok);
        EXPECT_TRUE(d.has_flag(tcp_flag::kRst));
        if (d.dst_port == 80) {   // toward the server, as if from the client
            EXPECT_FALSE(along);  // the dropped packet came from the server
            EXPECT_EQ(d.seq, client_next);
            EXPECT_EQ(d.ack, server_at);
            EXPECT_EQ(d.src.to_string(), "10.0.0.1");
        } else {  // toward the client: the server's next sequence number it never got
            EXPECT_TRUE(along);
            EXPECT_EQ(d.seq, server_at);
            EXPECT_EQ(d.dst.to_string(), "10.0.0.1");
        }
        // Checksums are valid: recomputing changes nothing.
        auto copy = frame;
        craft::fix_checksums(std::span<uint8_t>(copy).subspan(d.l3_offset));
        EXPECT_EQ(copy, frame);
    }
    EXPECT_EQ(h.feed(c.client(kPA, "more")), Disposition::Drop);
    EXPECT_EQ(h.inj.frames.size(), 2u);  // resets are sent once
    h.p->finish(Timestamp{h.t});
    EXPECT_EQ(h.sink.of_type("flow")[0]["flow"]["action"], "reject");
    EXPECT_EQ(h.p->counters()[Ctr::RstInjected], 2u);
}

TEST(Pipeline, AllowlistWinsOverDrop) {
    EngineConfig cfg;
    StaticFilter allow;
    allow.allow = true;
    allow.client = IpPrefix::parse("10.0.0.0/24");
    StaticFilter drop;
    drop.verdict = Verdict::Drop;
    cfg.filters = StaticFilterTable({allow, drop});
    Harness h(cfg);
    Conversation c;
    EXPECT_EQ(h.feed(c.client(tcp_flag::kSyn)), Disposition::Forward);
    Conversation other;
    other.c2s.src = *IpAddress::parse("192.0.2.9");
    EXPECT_EQ(h.feed(other.client(tcp_flag::kSyn)), Disposition::Drop);
}

TEST(Pipeline, MalformedPolicyAndCounters) {
    for (auto policy : {MalformedPolicy::Drop, MalformedPolicy::Pass}) {
        EngineConfig cfg;
        cfg.malformed = policy;
        Harness h(cfg);
        auto f = Conversation().client(kPA, "x");
        f[14] = 0x46;  // IHL 24 with no room for options' worth of TCP
        f.resize(30);
        const auto d = h.feed(f);
        EXPECT_EQ(d, policy == MalformedPolicy::Drop ? Disposition::Drop : Disposition::Forward);
        const auto c = h.p->counters();
        EXPECT_EQ(c[Ctr::Malformed], 1u);
        EXPECT_EQ(c.malformed[static_cast<size_t>(DecodeError::Ipv4Truncated)], 1u);
    }
}

TEST(Pipeline, FragmentsAreNeverForwarded) {
    Harness h;
    FrameSpec s;
    s.ipv4_frag = 0x2000;
    EXPECT_EQ(h.feed(craft::udp_frame(s, 1, 2, craft::bytes("frag"))), Disposition::Drop);
    EXPECT_EQ(h.p->counters()[Ctr::DroppedFragment], 1u);
}

TEST(Pipeline, TlsBehindSocks5IsTls) {
    Harness h;
    Conversation c;
    c.sport = 1080;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    h.feed(c.client(kPA, std::string("\x05\x01\x00", 3)));
    h.feed(c.server(kPA, std::string("\x05\x00", 2)));
    // CONNECT example.com:443 (domain name form), split across two segments.
    h.feed(c.client(kPA, std::string("\x05\x01\x00\x03\x0b"
                                     "examp",
                                     10)));
    h.feed(c.client(kPA, std::string("le.com\x01\xbb", 8)));
    h.feed(c.server(kPA, std::string("\x05\x00\x00\x01\x7f\x00\x00\x01\x01\xbb", 10)));
    h.feed(c.client(kPA, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
    h.p->finish(Timestamp{h.t});
    EXPECT_EQ(h.sink.of_type("flow")[0]["app_proto"], "tls");
}

TEST(Pipeline, UnknownProtocolIsFailed) {
    Harness h;
    Conversation c;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.client(kPA, std::string(40, 'z')));
    h.p->finish(Timestamp{h.t});
    EXPECT_EQ(h.sink.of_type("flow")[0]["app_proto"], "failed");
}

TEST(Pipeline, IdleFlowsTimeOutOnPacketTime) {
    EngineConfig cfg;
    cfg.timeouts.established = Duration::seconds(30);
    Harness h(cfg);
    Conversation c;
    h.feed(c.client(kPA, "GET / HTTP/1.1\r\n\r\n"));  // mid-stream pickup: established
    h.t += 31'000'000'000ull;
    Conversation other;
    other.cport = 1111;
    h.feed(other.client(tcp_flag::kSyn));  // time moves on, the first flow expires
    const auto flows = h.sink.of_type("flow");
    ASSERT_EQ(flows.size(), 1u);
    EXPECT_EQ(flows[0]["flow"]["reason"], "timeout");
    EXPECT_EQ(flows[0]["src_port"], 43210);
    EXPECT_EQ(h.p->counters()[Ctr::FlowsTimedOut], 1u);
    EXPECT_EQ(h.p->counters()[Ctr::TcpMidstreamPickup], 1u);
}

TEST(Pipeline, EveOrderFollowsPacketSequence) {
    EngineConfig cfg;
    cfg.flow_capacity = 2;
    Harness h(cfg);
    for (uint16_t p = 0; p < 6; ++p) {
        Conversation c;
        c.cport = static_cast<uint16_t>(2000 + p);
        h.feed(c.client(tcp_flag::kSyn));
    }
    h.p->finish(Timestamp{h.t});
    ASSERT_EQ(h.sink.records.size(), 6u);
    for (size_t i = 1; i < h.sink.records.size(); ++i)
        EXPECT_LT(h.sink.records[i - 1].first, h.sink.records[i].first);
    EXPECT_EQ(h.p->counters()[Ctr::FlowsEvicted], 4u);
}

TEST(Pipeline, NewSynOnClosedFlowStartsNewFlow) {
    Harness h;
    Conversation c;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    h.feed(c.client(tcp_flag::kFin | kA));
    h.feed(c.server(tcp_flag::kFin | kA));
    c.cseq += 100000;
    h.feed(c.client(tcp_flag::kSyn));  // same 4-tuple, new connection
    h.p->finish(Timestamp{h.t});
    const auto flows = h.sink.of_type("flow");
    ASSERT_EQ(flows.size(), 2u);
    EXPECT_EQ(flows[0]["flow"]["reason"], "tcp_reuse");
    EXPECT_EQ(flows[0]["flow"]["pkts_toserver"], 3);
    EXPECT_EQ(flows[1]["flow"]["pkts_toserver"], 1);
    EXPECT_EQ(h.p->counters()[Ctr::FlowsCreated], 2u);
}

// Picked up mid-stream with the client on the lower port: the payload, not the ports, says
// who the client is, so the request is parsed as a request.
TEST(Pipeline, MidstreamRolesComeFromTheContent) {
    struct Case {
        std::string first;  // the first bytes seen
        bool from_client;
    } cases[] = {
        {"POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}", true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
    };
    for (const Case& k : cases) {
        Harness h;
        Conversation c;
        c.cport = 40000;  // below the server's port: the port rule would get it backwards
        c.sport = 50051;
        if (k.from_client) {
            h.feed(c.client(kPA, k.first));
            h.feed(c.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        } else {
            h.feed(c.server(kPA, k.first));
        }
        h.p->finish(Timestamp{h.t + 1});
        const auto flows = h.sink.of_type("flow");
        ASSERT_EQ(flows.size(), 1u);
        EXPECT_EQ(flows[0]["src_port"], 40000) << "the client is the source";
        EXPECT_EQ(flows[0]["dest_port"], 50051);
        EXPECT_EQ(h.p->counters()[Ctr::TcpMidstreamRoleByContent], 1u);
        if (k.from_client) {
            const auto http = h.sink.of_type("http");
            ASSERT_EQ(http.size(), 1u);
            EXPECT_EQ(http[0]["http"]["http_method"], "POST");
            EXPECT_EQ(http[0]["http"]["status"], 200);
        }
    }
    // What the content says, and what it leaves to the ports.
    auto role = [](std::string_view s) {
        return payload_role({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    };
    EXPECT_EQ(role("GET / HTTP/1.1\r\n"), PayloadRole::Client);
    EXPECT_EQ(role("CONNECT api.example.com:443 HTTP/1.1\r\n"), PayloadRole::Client);
    EXPECT_EQ(role("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), PayloadRole::Client);
    EXPECT_EQ(role(std::string_view("\x16\x03\x01\x02\x00\x01", 6)), PayloadRole::Client);
    EXPECT_EQ(role(std::string_view("\x16\x03\x03\x00\x7a\x02", 6)), PayloadRole::Server);
    EXPECT_EQ(role("HTTP/1.0 404 Not Found\r\n"), PayloadRole::Server);
    EXPECT_FALSE(role("get / HTTP/1.1\r\n"));
    EXPECT_FALSE(role("{\"model\":\"x\"}"));
    EXPECT_FALSE(role(std::string_view("\x17\x03\x03\x00\x20", 5)));
    EXPECT_FALSE(role(""));
}

// A rule set swapped in after start reads points the first one did not: the client hello,
// the server's flight and the raw stream (the pipeline once registered its observers only for
// what the set at start read, so such a push loaded and never fired).
TEST(Pipeline, SwappedInRulesSeeHellosAndTheStream) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (msg:\"http only\"; http.uri; content:\"/x\"; sid:1;)\n");
    Harness h(cfg);
    auto swap = RuleSwap::build(
        compile_test_rules(
            "alert tls any any -> any any (msg:\"sni\"; tls.sni; content:\"api.sluice.test\"; "
            "sid:2;)\n"
            "alert tls any any -> any any (msg:\"cert\"; tls.cert_subject; "
            "content:\"CN=api.sluice.test\"; sid:3;)\n"
            "alert tcp any any -> any any (msg:\"stream\"; content:\"SWAPPED-IN\"; sid:4;)\n"),
        0, 1);
    h.p->adopt_rules(swap);
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* cap = pcap_open_offline(
        (std::string(SLUICE_TEST_DATA) + "/tls/tls12-aes128gcm.pcap").c_str(), err);
    ASSERT_NE(cap, nullptr) << err;
    pcap_pkthdr* ph;
    const u_char* d;
    while (pcap_next_ex(cap, &ph, &d) == 1) h.feed(std::vector<uint8_t>(d, d + ph->caplen));
    pcap_close(cap);
    Conversation c;  // plain TCP: the stream rule
    c.sport = 9999;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    h.feed(c.client(kPA, "hello SWAPPED-IN there"));
    h.feed(c.server(kPA, "ok"));
    h.p->finish(Timestamp{h.t});
    std::set<int> sids;
    for (const auto& a : h.sink.of_type("alert"))
        sids.insert(a["alert"]["signature_id"].get<int>());
    EXPECT_EQ(sids, (std::set<int>{2, 3, 4}));
}

// flowint as Suricata evaluates it: a rule's ops in order (modify, then test), rules that only
// modify before rules that read, `-` on an unset integer fails, a failed test is no match.
TEST(Pipeline, FlowintCountsAcrossInspectionsOfAFlow) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert tcp any any -> any any (msg:\"second\"; content:\"HIT\"; flowint:n,+,1; "
        "flowint:n,==,2; sid:1;)\n"
        "alert tcp any any -> any any (msg:\"sub unset\"; content:\"HIT\"; flowint:m,-,1; "
        "sid:2;)\n"
        "alert tcp any any -> any any (msg:\"never unset\"; content:\"HIT\"; flowint:n,notset; "
        "sid:3;)\n"
        "alert tcp any any -> any any (msg:\"third\"; content:\"HIT\"; flowint:n,isset; "
        "flowint:n,>,2; sid:4;)\n"
        "alert tcp any any -> any any (msg:\"set\"; content:\"HIT\"; flowint:k,=,7; "
        "flowint:k,!=,7; sid:5;)\n");
    Harness h(cfg);
    Conversation c;
    c.sport = 9998;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    for (int i = 0; i < 3; ++i) {
        h.feed(c.client(kPA, "HIT"));
        h.feed(c.server(kA));
    }
    h.p->finish(Timestamp{h.t});
    std::map<int, int> got;
    for (const auto& a : h.sink.of_type("alert")) ++got[a["alert"]["signature_id"].get<int>()];
    EXPECT_EQ(got, (std::map<int, int>{{1, 1}, {4, 1}}));
}

// The events rules may name (rules/events.cc) are exactly those the stages raise
// (inspect/suricata_events.cc): no rule loads for an event that never comes, and every event
// that comes can be named.
TEST(Pipeline, EventNamesRulesAcceptAreTheOnesRaised) {
    using rules::EventKind;
    std::map<EventKind, std::set<std::string>> raised;
    for (size_t e = 0; e < static_cast<size_t>(DecodeError::Count); ++e)
        if (auto n = suricata_decode_event(static_cast<DecodeError>(e)); !n.empty())
            raised[EventKind::Decode].emplace(n);
    for (size_t r = 0; r < kNormReasons; ++r)
        if (auto n = suricata_stream_event(static_cast<NormReason>(r)); !n.empty())
            raised[EventKind::Stream].emplace(n);
    for (auto e : {tls::TlsEvent::InvalidRecordType, tls::TlsEvent::InvalidRecordVersion,
                   tls::TlsEvent::InvalidRecord, tls::TlsEvent::InvalidHandshake,
                   tls::TlsEvent::InvalidCertificate, tls::TlsEvent::Heartbeat})
        raised[EventKind::AppLayer].emplace(suricata_tls_event(e));
    for (size_t a = 0; a < http::kAnomalyCount; ++a)
        for (Dir d : {Dir::ToServer, Dir::ToClient})
            if (auto n = suricata_http_event(static_cast<http::Anomaly>(a), d); !n.empty())
                raised[EventKind::AppLayer].emplace(n);
    for (EventKind k : {EventKind::Decode, EventKind::Stream, EventKind::AppLayer}) {
        std::set<std::string> listed;
        for (std::string_view n : rules::raised_events(k)) listed.emplace(n);
        EXPECT_EQ(listed, raised[k]) << rules::event_kind_keyword(k);
    }
}
