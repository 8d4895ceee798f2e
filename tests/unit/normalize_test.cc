// TCP normalization and the evasions it closes: each test plays the attacker's cheapest trick
// against a pipeline with a rule on the request, and asserts that the request is still what
// gets inspected (and alerted), inline and offline.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "craft/frame_builder.h"
#include "decode/checksum.h"
#include "engine/pipeline.h"
#include "pipeline_harness.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr char kRequest[] =
    "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\nEVIL!";

EngineConfig config(bool inline_mode) {
    EngineConfig cfg;
    cfg.rules = evil_body_rule();
    cfg.normalize.drop = inline_mode;
    cfg.normalize.in_path = inline_mode;
    return cfg;
}

// A connection with its handshake done.
struct Session {
    Harness h;
    Conversation c;
    explicit Session(bool inline_mode) : h(config(inline_mode)) {
        h.feed(c.client(tcp_flag::kSyn));
        h.feed(c.server(tcp_flag::kSyn | kA));
        h.feed(c.client(kA));
    }
    // A client segment with everything chosen by the caller; the conversation does not move.
    std::vector<uint8_t> crafted(uint32_t seq, uint32_t ack, uint8_t flags,
                                 const std::string& data = "", std::vector<uint8_t> opts = {},
                                 uint8_t ttl = 64) {
        craft::FrameSpec s = c.c2s;
        s.ttl = ttl;
        return craft::tcp_frame(s, {c.cport, c.sport, seq, ack, flags, 65535, std::move(opts)},
                                craft::bytes(data));
    }
    size_t alerts() {
        size_t n = 0;
        for (const auto& a : h.sink.of_type("alert"))
            if (a["alert"]["signature_id"] == 9001) ++n;
        return n;
    }
    uint64_t norm(NormReason r) const { return h.p->counters().normalized[static_cast<size_t>(r)]; }
    std::vector<std::string> anomalies() const {
        std::vector<std::string> out;
        for (const auto& a : h.sink.of_type("anomaly"))
            if (a["anomaly"]["type"] == "stream") out.push_back(a["anomaly"]["event"]);
        return out;
    }
    void finish() { h.p->finish(Timestamp{h.t}); }
};

}  // namespace

class BothModes : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Normalize, BothModes, ::testing::Values(true, false),
                         [](const auto& i) { return i.param ? "inline" : "offline"; });

