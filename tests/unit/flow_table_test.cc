#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "flow/flow_hash.h"
#include "flow/flow_table.h"

using namespace sluice;

namespace {

FlowKey key(uint16_t port) {
    FlowKey k;
    k.lo = {*IpAddress::parse("10.0.0.1"), port};
    k.hi = {*IpAddress::parse("10.0.0.2"), 80};
    k.proto = 6;
    return k;
}

uint64_t h(const FlowKey& k) {
    return flow_hashes(k, FlowHashKey::fixed()).table;
}

Timestamp t(uint64_t s) {
    return Timestamp::from_sec(s);
}

}  // namespace

TEST(FlowTable, InsertFindRemove) {
    FlowTable ft(8, {});
    const FlowKey k = key(1000);
    EXPECT_EQ(ft.find(k, h(k)), nullptr);
    Flow* f = ft.insert(k, h(k), t(1), [](Flow&) { FAIL(); });
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(ft.find(k, h(k)), f);
    EXPECT_EQ(ft.size(), 1u);
    ft.remove(*f);
    EXPECT_EQ(ft.find(k, h(k)), nullptr);
    EXPECT_EQ(ft.size(), 0u);
}

TEST(FlowTable, KeyIsBidirectional) {
    DecodedPacket a;
    a.src = *IpAddress::parse("192.0.2.1");
    a.dst = *IpAddress::parse("192.0.2.2");
    a.src_port = 5555;
    a.dst_port = 443;
    a.proto = 6;
    DecodedPacket b = a;
    std::swap(b.src, b.dst);
    std::swap(b.src_port, b.dst_port);
    bool from_lo_a, from_lo_b;
    const FlowKey ka = FlowKey::from_packet(a, from_lo_a), kb = FlowKey::from_packet(b, from_lo_b);
    EXPECT_EQ(ka, kb);
    EXPECT_EQ(h(ka), h(kb));
    EXPECT_EQ(flow_hashes(ka, FlowHashKey::fixed()).worker,
              flow_hashes(kb, FlowHashKey::fixed()).worker);
    EXPECT_NE(from_lo_a, from_lo_b);
}

TEST(FlowTable, EvictsEmbryonicBeforeEstablished) {
    FlowTable ft(4, {});
    std::vector<Flow*> flows;
    for (uint16_t i = 0; i < 4; ++i) {
        const FlowKey k = key(i + 1);
        flows.push_back(ft.insert(k, h(k), t(1), [](Flow&) { FAIL(); }));
    }
    // Two established (older), two embryonic (newer, like a SYN flood).
    ft.touch(*flows[0], FlowClass::Established, t(2));
    ft.touch(*flows[1], FlowClass::Established, t(3));
    ft.touch(*flows[2], FlowClass::Embryonic, t(4));
    ft.touch(*flows[3], FlowClass::Embryonic, t(5));
    std::vector<uint16_t> evicted;
    for (uint16_t i = 0; i < 3; ++i) {
        const FlowKey k = key(100 + i);
        Flow* f = ft.insert(k, h(k), t(6), [&](Flow& v) { evicted.push_back(v.key.lo.port); });
        ft.touch(*f, FlowClass::Embryonic, t(6));
    }
    // The two older SYN-only flows go first, then the newest embryonic one; established stay.
    ASSERT_EQ(evicted.size(), 3u);
    EXPECT_EQ(evicted[0], 3);
    EXPECT_EQ(evicted[1], 4);
    EXPECT_EQ(evicted[2], 100);
    EXPECT_NE(ft.find(key(1), h(key(1))), nullptr);
    EXPECT_NE(ft.find(key(2), h(key(2))), nullptr);
    EXPECT_EQ(ft.size(), 4u);
}

TEST(FlowTable, EvictionOrderAcrossClasses) {
    FlowTable ft(5, {});
    const FlowClass classes[] = {FlowClass::Established, FlowClass::Stateless, FlowClass::Closing,
                                 FlowClass::Closed, FlowClass::Embryonic};
    for (uint16_t i = 0; i < 5; ++i) {
        const FlowKey k = key(i + 1);
        Flow* f = ft.insert(k, h(k), t(1), [](Flow&) {});
        ft.touch(*f, classes[i], t(1));
    }
    std::vector<uint16_t> order;
    for (uint16_t i = 0; i < 5; ++i) {
        const FlowKey k = key(200 + i);
        Flow* f = ft.insert(k, h(k), t(2), [&](Flow& v) { order.push_back(v.key.lo.port); });
        ft.touch(*f, FlowClass::Established, t(2));
    }
    // Embryonic, closed, closing, stateless, then established.
    EXPECT_EQ(order, (std::vector<uint16_t>{5, 4, 3, 2, 1}));
}

