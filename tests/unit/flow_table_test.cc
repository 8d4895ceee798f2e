#include <gtest/gtest.h>

#include <vector>

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

Timestamp t(uint64_t s) {
    return Timestamp::from_sec(s);
}

}  // namespace

TEST(FlowTable, InsertFindRemove) {
    FlowTable ft(8, {});
    const FlowKey k = key(1000);
    EXPECT_EQ(ft.find(k, k.hash()), nullptr);
    Flow* f = ft.insert(k, k.hash(), t(1), [](Flow&) { FAIL(); });
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(ft.find(k, k.hash()), f);
    EXPECT_EQ(ft.size(), 1u);
    ft.remove(*f);
    EXPECT_EQ(ft.find(k, k.hash()), nullptr);
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
    EXPECT_EQ(ka.hash(), kb.hash());
    EXPECT_NE(from_lo_a, from_lo_b);
}

TEST(FlowTable, EvictsEmbryonicBeforeEstablished) {
    FlowTable ft(4, {});
    std::vector<Flow*> flows;
    for (uint16_t i = 0; i < 4; ++i) {
        const FlowKey k = key(i + 1);
        flows.push_back(ft.insert(k, k.hash(), t(1), [](Flow&) { FAIL(); }));
    }
    // Two established (older), two embryonic (newer, like a SYN flood).
    ft.touch(*flows[0], FlowClass::Established, t(2));
    ft.touch(*flows[1], FlowClass::Established, t(3));
    ft.touch(*flows[2], FlowClass::Embryonic, t(4));
    ft.touch(*flows[3], FlowClass::Embryonic, t(5));
    std::vector<uint16_t> evicted;
    for (uint16_t i = 0; i < 3; ++i) {
        const FlowKey k = key(100 + i);
        Flow* f = ft.insert(k, k.hash(), t(6), [&](Flow& v) { evicted.push_back(v.key.lo.port); });
        ft.touch(*f, FlowClass::Embryonic, t(6));
    }
    // The two older SYN-only flows go first, then the newest embryonic one; established stay.
    ASSERT_EQ(evicted.size(), 3u);
    EXPECT_EQ(evicted[0], 3);
    EXPECT_EQ(evicted[1], 4);
    EXPECT_EQ(evicted[2], 100);
    EXPECT_NE(ft.find(key(1), key(1).hash()), nullptr);
    EXPECT_NE(ft.find(key(2), key(2).hash()), nullptr);
    EXPECT_EQ(ft.size(), 4u);
}

TEST(FlowTable, EvictionOrderAcrossClasses) {
    FlowTable ft(5, {});
    const FlowClass classes[] = {FlowClass::Established, FlowClass::Stateless, FlowClass::Closing,
                                 FlowClass::Closed, FlowClass::Embryonic};
    for (uint16_t i = 0; i < 5; ++i) {
        const FlowKey k = key(i + 1);
        Flow* f = ft.insert(k, k.hash(), t(1), [](Flow&) {});
        ft.touch(*f, classes[i], t(1));
    }
    std::vector<uint16_t> order;
    for (uint16_t i = 0; i < 5; ++i) {
        const FlowKey k = key(200 + i);
        Flow* f = ft.insert(k, k.hash(), t(2), [&](Flow& v) { order.push_back(v.key.lo.port); });
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
        Flow* f = ft.insert(k, k.hash(), t(10), [](Flow&) {});
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
    Flow* f = ft.insert(k, k.hash(), t(0), [](Flow&) {});
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
        Flow* f = ft.insert(k, k.hash(), t(i), [&](Flow&) { ++evictions; });
        ft.touch(*f, FlowClass::Embryonic, t(i));
        ASSERT_EQ(ft.find(k, k.hash()), f);
    }
    EXPECT_EQ(ft.size(), 64u);
    EXPECT_EQ(evictions, 5000u - 64u);
    // The survivors are the newest 64.
    for (uint16_t i = 5000 - 64; i < 5000; ++i)
        EXPECT_NE(ft.find(key(i + 1), key(i + 1).hash()), nullptr);
}