// RFC 5961 section 3: an RST far outside the window is ignored by the server; it must not end
// inspection of the request that follows.
TEST_P(BothModes, OutOfWindowRstDoesNotBlindInspection) {
    Session s(GetParam());
    const auto d = s.h.feed(s.crafted(s.c.cseq + 50'000'000, s.c.sseq, tcp_flag::kRst));
    EXPECT_EQ(d, GetParam() ? Disposition::Drop : Disposition::Forward);
    EXPECT_EQ(s.norm(NormReason::RstOutOfWindow), 1u);
    s.h.feed(s.c.client(kPA, kRequest));
    s.h.feed(s.c.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    s.finish();
    EXPECT_EQ(s.alerts(), 1u);
    EXPECT_EQ(s.anomalies(), std::vector<std::string>{"rst_out_of_window"});
}

// In the window but not exact: the server answers with a challenge ACK and carries on; so do we.
TEST_P(BothModes, InWindowInexactRstIsForwardedAndInspectionGoesOn) {
    Session s(GetParam());
    EXPECT_EQ(s.h.feed(s.crafted(s.c.cseq + 100, s.c.sseq, tcp_flag::kRst | kA)),
              Disposition::Forward);
    EXPECT_EQ(s.norm(NormReason::RstInWindow), 1u);
    s.h.feed(s.c.client(kPA, kRequest));
    s.finish();
    EXPECT_EQ(s.alerts(), 1u);
    const auto flows = s.h.sink.of_type("flow");
    ASSERT_EQ(flows.size(), 1u);
    EXPECT_NE(flows[0]["flow"]["state"], "closed");
}

// An exact RST ends the flow; data on the same tuple afterwards is a new, inspected flow, never
// forwarded uninspected.
TEST_P(BothModes, DataAfterAcceptedRstIsInspectedAsANewFlow) {
    Session s(GetParam());
    EXPECT_EQ(s.h.feed(s.crafted(s.c.cseq, s.c.sseq, tcp_flag::kRst | kA)), Disposition::Forward);
    s.h.feed(s.c.client(kPA, kRequest));
    s.finish();
    EXPECT_EQ(s.alerts(), 1u);
    const auto flows = s.h.sink.of_type("flow");
    ASSERT_EQ(flows.size(), 2u);
    EXPECT_EQ(flows[0]["flow"]["reason"], "tcp_reuse");
    EXPECT_EQ(s.h.p->counters()[Ctr::TcpMidstreamPickup], 1u);
}

// A SYN on an established connection gets a challenge ACK (RFC 5961 section 4): forwarded, and
// neither a new flow nor new stream bytes, even with a payload aimed at the stream.
TEST_P(BothModes, SynOnEstablishedIsNotANewFlow) {
    Session s(GetParam());
    EXPECT_EQ(s.h.feed(s.crafted(s.c.cseq - 1, 0, tcp_flag::kSyn, "decoy")), Disposition::Forward);
    EXPECT_EQ(s.norm(NormReason::SynOnEstablished), 1u);
    s.h.feed(s.c.client(kPA, kRequest));
    s.finish();
    EXPECT_EQ(s.alerts(), 1u);
    EXPECT_EQ(s.h.sink.of_type("flow").size(), 1u);
}

// Segments a host discards are dropped inline and never inspected: a decoy sent that way
// cannot take the place of the real bytes at the same sequence numbers (first bytes win).
struct Decoy {
    const char* name;
    NormReason reason;
};
class DecoysNotInspected : public ::testing::TestWithParam<std::tuple<Decoy, bool>> {};

TEST_P(DecoysNotInspected, RealBytesAreInspected) {
    const auto [decoy, inline_mode] = GetParam();
    Session s(inline_mode);
    const std::string head = "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\n";
    s.h.feed(s.c.client(kPA, head));
    const uint32_t body = s.c.cseq;
    std::vector<uint8_t> f;
    switch (decoy.reason) {
        case NormReason::NoAck:
            f = s.crafted(body, 0, tcp_flag::kPsh, "quiet");
            break;
        case NormReason::AckUnsent:
            f = s.crafted(body, s.c.sseq + 100000, kPA, "quiet");
            break;
        case NormReason::OutOfWindow:
            f = s.crafted(body + 70000, s.c.sseq, kPA, "quiet");
            break;
        case NormReason::TcpChecksum:
            f = s.crafted(body, s.c.sseq, kPA, "quiet");
            f[f.size() - 1] ^= 0x20;  // the checksum no longer covers the payload
            break;
        default:
            FAIL();
    }
    const uint64_t before = s.h.p->counters()[Ctr::DroppedNormalized];
    EXPECT_EQ(s.h.feed(f), inline_mode ? Disposition::Drop : Disposition::Forward);
    EXPECT_EQ(s.h.p->counters()[Ctr::DroppedNormalized] - before, inline_mode ? 1u : 0u);
    EXPECT_EQ(s.norm(decoy.reason), 1u) << decoy.name;
    s.h.feed(s.c.client(kPA, "EVIL!"));
    s.finish();
    EXPECT_EQ(s.alerts(), 1u) << decoy.name;
}

INSTANTIATE_TEST_SUITE_P(Normalize, DecoysNotInspected,
                         ::testing::Combine(::testing::Values(Decoy{"no_ack", NormReason::NoAck},
                                                              Decoy{"tcp_checksum",
                                                                    NormReason::TcpChecksum}),
                                            ::testing::Bool()),
                         [](const auto& i) {
                             return std::string(std::get<0>(i.param).name) +
                                    (std::get<1>(i.param) ? "_inline" : "_offline");
                         });

// Checks across directions hold only where sluice is in the path (inline): a tap or a capture
// may show an ACK before the data it acknowledges.
INSTANTIATE_TEST_SUITE_P(
    InPath, DecoysNotInspected,
    ::testing::Combine(::testing::Values(Decoy{"ack_unsent", NormReason::AckUnsent},
                                         Decoy{"out_of_window", NormReason::OutOfWindow}),
                       ::testing::Values(true)),
    [](const auto& i) { return std::string(std::get<0>(i.param).name) + "_inline"; });

// PAWS (RFC 7323): with timestamps negotiated, a segment carrying an older timestamp than the
// last one is discarded by the receiver.
// A conversation whose segments carry the timestamp option (RFC 7323): the PAWS tests.
struct TsConversation {
    Conversation c;
    static std::vector<uint8_t> ts(uint32_t val) {
        return {1,
                1,
                8,
                10,
                static_cast<uint8_t>(val >> 24),
                static_cast<uint8_t>(val >> 16),
                static_cast<uint8_t>(val >> 8),
                static_cast<uint8_t>(val),
                0,
                0,
                0,
                0};
    }
    // `seq_shift`: sent at an offset from the next sequence number (and not advancing it).
    std::vector<uint8_t> seg(bool client, uint8_t flags, uint32_t tsval,
                             const std::string& data = "", int32_t seq_shift = 0) {
        const bool syn = flags & tcp_flag::kSyn;
        auto& spec = client ? c.c2s : c.s2c;
        uint32_t& seq = client ? c.cseq : c.sseq;
        const uint32_t ack = client ? c.sseq : c.cseq;
        auto f = craft::tcp_frame(spec,
                                  {client ? c.cport : c.sport, client ? c.sport : c.cport,
                                   seq + static_cast<uint32_t>(seq_shift), syn && client ? 0 : ack,
                                   flags, 65535, ts(tsval)},
                                  craft::bytes(data));
        if (seq_shift == 0) seq += static_cast<uint32_t>(data.size()) + (syn ? 1 : 0);
        return f;
    }
};

TEST(Normalize, PawsDiscardsAnOldTimestamp) {
    Harness h(config(true));
    TsConversation tc;
    auto seg = [&](bool client, uint8_t flags, uint32_t tsval, const std::string& data = "",
                   int32_t seq_shift = 0) { return tc.seg(client, flags, tsval, data, seq_shift); };
    Conversation& c = tc.c;
    h.feed(seg(true, tcp_flag::kSyn, 1000));
    h.feed(seg(false, tcp_flag::kSyn | kA, 50));
    h.feed(seg(true, kA, 1001));
    h.feed(seg(true, kPA, 1002,
               "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\n"));
    h.feed(seg(false, kA, 51));
    // The decoy reuses the next sequence numbers with a stale timestamp.
    EXPECT_EQ(h.feed(seg(true, kPA, 900, "quiet", 0)), Disposition::Drop);
    c.cseq -= 5;  // the decoy never reached the server: the real body takes its place
    EXPECT_EQ(h.feed(seg(true, kPA, 1003, "EVIL!")), Disposition::Forward);
    h.p->finish(Timestamp{h.t});
    EXPECT_EQ(h.p->counters().normalized[static_cast<size_t>(NormReason::Paws)], 1u);
    size_t alerts = 0;
    for (const auto& a : h.sink.of_type("alert")) alerts += a["alert"]["signature_id"] == 9001;
    EXPECT_EQ(alerts, 1u);
}

// What a Linux receiver still takes (tcp_paws_discard): a timestamp one tick behind TS.Recent,
// and pure ACKs reordered behind later ones (seen on a real client's ACKs through the
// af_packet bridge). Neither may be dropped inline; two ticks behind on data still is.
TEST(Normalize, PawsToleratesWhatTheReceiverTakes) {
    Harness h(config(true));
    TsConversation tc;
    auto seg = [&](bool client, uint8_t flags, uint32_t tsval, const std::string& data = "") {
        return tc.seg(client, flags, tsval, data);
    };
    h.feed(seg(true, tcp_flag::kSyn, 1000));
    h.feed(seg(false, tcp_flag::kSyn | kA, 50));
    h.feed(seg(true, kA, 1001));
    h.feed(seg(false, kPA, 51, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234"));
    h.feed(seg(true, kA, 1010));                                         // TS.Recent 1010
    EXPECT_EQ(h.feed(seg(true, kA, 1005)), Disposition::Forward);        // a reordered pure ACK
    EXPECT_EQ(h.feed(seg(true, kPA, 1009, "x")), Disposition::Forward);  // one tick behind
    EXPECT_EQ(h.feed(seg(true, kPA, 1007, "y")), Disposition::Drop);     // two or more: PAWS
    EXPECT_EQ(h.p->counters().normalized[static_cast<size_t>(NormReason::Paws)], 1u);
}

// Data past the sender's own FIN is discarded by the receiver.
TEST(Normalize, DataAfterFinIsDiscarded) {
    Session s(true);
    s.h.feed(s.c.client(kPA, kRequest));
    s.h.feed(s.c.client(tcp_flag::kFin | kA));
    EXPECT_EQ(s.h.feed(s.c.client(kPA, "more after the end")), Disposition::Drop);
    EXPECT_EQ(s.norm(NormReason::DataAfterFin), 1u);
}

// An insertion packet aimed to expire between sluice and the server arrives with a TTL far
// below the handshake's: recorded once per flow, forwarded, counted per packet.
TEST(Normalize, TtlDropIsAnAnomaly) {
    Session s(true);
    const std::string head = "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\n";
    s.h.feed(s.c.client(kPA, head));
    EXPECT_EQ(s.h.feed(s.crafted(s.c.cseq, s.c.sseq, kPA, "EV", {}, 3)), Disposition::Forward);
    EXPECT_EQ(s.h.feed(s.crafted(s.c.cseq + 2, s.c.sseq, kPA, "IL!", {}, 3)), Disposition::Forward);
    EXPECT_EQ(s.norm(NormReason::TtlDrop), 2u);
    s.finish();
    const auto an = s.h.sink.of_type("anomaly");
    ASSERT_EQ(an.size(), 1u);
    EXPECT_EQ(an[0]["anomaly"]["event"], "ttl_drop");
    EXPECT_EQ(an[0]["anomaly"]["ttl"], 3);
    EXPECT_EQ(an[0]["anomaly"]["handshake_ttl"], 64);
}

// A live port takes an IPv4 total length of 0 as malformed (a TSO capture only offline, by
// option): the decoy with length 0 is dropped, and the real segment is what gets inspected.
TEST(Normalize, ZeroTotalLengthDecoyIsNotInspectedLive) {
    Session s(true);
    const std::string head = "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\n";
    s.h.feed(s.c.client(kPA, head));
    auto decoy = s.crafted(s.c.cseq, s.c.sseq, kPA, "quiet");
    decoy[16] = decoy[17] = 0;
    EXPECT_EQ(s.h.feed(decoy), Disposition::Drop);
    EXPECT_EQ(s.h.p->counters().malformed[static_cast<size_t>(DecodeError::Ipv4ZeroTotalLength)],
              1u);
    s.h.feed(s.c.client(kPA, "EVIL!"));
    s.finish();
    EXPECT_EQ(s.alerts(), 1u);
}

// Internet checksums against frames whose checksums the kernel wrote (the repository's
// captures are verified good by tshark in the offline integration test): every single-bit flip
// in the headers or payload is caught.
TEST(Checksum, EveryBitFlipIsCaught) {
    craft::FrameSpec v4;
    const auto good = craft::tcp_frame(v4, {}, craft::bytes("checksummed payload"));
    const auto pkt = decode_frame(good, LinkType::Ethernet);
    ASSERT_EQ(verify_checksums(good, pkt), ChecksumError::None);
    for (size_t byte = pkt.l3_offset; byte < good.size(); ++byte) {
        auto bad = good;
        bad[byte] ^= 0x01;
        const auto p = decode_frame(bad, LinkType::Ethernet);
        if (p.status != DecodeStatus::Ok) continue;  // a length or version byte: malformed
        EXPECT_NE(verify_checksums(bad, p), ChecksumError::None) << byte;
    }
    // The NIC's word is taken when it vouches for the packet.
    auto bad = good;
    bad.back() ^= 1;
    EXPECT_EQ(verify_checksums(bad, decode_frame(bad, LinkType::Ethernet), {true, true}),
              ChecksumError::None);
    craft::FrameSpec v6;
    v6.src = *IpAddress::parse("2001:db8::1");
    v6.dst = *IpAddress::parse("2001:db8::2");
    const auto u6 = craft::udp_frame(v6, 5353, 53, craft::bytes("odd-length!"));
    EXPECT_EQ(verify_checksums(u6, decode_frame(u6, LinkType::Ethernet)), ChecksumError::None);
    auto u6bad = u6;
    u6bad.back() ^= 0x80;
    EXPECT_EQ(verify_checksums(u6bad, decode_frame(u6bad, LinkType::Ethernet)), ChecksumError::Udp);
}

// Conflicting overlaps: a retransmission whose bytes differ from what inspection saw is dropped
// inline (the receiver might take it) and recorded everywhere; first bytes win for inspection.
TEST_P(BothModes, ConflictingRetransmissionIsDroppedInlineAndRecorded) {
    Session s(GetParam());
    const std::string head = "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\n";
    s.h.feed(s.c.client(kPA, head));
    const uint32_t body = s.c.cseq;
    s.h.feed(s.c.client(kPA, "quiet"));  // inspected (an insertion meant to die before the server)
    const auto d = s.h.feed(s.crafted(body, s.c.sseq, kPA, "EVIL!"));
    EXPECT_EQ(d, GetParam() ? Disposition::Drop : Disposition::Forward);
    EXPECT_EQ(s.norm(NormReason::OverlapConflict), 1u);
    EXPECT_EQ(s.anomalies(), std::vector<std::string>{"overlap_conflict"});
    s.finish();
    EXPECT_EQ(s.alerts(), 0u);  // first bytes win: inspection keeps what it saw
}

// A faithful retransmission (same bytes) and a keepalive (one old byte, already acknowledged)
// pass untouched and record nothing.
TEST_P(BothModes, FaithfulRetransmissionsAndKeepalivesPassUntouched) {
    Session s(GetParam());
    s.h.feed(s.c.client(kPA, kRequest));
    const uint32_t end = s.c.cseq;
    const std::string req(kRequest);
    EXPECT_EQ(s.h.feed(s.crafted(end - 5, s.c.sseq, kPA, req.substr(req.size() - 5))),
              Disposition::Forward);
    s.h.feed(s.c.server(kA));  // the server acknowledges the request
    EXPECT_EQ(s.h.feed(s.crafted(end - 1, s.c.sseq, kA, std::string(1, '\0'))),
              Disposition::Forward);
    s.finish();
    EXPECT_TRUE(s.anomalies().empty());
    EXPECT_EQ(s.alerts(), 1u);
}

// Out of order: a second copy of a buffered segment with other bytes is a conflict too.
TEST_P(BothModes, ConflictWithBufferedOutOfOrderBytes) {
    Session s(GetParam());
    const std::string head = "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\n";
    const uint32_t start = s.c.cseq;
    s.h.feed(s.crafted(start + static_cast<uint32_t>(head.size()), s.c.sseq, kPA, "EVIL!"));
    const auto d =
        s.h.feed(s.crafted(start + static_cast<uint32_t>(head.size()), s.c.sseq, kPA, "quiet"));
    EXPECT_EQ(d, GetParam() ? Disposition::Drop : Disposition::Forward);
    s.h.feed(s.crafted(start, s.c.sseq, kPA, head));
    s.finish();
    EXPECT_EQ(s.norm(NormReason::OverlapConflict), 1u);
    EXPECT_EQ(s.alerts(), 1u);
}
