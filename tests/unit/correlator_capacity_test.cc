// The correlator's capacity (policy `capacity`): floods of credentials, of enforced accounts
// and of signal keys stay within it, evict the weakest evidence first, keep what is enforced
// (folded into its network when there is too much of it), and credential churn is a signal.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <random>

#include "account/correlator.h"
#include "correlator_fixtures.h"
#include "verdict/enforcement.h"

using namespace sluice;
using namespace sluice::account;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;
constexpr uint64_t kMs = 1'000'000ull;

using Collect = sluice::testing::CollectRecords;
using sluice::testing::policy_of;

IpAddress ip(const std::string& s) {
    return *IpAddress::parse(s);
}

std::string acct(uint64_t i) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(i));
    return b;
}

struct Feed {
    Correlator& c;
    uint64_t seq = 1;
    void operator()(const std::string& account, uint64_t t_ms, const std::string& src,
                    uint16_t classes = 0) {
        Observation o;
        std::memcpy(o.account.data(), account.data(), 16);
        o.ts_ns = kT0 + t_ms * kMs;
        o.seq = seq++;
        o.src = ip(src);
        o.hit_classes = classes;
        c.observe(o);
    }
};

constexpr uint16_t kDistill = 1u << static_cast<unsigned>(RuleClass::Distillation);

}  // namespace

TEST(CorrelatorCapacity, CredentialFloodStaysWithinCapacityAndKeepsTheEvidence) {
    auto policy = policy_of(R"(
window: 600
clusters: {link_by: [ip]}
capacity: {accounts: 256, enforced: 64}
rules:
  - {name: distill, signal: hits.distillation, above: 2, score: 100}
  - {name: churn, signal: prefix_new_accounts, above: 100, score: 30,
     reason: "many never-seen credentials from its network"}
actions:
  - {score: 100, action: block}
  - {score: 30, action: alert}
)");
    Collect sink;
    Correlator c(policy, &sink, 1);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    c.set_publisher(&pub);
    Feed feed{c};
    // A customer with history and a blocked distiller, before the flood.
    for (int i = 0; i < 30; ++i) feed(acct(0xc0ffee), 10 * i, "198.51.100.7");
    for (int i = 0; i < 4; ++i) feed(acct(0xd15), 300 + i, "203.0.113.9", kDistill);
    ASSERT_EQ(c.find(acct(0xd15))->effective(), Verdict::Block);

    // Ten thousand random credentials from one /24, one request each, within the window.
    std::mt19937_64 rng(7);
    for (int i = 0; i < 10000; ++i)
        feed(acct(rng() | 1ull << 60), 1000 + i, "100.64.3." + std::to_string(1 + i % 250));
    EXPECT_LE(c.accounts(), 256u);
    EXPECT_EQ(c.counters().tracked, c.accounts());
    EXPECT_EQ(c.counters().capacity, 256u);
    EXPECT_GE(c.counters().evicted, 10000u - 256u);
    EXPECT_GT(c.counters().evictions, 0u);
    EXPECT_EQ(c.counters().accounts, 10002u);  // seen, not held
    // The weakest evidence went: the customer's history and the enforced account stayed.
    const Correlator::Entry* customer = c.find(acct(0xc0ffee));
    ASSERT_NE(customer, nullptr);
    ASSERT_NE(customer->state, nullptr);
    const Correlator::Entry* distiller = c.find(acct(0xd15));
    ASSERT_NE(distiller, nullptr);
    EXPECT_EQ(distiller->effective(), Verdict::Block);
    ASSERT_TRUE(c.flush());
    EXPECT_NE(slot.current()->find(account_key(acct(0xd15)), ip("203.0.113.9"), 0, kT0), nullptr);

    // Credential churn: past a hundred new credentials from the /24 each new one is flagged,
    // and its record says why; the customer elsewhere is not.
    size_t churn = 0;
    for (const auto& r : sink.records)
        if (r["account"]["action"] == "alert") {
            EXPECT_GT(r["account"]["signals"]["prefix_new_accounts"].get<double>(), 100);
            EXPECT_EQ(r["account"]["reasons"][0], "many never-seen credentials from its network");
            ++churn;
        }
    EXPECT_GT(churn, 9000u);
    EXPECT_EQ(customer->verdict, Verdict::Pass);
    // The memory estimate follows the table, not the flood.
    EXPECT_LT(c.memory_bytes(), 256 * 4096 + 8 * 1024 * 1024);

    // A customer arriving after the flood is tracked and judged like before it.
    for (int i = 0; i < 4; ++i) feed(acct(0xbeef), 20000 + i, "192.0.2.44", kDistill);
    ASSERT_NE(c.find(acct(0xbeef)), nullptr);
    EXPECT_EQ(c.find(acct(0xbeef))->effective(), Verdict::Block);
}

