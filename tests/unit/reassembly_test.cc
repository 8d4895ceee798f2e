#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "decode/decoded_packet.h"
#include "reassembly/tcp_reassembler.h"

using namespace sluice;

namespace {

struct Recorder final : StreamConsumer {
    std::string data[2];
    std::vector<uint32_t> gaps[2];
    int ends[2] = {0, 0};
    void on_data(Flow&, Dir d, std::span<const uint8_t> b) override {
        data[idx(d)].append(reinterpret_cast<const char*>(b.data()), b.size());
    }
    void on_gap(Flow&, Dir d, uint32_t len) override {
        gaps[idx(d)].push_back(len);
        data[idx(d)].append("<gap>");
    }
    void on_end(Flow&, Dir d) override { ++ends[idx(d)]; }
};

struct Fixture {
    explicit Fixture(uint32_t per_dir_cap = 1 << 20, uint32_t nodes = 256)
        : pool(nodes), r(pool, per_dir_cap, rec) {}
    SegmentPool pool;
    Recorder rec;
    TcpReassembler r;
    Flow flow;
    void syn(uint32_t isn, Dir d = Dir::ToServer) {
        r.on_segment(flow, d, isn, tcp_flag::kSyn, {});
    }
    void seg(uint32_t seq, const std::string& s, uint8_t flags = tcp_flag::kAck,
             Dir d = Dir::ToServer) {
        r.on_segment(flow, d, seq, flags, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    }
};

const std::string kText = "The quick brown fox jumps over the lazy dog; sluice reassembles TCP.";

}  // namespace

TEST(Reassembly, InOrder) {
    Fixture f;
    f.syn(100);
    f.seg(101, "hello ");
    f.seg(107, "world");
    EXPECT_EQ(f.rec.data[0], "hello world");
    EXPECT_EQ(f.r.counters().in_order, 2u);
}

TEST(Reassembly, ReorderedAndDuplicated) {
    Fixture f;
    f.syn(1000);
    f.seg(1007, "world");
    f.seg(1001, "hello ");
    f.seg(1007, "world");  // duplicate
    f.seg(1001, "hello ");
    EXPECT_EQ(f.rec.data[0], "hello world");
    EXPECT_EQ(f.r.counters().out_of_order, 1u);
    EXPECT_EQ(f.r.counters().retransmitted, 2u);
    EXPECT_EQ(f.pool.available(), f.pool.size());
}

TEST(Reassembly, FirstReceivedBytesWinOnOverlap) {
    Fixture f;
    f.syn(0);
    f.seg(5, "FGHIJ");       // buffered out of order
    f.seg(3, "xxxxxxxxKL");  // overlaps it with different bytes at 5..9
    f.seg(1, "AB");
    // 3..4 and 10..12 come from the second segment; 5..9 stay as first received.
    EXPECT_EQ(f.rec.data[0], "ABxxFGHIJxKL");
    Fixture g;
    g.syn(0);
    g.seg(1, "ABCDE");
    g.seg(3, "zzzzFG");  // rewrites delivered bytes 3..5: ignored, only 6..8 are new
    EXPECT_EQ(g.rec.data[0], "ABCDEzFG");
    EXPECT_EQ(g.r.counters().overlaps, 1u);
}

TEST(Reassembly, RandomResegmentationGivesSameStream) {
    std::mt19937 rng(42);
    for (int round = 0; round < 200; ++round) {
        Fixture f;
        const uint32_t isn = static_cast<uint32_t>(rng());
        f.syn(isn);
        // Random overlapping pieces covering the whole text, shuffled, some duplicated.
        std::vector<std::pair<uint32_t, std::string>> pieces;
        size_t pos = 0;
        while (pos < kText.size()) {
            const size_t len = 1 + rng() % 12;
            const size_t back = pos ? rng() % std::min<size_t>(pos, 4) : 0;
            const size_t start = pos - back;
            const size_t n = std::min(kText.size() - start, len + back);
            pieces.emplace_back(isn + 1 + static_cast<uint32_t>(start), kText.substr(start, n));
            pos = start + n;
            if (rng() % 4 == 0) pieces.push_back(pieces.back());
        }
        std::shuffle(pieces.begin(), pieces.end(), rng);
        for (const auto& [seq, s] : pieces) f.seg(seq, s);
        ASSERT_EQ(f.rec.data[0], kText) << "round " << round;
        ASSERT_EQ(f.pool.available(), f.pool.size());
    }
}

TEST(Reassembly, SequenceWraparound) {
    Fixture f;
    const uint32_t isn = 0xfffffff0u;
    f.syn(isn);
    const std::string a(20, 'a'), b(20, 'b');
    f.seg(isn + 1 + 20, b);  // crosses 2^32, arrives first
    f.seg(isn + 1, a);
    EXPECT_EQ(f.rec.data[0], a + b);
    EXPECT_EQ(f.flow.stream[0].next_seq, isn + 41);
}

TEST(Reassembly, GapSkippedWhenBufferCapReached) {
    Fixture f(/*per_dir_cap=*/10);
    f.syn(0);
    f.seg(1, "AAAA");
    f.seg(11, "CCCCCCCC");  // hole at 5..10, buffered (8 bytes)
    f.seg(19, "DDDDDDDD");  // would exceed the cap: the hole is declared a gap
    EXPECT_EQ(f.rec.data[0], "AAAA<gap>CCCCCCCCDDDDDDDD");
    ASSERT_EQ(f.rec.gaps[0].size(), 1u);
    EXPECT_EQ(f.rec.gaps[0][0], 6u);
    EXPECT_EQ(f.r.counters().gap_bytes, 6u);
    f.seg(5, "BBBBBB");  // the late bytes are old now
    EXPECT_EQ(f.rec.data[0], "AAAA<gap>CCCCCCCCDDDDDDDD");
}

TEST(Reassembly, GapSkippedWhenPoolExhausted) {
    Fixture f(1 << 20, /*nodes=*/2);
    f.syn(0);
    f.seg(1, "A");
    f.seg(3, "C");
    f.seg(5, "E");
    f.seg(7, "G");  // third buffered segment: no node left
    EXPECT_GE(f.r.counters().pool_exhausted, 1u);
    EXPECT_EQ(f.rec.data[0].substr(0, 1), "A");
    f.r.flush(f.flow);
    EXPECT_EQ(f.rec.data[0], "A<gap>C<gap>E<gap>G");
    EXPECT_EQ(f.pool.available(), 2u);
}

TEST(Reassembly, FinEndsDirectionAfterAllData) {
    Fixture f;
    f.syn(10);
    f.seg(16, "world", tcp_flag::kAck | tcp_flag::kFin);
    EXPECT_EQ(f.rec.ends[0], 0);  // data before the FIN is missing
    f.seg(11, "hello");
    EXPECT_EQ(f.rec.data[0], "helloworld");
    EXPECT_EQ(f.rec.ends[0], 1);
    f.seg(11, "late!");  // after the end: ignored
    EXPECT_EQ(f.rec.data[0], "helloworld");
}

TEST(Reassembly, MidstreamPickupAndFlush) {
    Fixture f;
    f.seg(5000, "middle");
    f.seg(5010, "tail");
    f.r.flush(f.flow);
    EXPECT_EQ(f.rec.data[0], "middle<gap>tail");
    EXPECT_EQ(f.rec.ends[0], 1);
    EXPECT_EQ(f.rec.ends[1], 1);
}

TEST(Reassembly, DirectionsAreIndependent) {
    Fixture f;
    f.syn(100, Dir::ToServer);
    f.syn(900, Dir::ToClient);
    f.seg(101, "GET /", tcp_flag::kAck, Dir::ToServer);
    f.seg(901, "HTTP/1.1 200", tcp_flag::kAck, Dir::ToClient);
    EXPECT_EQ(f.rec.data[0], "GET /");
    EXPECT_EQ(f.rec.data[1], "HTTP/1.1 200");
}

TEST(Reassembly, LargeSegmentSpansSeveralNodes) {
    Fixture f;
    f.syn(0);
    std::string big(5000, 'x');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    f.seg(1 + 10, big.substr(10));  // out of order, needs 4 nodes
    f.seg(1, big.substr(0, 10));
    EXPECT_EQ(f.rec.data[0], big);
    EXPECT_EQ(f.pool.available(), f.pool.size());
}
