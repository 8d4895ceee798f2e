// The fleet's Redis routing against real servers, started by tests/integration/fleet_test.py
// (a standalone redis-server with an ACL user, and a cluster of three masters with a replica
// each): key slots against the server's own CLUSTER KEYSLOT, pipelines spread over masters,
// ASK during a slot migration and MOVED after it, AUTH, and an unreachable seed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fleet/key_slot.h"
#include "fleet/redis_cluster.h"

using namespace sluice::fleet;

namespace {

std::vector<Endpoint> endpoints(const char* env) {
    std::vector<Endpoint> out;
    const char* v = std::getenv(env);
    if (v == nullptr) return out;
    std::string s = v;
    size_t at = 0;
    while (at <= s.size()) {
        const size_t comma = s.find(',', at);
        const std::string one =
            s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        Endpoint e;
        if (parse_endpoint(one, e)) out.push_back(e);
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return out;
}

RedisCluster::Options options(std::vector<Endpoint> seeds) {
    RedisCluster::Options o;
    o.seeds = std::move(seeds);
    o.timeout = std::chrono::milliseconds(2000);
    return o;
}

RedisCommand cmd(std::initializer_list<std::string> args, size_t key_arg = 1) {
    return RedisCommand{std::vector<std::string>(args), key_arg};
}

class Cluster : public ::testing::Test {
  protected:
    void SetUp() override {
        seeds_ = endpoints("SLUICE_REDIS_CLUSTER");
        ASSERT_FALSE(seeds_.empty()) << "SLUICE_REDIS_CLUSTER is not set (run fleet_test.py)";
    }
    std::vector<Endpoint> seeds_;
};

}  // namespace

TEST_F(Cluster, SlotsAgreeWithTheServer) {
    RedisCluster c(options(seeds_));
    ASSERT_TRUE(c.refresh()) << c.last_error();
    EXPECT_FALSE(c.standalone());
    EXPECT_EQ(c.masters().size(), 3u);
    std::mt19937_64 rng(7);
    std::vector<std::string> keys = {"foo", "bar", "", "{", "}", "{}", "a{}b", "{{x}}", "x{y}z"};
    while (keys.size() < 2000) {
        std::string k;
        const size_t n = rng() % 24;
        for (size_t i = 0; i < n; ++i) k += static_cast<char>("ab{}:-0123456789xyz"[rng() % 19]);
        keys.push_back(k);
    }
    std::vector<RedisCommand> cmds;
    for (const std::string& k : keys) cmds.push_back(cmd({"CLUSTER", "KEYSLOT", k}, 99));
    const auto replies = c.run(cmds);
    ASSERT_EQ(replies.size(), keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        ASSERT_EQ(replies[i].type, RedisReply::Type::Integer) << replies[i].str;
        EXPECT_EQ(replies[i].integer, key_slot(keys[i])) << "key '" << keys[i] << "'";
    }
}

TEST_F(Cluster, PipelinesSpreadOverEveryMaster) {
    RedisCluster c(options(seeds_));
    std::vector<RedisCommand> sets, gets;
    std::set<std::string> owners;
    for (int i = 0; i < 300; ++i) {
        const std::string k = "spread:" + std::to_string(i);
        sets.push_back(cmd({"SET", k, std::to_string(i * 7)}));
        gets.push_back(cmd({"GET", k}));
    }
    for (const auto& r : c.run(sets)) EXPECT_EQ(r.str, "OK") << r.str;
    const auto got = c.run(gets);
    for (int i = 0; i < 300; ++i) {
        EXPECT_EQ(got[i].str, std::to_string(i * 7));
        owners.insert(c.owner(key_slot(gets[i].key())));
    }
    EXPECT_EQ(owners.size(), 3u);
    EXPECT_EQ(c.counters().moved, 0u);
    EXPECT_EQ(c.counters().lost, 0u);
    // HyperLogLogs of one account's windows share a slot: PFCOUNT unions them.
    const auto r =
        c.run(std::vector<RedisCommand>{cmd({"PFADD", "t:{acct:x}:ip:1", "a", "b", "c"}),
                                        cmd({"PFADD", "t:{acct:x}:ip:2", "c", "d"}),
                                        cmd({"PFCOUNT", "t:{acct:x}:ip:1", "t:{acct:x}:ip:2"})});
    EXPECT_EQ(r[2].integer, 4);
}

TEST_F(Cluster, AskDuringAMigrationMovedAfterIt) {
    RedisCluster c(options(seeds_));
    const std::string key = "{migrating}k";
    const uint16_t slot = key_slot(key);
    ASSERT_EQ(c.run(cmd({"SET", key, "v1"})).str, "OK");
    const std::string src_text = c.owner(slot);
    Endpoint src, dst, other;
    int found = 0;
    for (const Endpoint& m : c.masters()) {
        if (m.text() == src_text)
            src = m;
        else if (found++ == 0)
            dst = m;
        else
            other = m;
    }
    ASSERT_EQ(found, 2);
    RedisNode s(src, std::chrono::milliseconds(2000)), d(dst, std::chrono::milliseconds(2000)),
        o(other, std::chrono::milliseconds(2000));
    std::string err;
    ASSERT_TRUE(s.connect({}, err) && d.connect({}, err) && o.connect({}, err)) << err;
    const std::string src_id = s.command(cmd({"CLUSTER", "MYID"}, 99)).str;
    const std::string dst_id = d.command(cmd({"CLUSTER", "MYID"}, 99)).str;
    const std::string slot_s = std::to_string(slot);
    ASSERT_EQ(d.command(cmd({"CLUSTER", "SETSLOT", slot_s, "IMPORTING", src_id}, 99)).str, "OK");
    ASSERT_EQ(s.command(cmd({"CLUSTER", "SETSLOT", slot_s, "MIGRATING", dst_id}, 99)).str, "OK");
    const auto m = s.command(
        cmd({"MIGRATE", dst.host, std::to_string(dst.port), "", "0", "5000", "KEYS", key}, 99));
    ASSERT_EQ(m.str, "OK") << m.str;

    // The key left its source mid-migration: the source answers ASK, the router follows with
    // ASKING at the target, and the map stays as it was.
    EXPECT_EQ(c.run(cmd({"GET", key})).str, "v1");
    EXPECT_EQ(c.counters().asked, 1u);
    EXPECT_EQ(c.owner(slot), src_text);

    for (RedisNode* n : {&d, &s, &o})
        ASSERT_EQ(n->command(cmd({"CLUSTER", "SETSLOT", slot_s, "NODE", dst_id}, 99)).str, "OK");
    // Migration done: MOVED, and the next batch refreshes the map.
    EXPECT_EQ(c.run(cmd({"GET", key})).str, "v1");
    EXPECT_GE(c.counters().moved, 1u);
    const uint64_t moved = c.counters().moved;
    EXPECT_EQ(c.run(cmd({"SET", key, "v2"})).str, "OK");
    EXPECT_EQ(c.owner(slot), dst.text());
    EXPECT_EQ(c.counters().moved, moved);  // no redirection once the map is fresh
}

TEST(Standalone, ClusterSupportDisabledMeansOneNodeAndAuthWorks) {
    const auto seeds = endpoints("SLUICE_REDIS_STANDALONE");
    ASSERT_FALSE(seeds.empty()) << "SLUICE_REDIS_STANDALONE is not set (run fleet_test.py)";
    const char* user = std::getenv("SLUICE_REDIS_USER");
    const char* pass = std::getenv("SLUICE_REDIS_PASSWORD");
    ASSERT_TRUE(user && pass);
    {
        // Without credentials the ACL refuses (the default user is off in the test's server).
        RedisCluster c(options(seeds));
        const auto r = c.run(cmd({"SET", "x", "1"}));
        EXPECT_FALSE(r.ok());
    }
    {
        auto o = options(seeds);
        o.auth.user = user;
        o.auth.password = std::string(pass) + "-wrong";
        RedisCluster c(o);
        const auto r = c.run(cmd({"SET", "x", "1"}));
        EXPECT_EQ(r.type, RedisReply::Type::Lost);
        EXPECT_EQ(c.counters().connect_failures, 1u);
        EXPECT_EQ(c.last_error().find(pass), std::string::npos);  // never echoes the password
    }
    auto o = options(seeds);
    o.auth.user = user;
    o.auth.password = pass;
    RedisCluster c(o);
    EXPECT_EQ(c.run(cmd({"SET", "sluice-test:x", "1"})).str, "OK");
    EXPECT_TRUE(c.standalone());
    EXPECT_EQ(c.masters().size(), 1u);
    EXPECT_EQ(c.run(cmd({"INCRBY", "sluice-test:x", "41"})).integer, 42);
}

TEST(Unreachable, LostRepliesCountedWithBackoff) {
    // A port nothing listens on (the test harness reserves it).
    const auto seeds = endpoints("SLUICE_REDIS_DEAD");
    ASSERT_FALSE(seeds.empty());
    RedisCluster c(options(seeds));
    const auto r = c.run(std::vector<RedisCommand>{cmd({"SET", "a", "1"}), cmd({"GET", "a"})});
    ASSERT_EQ(r.size(), 2u);
    for (const auto& x : r) EXPECT_EQ(x.type, RedisReply::Type::Lost);
    EXPECT_EQ(c.counters().connect_failures, 1u);
    c.run(cmd({"GET", "a"}));  // within the backoff: no new attempt
    EXPECT_EQ(c.counters().connect_failures, 1u);
    EXPECT_EQ(c.counters().lost, 3u);
}

// Servers that lie (tests/support/hostile_redis.py): the router neither crashes nor loops,
// and every unanswered command is a counted Lost reply.
TEST(Hostile, MalformedSlotMapServesNothing) {
    const auto seeds = endpoints("SLUICE_REDIS_BAD_SLOTS");
    ASSERT_FALSE(seeds.empty());
    RedisCluster c(options(seeds));
    EXPECT_FALSE(c.refresh());
    const auto r = c.run(cmd({"SET", "k", "v"}));
    EXPECT_EQ(r.type, RedisReply::Type::Lost);
    EXPECT_FALSE(c.mapped());
    EXPECT_EQ(c.counters().lost, 1u);
}

TEST(Hostile, MovedToItselfStopsAfterTheRedirectionBound) {
    const auto seeds = endpoints("SLUICE_REDIS_MOVED_LOOP");
    ASSERT_FALSE(seeds.empty());
    RedisCluster c(options(seeds));
    const auto r = c.run(std::vector<RedisCommand>{cmd({"GET", "a"}), cmd({"GET", "b"})});
    for (const auto& x : r) {
        EXPECT_EQ(x.type, RedisReply::Type::Lost);
        EXPECT_EQ(x.str, "too many redirections");
    }
    EXPECT_LE(c.counters().moved, 2u * 6);
}

TEST(Hostile, TruncatedHugeReplyIsLostNotAllocated) {
    const auto seeds = endpoints("SLUICE_REDIS_TRUNCATED");
    ASSERT_FALSE(seeds.empty());
    RedisCluster c(options(seeds));
    const auto r = c.run(cmd({"GET", "a"}));
    EXPECT_EQ(r.type, RedisReply::Type::Lost);
    EXPECT_TRUE(c.standalone());
    // The connection is gone; the next call reconnects (no backoff after a good connect).
    EXPECT_EQ(c.run(cmd({"GET", "a"})).type, RedisReply::Type::Lost);
    EXPECT_EQ(c.counters().connects, 2u);
}

TEST(Hostile, RedirectOutsideTheClusterGetsNoConnection) {
    const auto seeds = endpoints("SLUICE_REDIS_MOVED_ELSEWHERE");
    ASSERT_FALSE(seeds.empty());
    RedisCluster c(options(seeds));
    const auto r = c.run(cmd({"GET", "a"}));
    EXPECT_EQ(r.type, RedisReply::Type::Lost);
    EXPECT_EQ(r.str, "redirect outside the cluster: 127.0.0.2:6390");
    EXPECT_EQ(c.counters().refused_redirects, 1u);
    EXPECT_EQ(c.counters().connects, 1u);  // the liar only: 127.0.0.2 was never dialled
    EXPECT_EQ(c.counters().moved, 0u);
}