TEST(CorrelatorCapacity, ClusteredFloodEvictsAndReindexesWithoutLosingTheCluster) {
    // Every flood credential shares one exit, so the flood is one growing cluster: members
    // must still be evictable, and the survivors' cluster stays consistent.
    auto policy = policy_of(R"(
window: 600
clusters: {link_by: [ip]}
capacity: {accounts: 128, enforced: 32}
rules:
  - {name: distill, signal: hits.distillation, above: 0, score: 100}
actions:
  - {score: 100, action: block}
)");
    Collect sink;
    Correlator c(policy, &sink, 1);
    Feed feed{c};
    // Two accounts with history behind one exit: a cluster of two.
    for (int i = 0; i < 20; ++i) {
        feed(acct(0xa1), 10 * i, "100.64.0.1");
        feed(acct(0xa2), 10 * i + 5, "100.64.0.1");
    }
    for (uint64_t i = 0; i < 2000; ++i) feed(acct(0xf000 + i), 1000 + i, "100.64.9.9");
    EXPECT_LE(c.accounts(), 128u);
    EXPECT_GT(c.counters().evicted, 1800u);
    ASSERT_NE(c.find(acct(0xa1)), nullptr);
    ASSERT_NE(c.find(acct(0xa2)), nullptr);
    // More traffic from the two: still one cluster of exactly the two of them, named after
    // the first (indices were compacted in order).
    feed(acct(0xa1), 5000, "100.64.0.1");
    feed(acct(0xa2), 5001, "100.64.0.1");
    const auto [id, size] = c.cluster_of(*c.find(acct(0xa2)));
    EXPECT_EQ(id, acct(0xa1));
    EXPECT_EQ(size, 2u);
    // The flood's survivors are linked among themselves only, and every listed cluster
    // names accounts that exist.
    const auto clusters = nlohmann::json::parse(c.clusters_json(10));
    for (const auto& cl : clusters)
        for (const auto& m : cl["members"]) EXPECT_NE(c.find(m.get<std::string>()), nullptr);
    // A distiller behind the flood's exit is judged on its own evidence (no stale index
    // answers for it).
    feed(acct(0xd00d), 6000, "100.64.9.9", kDistill);
    EXPECT_EQ(c.find(acct(0xd00d))->effective(), Verdict::Block);
}

TEST(CorrelatorCapacity, EnforcedAccountsPastTheCapAreFoldedIntoTheirNetwork) {
    auto policy = policy_of(R"(
window: 600
clusters: {link_by: []}
capacity: {accounts: 128, enforced: 16}
rules:
  - {name: distill, signal: hits.distillation, above: 0, score: 100}
actions:
  - {score: 100, action: block, hold: 3600}
)");
    Collect sink;
    Correlator c(policy, &sink, 1);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    c.set_publisher(&pub);
    Feed feed{c};
    // Forty blocked accounts, each from its own /24, then ordinary traffic that fills the table.
    for (int i = 0; i < 40; ++i)
        feed(acct(0xb000 + i), i, "198.18." + std::to_string(i) + ".5", kDistill);
    for (uint64_t i = 0; i < 400; ++i) feed(acct(0xe000 + i), 100 + i, "192.0.2.1");
    EXPECT_LE(c.accounts(), 128u);
    EXPECT_GT(c.counters().folded, 0u);
    size_t kept = 0;
    for (int i = 0; i < 40; ++i) kept += c.find(acct(0xb000 + i)) != nullptr;
    EXPECT_LE(kept, 16u);
    ASSERT_TRUE(c.flush());
    const EnforcementTable& t = *slot.current();
    // Every blocked account is still blocked: by its own entry (the newest are kept) or by
    // its network's, which a fresh key from that network meets too.
    for (int i = 0; i < 40; ++i) {
        const std::string src = "198.18." + std::to_string(i) + ".77";
        const Enforcement* e = t.find(account_key(acct(0xb000 + i)), ip(src), 0, kT0 + 1000 * kMs);
        ASSERT_NE(e, nullptr) << i;
        EXPECT_EQ(e->verdict, Verdict::Block);
        const bool own = c.find(acct(0xb000 + i)) != nullptr;
        EXPECT_EQ(e->target, own ? EnforceTarget::Account : EnforceTarget::Prefix) << i;
    }
    EXPECT_EQ(c.counters().folded, 40u - kept);
    // The folded decision ends with the account's hold.
    EXPECT_EQ(t.find(0, ip("198.18.0.77"), 0, kT0 + 3601 * 1000 * kMs), nullptr);
}