TEST(FlowTable, TimeoutsPerClass) {
    FlowTimeouts to;
    to.embryonic = Duration::seconds(5);
    to.established = Duration::seconds(100);
    to.closed = Duration::seconds(2);
    FlowTable ft(16, to);
    auto add = [&](uint16_t port, FlowClass c) {
        const FlowKey k = key(port);
        Flow* f = ft.insert(k, h(k), t(10), [](Flow&) {});
        ft.touch(*f, c, t(10));
    };
    add(1, FlowClass::Embryonic);
    add(2, FlowClass::Established);
    add(3, FlowClass::Closed);
    std::vector<uint16_t> expired;
    auto collect = [&](Flow& f) { expired.push_back(f.key.lo.port); };
    EXPECT_EQ(ft.expire(t(12), collect), 0u);  // exactly at the limit: still alive
    EXPECT_EQ(ft.expire(t(13), collect), 1u);
    EXPECT_EQ(expired, (std::vector<uint16_t>{3}));
    EXPECT_EQ(ft.expire(t(16), collect), 1u);
    EXPECT_EQ(expired.back(), 1);
    EXPECT_EQ(ft.expire(t(109), collect), 0u);
    EXPECT_EQ(ft.expire(t(111), collect), 1u);
    EXPECT_EQ(expired.back(), 2);
    EXPECT_EQ(ft.size(), 0u);
}

TEST(FlowTable, TouchKeepsFlowAlive) {
    FlowTimeouts to;
    to.established = Duration::seconds(10);
    FlowTable ft(4, to);
    const FlowKey k = key(9);
    Flow* f = ft.insert(k, h(k), t(0), [](Flow&) {});
    for (uint64_t s = 0; s < 100; s += 5) {
        ft.touch(*f, FlowClass::Established, t(s));
        EXPECT_EQ(ft.expire(t(s), [](Flow&) {}), 0u);
    }
    EXPECT_EQ(ft.size(), 1u);
}

TEST(FlowTable, FullTableKeepsWorkingUnderChurn) {
    FlowTable ft(64, {});
    size_t evictions = 0;
    for (uint16_t i = 0; i < 5000; ++i) {
        const FlowKey k = key(i + 1);
        Flow* f = ft.insert(k, h(k), t(i), [&](Flow&) { ++evictions; });
        ft.touch(*f, FlowClass::Embryonic, t(i));
        ASSERT_EQ(ft.find(k, h(k)), f);
    }
    EXPECT_EQ(ft.size(), 64u);
    EXPECT_EQ(evictions, 5000u - 64u);
    // The survivors are the newest 64.
    for (uint16_t i = 5000 - 64; i < 5000; ++i)
        EXPECT_NE(ft.find(key(i + 1), h(key(i + 1))), nullptr);
}

// A flood of flows from one IPv6 /64 (every low address bit and port varied) cannot pile into
// one bucket or one worker: the hash is keyed (SipHash), and bucket and worker use independent
// halves of its output.
TEST(FlowHash, CollisionFloodFromOneSlash64StaysSpread) {
    const FlowHashKey key = FlowHashKey::random();
    constexpr uint32_t kFlows = 100000, kWorkers = 4;
    FlowTable ft(kFlows, {});
    std::array<uint32_t, kWorkers> per_worker{};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < kFlows; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        FlowKey k;
        IpAddress a = *IpAddress::parse("2001:db8:1:2::");
        for (int b = 0; b < 8; ++b) a.bytes[8 + b] = static_cast<uint8_t>(x >> (8 * b));
        k.lo = {*IpAddress::parse("2001:db8:ffff::443"), 443};
        k.hi = {a, static_cast<uint16_t>(i)};
        k.proto = 6;
        const FlowHashes hs = flow_hashes(k, key);
        Flow* f = ft.insert(k, hs.table, t(1), [](Flow&) { FAIL(); });
        ASSERT_NE(f, nullptr);
        ++per_worker[hs.worker % kWorkers];
    }
    // 100k flows over 262144 buckets: a uniform hash gives a longest chain of about 7.
    EXPECT_LE(ft.longest_chain(), 12u);
    for (uint32_t n : per_worker) {
        EXPECT_GT(n, kFlows / kWorkers * 95 / 100);
        EXPECT_LT(n, kFlows / kWorkers * 105 / 100);
    }
}

TEST(FlowHash, KeyedSymmetricAndIndependentHalves) {
    FlowKey k = key(40000);
    const FlowHashKey a = FlowHashKey::fixed(),
                      b = *FlowHashKey::from_hex("000102030405060708090a0b0c0d0e0f");
    EXPECT_NE(flow_hashes(k, a).table, flow_hashes(k, b).table);
    EXPECT_NE(flow_hashes(k, a).table, flow_hashes(k, a).worker);
    EXPECT_EQ(b.hex(), "000102030405060708090a0b0c0d0e0f");
    EXPECT_FALSE(FlowHashKey::from_hex("0001"));
    EXPECT_FALSE(FlowHashKey::from_hex("zz0102030405060708090a0b0c0d0e0f"));
    EXPECT_NE(FlowHashKey::random(), FlowHashKey::random());
}
