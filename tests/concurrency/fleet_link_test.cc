// The fleet thread's hand-overs (run under ThreadSanitizer in build/tsan): the correlator's
// thread queues evidence and questions while another thread reads the counters, and Redis is
// unreachable, so every batch fails open and is counted.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "fleet/fleet_link.h"

using namespace sluice;
using namespace sluice::fleet;

namespace {
uint16_t unused_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}
}  // namespace

TEST(FleetLink, UnreachableRedisFailsOpenAndCountsEverything) {
    FleetOptions o;
    o.enabled = true;
    o.seeds = {Endpoint{"127.0.0.1", unused_port()}};
    o.timeout_ms = 50;
    o.interval_ms = 10;
    o.queue = 256;
    const std::string secret = "concurrency-test-secret-0123456789";
    FleetLink link(o, as_bytes(secret), /*offline=*/false);
    link.start();
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done.load()) {
            const FleetStats s = link.stats();
            EXPECT_FALSE(s.connected);
            std::this_thread::yield();
        }
    });
    constexpr int kN = 20000;
    int accepted = 0;
    for (int i = 0; i < kN; ++i) {
        account::FleetEvidence e;
        std::snprintf(e.account.data(), e.account.size(), "%015x", i % 97);
        e.ts_ns = 1'767'225'600'000'000'000ull + uint64_t(i) * 1'000'000;
        e.src = *IpAddress::parse("100.64." + std::to_string(i % 200) + ".9");
        accepted += link.evidence(e) ? 1 : 0;
        if (i % 100 == 0) link.ask(account::FleetQuestion{e.account, e.ts_ns, {7, 0, 0, 0}});
    }
    account::FleetView v;
    EXPECT_FALSE(link.take(v));  // nothing can be read back
    link.stop();
    done.store(true);
    reader.join();
    const FleetStats s = link.stats();
    EXPECT_EQ(s.get(FleetCtr::EvidenceQueued), uint64_t(accepted));
    EXPECT_EQ(s.get(FleetCtr::EvidenceQueued) + s.get(FleetCtr::EvidenceDropped), uint64_t(kN));
    EXPECT_GT(s.get(FleetCtr::PublishFailed), 0u);
    EXPECT_EQ(s.get(FleetCtr::Published), 0u);
    EXPECT_GE(s.get(FleetCtr::RedisConnectFailures), 1u);
    EXPECT_FALSE(link.take(v));
}