TEST(CorrelatorCapacity, SignalKeysStayWithinTheirCap) {
    auto policy = policy_of(R"(
window: 600
clusters: {link_by: [ip, prefix]}
capacity: {accounts: 64, enforced: 16, keys: 256}
rules:
  - {name: many, signal: ip_accounts, above: 1000, score: 10}
actions:
  - {score: 10, action: alert}
)");
    Correlator c(policy, nullptr, 1);
    Feed feed{c};
    // One account from thousands of random IPv6 addresses, each its own /48.
    std::mt19937_64 rng(3);
    char buf[64];
    for (int i = 0; i < 5000; ++i) {
        std::snprintf(buf, sizeof buf, "2001:%x:%x::%x", static_cast<unsigned>(rng() & 0xffff),
                      static_cast<unsigned>(rng() & 0xffff), static_cast<unsigned>(rng() & 0xffff));
        feed(acct(0x5), i, buf);
    }
    EXPECT_GT(c.counters().keys_trimmed, 0u);
    // Links, exits and infrastructure counters: at most the cap each (plus one insertion).
    const size_t before = c.memory_bytes();
    for (int i = 0; i < 5000; ++i) {
        std::snprintf(buf, sizeof buf, "2001:db9:%x::%x", static_cast<unsigned>(rng() & 0xffff),
                      static_cast<unsigned>(rng() & 0xffff));
        feed(acct(0x5), 6000 + i, buf);
    }
    EXPECT_LE(c.memory_bytes(), before + 64 * 1024);
    EXPECT_LT(c.memory_bytes(), 2 * 1024 * 1024 + 256 * 10 * 256);
}

TEST(CorrelatorCapacity, PolicyCapacityErrorsNameTheKey) {
    struct Case {
        const char* yaml;
        const char* what;
    } cases[] = {
        {"capacity: {accounts: 10}", "test.yaml:1:22: capacity.accounts is 64..50000000"},
        {"capacity: {acounts: 1000}", "test.yaml:1:12: unknown key 'acounts' in capacity"},
        {"capacity: {accounts: 1000, enforced: 600}", "capacity.enforced is at most half"},
        {"capacity: {memory_mb: -1}", "capacity.memory_mb is 16..1048576"},
        {"capacity: 5", "capacity is a mapping"},
    };
    for (const Case& x : cases) {
        std::string err;
        EXPECT_FALSE(Policy::parse(x.yaml, "test.yaml", err)) << x.yaml;
        EXPECT_NE(err.find(x.what), std::string::npos) << err;
    }
    std::string err;
    auto p = Policy::parse("capacity: {accounts: 1000, enforced: 100, keys: 5000, memory_mb: 64}",
                           "test.yaml", err);
    ASSERT_TRUE(p) << err;
    EXPECT_EQ(p->capacity().accounts, 1000u);
    EXPECT_EQ(p->capacity().keys, 5000u);
}

TEST(CorrelatorCapacity, TheMemoryBudgetLowersTheAccountCap) {
    auto policy = policy_of("capacity: {accounts: 1000000, memory_mb: 16}");
    Correlator c(policy, nullptr, 1);
    const size_t per_account = AccountState::bytes_per_account();
    EXPECT_LT(c.counters().capacity, (16u << 20) / per_account);
    EXPECT_GT(c.counters().capacity, (16u << 20) / 4 / per_account);
}
