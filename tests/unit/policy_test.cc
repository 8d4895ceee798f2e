// Account signals over windows, and policy evaluation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "account/account_state.h"
#include "account/policy.h"
#include "rules/rule_set.h"

using namespace sluice;
using namespace sluice::account;

namespace {
constexpr uint64_t kSec = 1'000'000'000ull;

Observation obs(uint64_t t_s, const char* ip, uint16_t classes = 0) {
    Observation o;
    o.ts_ns = t_s * kSec;
    o.src = *IpAddress::parse(ip);
    o.ua_hash = 7;
    o.hit_classes = classes;
    return o;
}

Policy shipped() {
    std::string err;
    auto p = Policy::load(rules::default_rules_dir() + "/policy/default.yaml", err);
    EXPECT_TRUE(p) << err;
    return *p;
}
}  // namespace

TEST(AccountState, DistinctAddressesAndPrefixesWithinError) {
    AccountState s(600 * kSec);
    for (int i = 0; i < 300; ++i) {
        const std::string ip =
            "100." + std::to_string(64 + i % 40) + ".7." + std::to_string(i % 250 + 1);
        s.observe(obs(1000 + i, ip.c_str()));
    }
    const AccountSignals g = s.signals(1300 * kSec);
    EXPECT_EQ(g.requests, 300);
    // 128 registers per sketch: within three standard errors (9.2% each).
    const double se = HyperLogLog(7).standard_error();
    EXPECT_NEAR(g.distinct_ips, 300, 300 * 3 * se);
    EXPECT_NEAR(g.distinct_prefixes, 40, 40 * 3 * se);
    EXPECT_NEAR(g.distinct_user_agents, 1, 0.1);
    // Where the policy's thresholds sit (a handful of networks), linear counting is near exact.
    AccountState few(600 * kSec);
    for (int i = 0; i < 9; ++i)
        few.observe(obs(1000 + i, ("100." + std::to_string(70 + i) + ".1.1").c_str()));
    EXPECT_NEAR(few.signals(1010 * kSec).distinct_prefixes, 9, 0.5);
}

TEST(AccountState, OldActivityAgesOut) {
    AccountState s(100 * kSec);
    for (int i = 0; i < 10; ++i) s.observe(obs(10 + i, "198.18.0.1", 1));
    EXPECT_EQ(s.signals(20 * kSec).hits[0], 10);
    EXPECT_EQ(s.signals(20 * kSec).requests, 10);
    // Within one to two half-windows the activity is still counted, after that it is gone.
    EXPECT_EQ(s.signals(75 * kSec).requests, 10);
    EXPECT_EQ(s.signals(200 * kSec).requests, 0);
}

TEST(AccountState, InterarrivalRegularity) {
    AccountState regular(3600 * kSec), random(3600 * kSec);
    std::mt19937 rng(1);
    std::exponential_distribution<> gap(1.0 / 20);
    double t = 100;
    for (int i = 0; i < 200; ++i) {
        Observation a = obs(0, "198.18.0.1");
        a.ts_ns = (100 + 15ull * i) * kSec;
        regular.observe(a);
        t += gap(rng);
        Observation b = obs(0, "198.18.0.2");
        b.ts_ns = static_cast<uint64_t>(t * 1e9);
        random.observe(b);
    }
    EXPECT_LT(regular.signals(4000 * kSec).interarrival_cv, 0.01);
    EXPECT_NEAR(random.signals(uint64_t(t * 1e9)).interarrival_cv, 1.0, 0.25);  // Poisson: CV ~ 1
}

TEST(Policy, ShippedPolicyDecisions) {
    const Policy p = shipped();
    std::array<char, 16> id{};
    AccountSignals benign;
    benign.requests = 40;
    benign.distinct_ips = benign.distinct_prefixes = 1;
    benign.distinct_user_agents = 1;
    benign.interarrival_cv = 1.1;
    EXPECT_EQ(p.decide(id, benign).verdict, Verdict::Pass);

    AccountSignals traveller = benign;  // a few networks: still fine
    traveller.distinct_prefixes = 3;
    EXPECT_EQ(p.decide(id, traveller).verdict, Verdict::Pass);

    AccountSignals hydra = benign;
    hydra.hits[static_cast<size_t>(RuleClass::Distillation)] = 6;
    hydra.distinct_prefixes = 12;
    const Decision d = p.decide(id, hydra);
    EXPECT_EQ(d.verdict, Verdict::Block);  // 50 + 40
    ASSERT_EQ(d.reasons.size(), 2u);
    EXPECT_EQ(d.reasons[0]->name, "distillation-prompts");
    EXPECT_EQ(d.reasons[1]->name, "many-networks");

    AccountSignals sweeper = benign;
    sweeper.hits[static_cast<size_t>(RuleClass::Distillation)] = 3;
    sweeper.hits[static_cast<size_t>(RuleClass::Recon)] = 9;
    const Decision r = p.decide(id, sweeper);
    EXPECT_EQ(r.verdict, Verdict::RateLimit);  // 50 + 20
    EXPECT_EQ(r.rate_per_minute, 10);

    AccountSignals relay = benign;
    relay.hits[static_cast<size_t>(RuleClass::Reseller)] = 3;
    relay.distinct_prefixes = 15;
    relay.claim_mismatches = 5;
    EXPECT_EQ(p.decide(id, relay).verdict, Verdict::Block);  // 40 + 40 + 30

    AccountSignals few = relay;
    few.requests = 5;  // many-networks needs 10 requests of evidence
    EXPECT_EQ(p.decide(id, few).score, 70);
}

// The HTTP/2 client fingerprint next to JA4: a key framed by four HTTP/2 stacks within the
// window, against one framed by one, and a policy rule on the signal.
TEST(AccountState, DistinctHttp2FingerprintsAndTheirPolicyRule) {
    AccountState shared(600 * kSec), single(600 * kSec);
    const char* fps[] = {"3:100;4:33554432;2:0|33488897|0|m,p,s,a",
                         "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p",
                         "3:100;4:65535|00|3:0:0:201|m,p,s,a", "2:0;4:4194304|10485760|0|m,s,a,p"};
    for (int i = 0; i < 40; ++i) {
        Observation o = obs(1000 + i, "100.64.1.1");
        o.h2fp_hash = hash_item(fps[i % 4]);
        shared.observe(o);
        o.h2fp_hash = hash_item(fps[0]);
        single.observe(o);
        Observation h1 = obs(1000 + i, "100.64.1.1");  // HTTP/1.1 requests add nothing
        single.observe(h1);
    }
    EXPECT_NEAR(shared.signals(1100 * kSec).distinct_h2_fingerprints, 4, 0.5);
    EXPECT_NEAR(single.signals(1100 * kSec).distinct_h2_fingerprints, 1, 0.1);
    std::string err;
    auto p = Policy::parse(
        "window: 600\nrules:\n  - {name: h2, signal: distinct_h2_fingerprints, above: 2, "
        "score: 100, reason: many HTTP/2 stacks}\nactions:\n  - {score: 50, action: alert}\n",
        "p.yaml", err);
    ASSERT_TRUE(p) << err;
    std::array<char, 16> a;
    a.fill('a');
    EXPECT_EQ(p->decide(a, shared.signals(1100 * kSec)).verdict, Verdict::Alert);
    EXPECT_EQ(p->decide(a, single.signals(1100 * kSec)).verdict, Verdict::Pass);
}

TEST(Policy, AllowlistAndErrors) {
    std::string err;
    auto p = Policy::parse(
        "window: 60\nrules:\n  - {name: r, signal: requests, above: 1, score: 100}\n"
        "actions:\n  - {score: 50, action: block}\nallow: {accounts: [aaaaaaaaaaaaaaaa]}\n",
        "p.yaml", err);
    ASSERT_TRUE(p) << err;
    AccountSignals s;
    s.requests = 5;
    std::array<char, 16> a, b;
    a.fill('a');
    b.fill('b');
    EXPECT_TRUE(p->decide(a, s).allowlisted);
    EXPECT_EQ(p->decide(a, s).verdict, Verdict::Pass);
    EXPECT_EQ(p->decide(b, s).verdict, Verdict::Block);
    EXPECT_FALSE(p->decide(b, s).answer_reset);  // answered 403 unless the action says reset
    auto r = Policy::parse(
        "window: 60\nrules:\n  - {name: r, signal: requests, above: 1, score: 100}\n"
        "actions:\n  - {score: 50, action: block, answer: reset}\n",
        "p.yaml", err);
    ASSERT_TRUE(r) << err;
    EXPECT_TRUE(r->decide(b, s).answer_reset);

    struct Bad {
        const char* yaml;
        const char* where;
        const char* what;
    } bad[] = {
        {"rules:\n  - {name: r, signal: nope, above: 1}\n", "p.yaml:2:23", "unknown signal 'nope'"},
        {"rules:\n  - {name: r, signal: requests}\n", "p.yaml:2:5", "needs above or below"},
        {"rules:\n  - {name: r, signal: hits.x, above: 1}\n", "p.yaml:2:23", "unknown rule class"},
        {"actions:\n  - {score: 1, action: drop}\n", "p.yaml:2:24",
         "alert, tag, rate-limit or block"},
        {"actions:\n  - {score: 1, action: rate-limit}\n", "p.yaml:2:5", "rate_per_minute"},
        {"actions:\n  - {score: 1, action: block, answer: html}\n", "p.yaml:2:39",
         "answer must be http or reset"},
        {"windw: 5\n", "p.yaml:1:1", "unknown key 'windw'"},
        {"rules: [\n", "p.yaml:", ""},
    };
    for (const Bad& x : bad) {
        EXPECT_FALSE(Policy::parse(x.yaml, "p.yaml", err)) << x.yaml;
        EXPECT_NE(err.find(x.where), std::string::npos) << err;
        EXPECT_NE(err.find(x.what), std::string::npos) << err;
    }
}

#include <nlohmann/json.hpp>

#include "account/correlator.h"
#include "correlator_fixtures.h"

namespace {
struct Collect final : EventSink {
    std::vector<std::pair<EveOrder, nlohmann::json>> records;
    bool emit(EveOrder o, std::string_view json) override {
        records.emplace_back(o, nlohmann::json::parse(json));
        return true;
    }
};
Observation from(const char* account, uint64_t t_s, const char* ip, uint16_t classes,
                 uint64_t seq) {
    Observation o = obs(t_s, ip, classes);
    std::memcpy(o.account.data(), account, 16);
    o.seq = seq;
    const std::string_view hint =
        "sk-ant-api03-\xE2\x80\xA6"
        "AAAA";
    std::memcpy(o.hint.data(), hint.data(), hint.size());
    o.hint_len = static_cast<uint8_t>(hint.size());
    return o;
}
}  // namespace

TEST(Correlator, RecordsWhenAnAccountsActionChanges) {
    Collect sink;
    Correlator c(std::make_shared<const Policy>(shipped()), &sink, 9);
    const uint16_t dist = 1u << static_cast<unsigned>(RuleClass::Distillation);
    uint64_t seq = 100;
    // A customer: forty ordinary requests from one address. No record.
    for (int i = 0; i < 40; ++i)
        c.observe(from("aaaaaaaaaaaaaaaa", 1000 + 7 * i, "198.18.0.9", 0, seq++));
    // A hydra account: distillation prompts from rotating residential addresses.
    for (int i = 0; i < 12; ++i) {
        const std::string ip = "100." + std::to_string(64 + i) + ".1." + std::to_string(i + 1);
        c.observe(from("bbbbbbbbbbbbbbbb", 1000 + 10 * i, ip.c_str(), dist, seq++));
    }
    EXPECT_EQ(c.accounts(), 2u);
    EXPECT_EQ(c.find("aaaaaaaaaaaaaaaa")->verdict, Verdict::Pass);
    EXPECT_EQ(c.find("bbbbbbbbbbbbbbbb")->verdict, Verdict::Block);
    // Two changes for the hydra: alert once the prompts add up, block once the networks do.
    ASSERT_EQ(sink.records.size(), 2u);
    const auto& first = sink.records[0].second["account"];
    const auto& second = sink.records[1].second["account"];
    EXPECT_EQ(first["action"], "alert");
    EXPECT_EQ(second["action"], "block");
    EXPECT_EQ(second["id"], "bbbbbbbbbbbbbbbb");
    EXPECT_EQ(second["reasons"].size(), 2u);
    EXPECT_GE(second["signals"]["distinct_prefixes"].get<double>(), 9);
    EXPECT_EQ(second["signals"]["rule_hits"]["distillation"], 10);  // decided at request 10
    EXPECT_EQ(second["signals"]["requests"], 10);
    EXPECT_LT(sink.records[0].first, sink.records[1].first);
    EXPECT_EQ(sink.records[0].first.source, 9u);
    EXPECT_EQ(c.counters().flagged, 1u);
}

TEST(Correlator, SharedExitsFormClustersAndFlagThemTogether) {
    Collect sink;
    Correlator c(std::make_shared<const Policy>(shipped()), &sink, 3);
    const uint16_t dist = 1u << static_cast<unsigned>(RuleClass::Distillation);
    uint64_t seq = 1;
    // An office: six accounts behind one NAT address, ordinary requests. One cluster, no flag.
    const char* office[] = {"o1oooooooooooooo", "o2oooooooooooooo", "o3oooooooooooooo",
                            "o4oooooooooooooo", "o5oooooooooooooo", "o6oooooooooooooo"};
    for (int round = 0; round < 3; ++round)
        for (const char* a : office) {
            c.observe(from(a, 100 + seq, "198.19.1.1", 0, seq));
            ++seq;
        }
    // A hydra: four accounts rotating over three proxy exits, two distillation prompts each
    // per round: no account alone passes the per-account threshold (above 2) until round 2,
    // but their cluster passes 10 hits first.
    const char* hydra[] = {"h1hhhhhhhhhhhhhh", "h2hhhhhhhhhhhhhh", "h3hhhhhhhhhhhhhh",
                           "h4hhhhhhhhhhhhhh"};
    const char* exits[] = {"100.70.1.1", "100.80.2.2", "100.90.3.3"};
    for (int round = 0; round < 2; ++round)
        for (int k = 0; k < 4; ++k)
            for (int r = 0; r < 2; ++r) {
                c.observe(from(hydra[k], 200 + seq, exits[(k + r + round) % 3], dist, seq));
                ++seq;
            }
    const auto [office_id, office_size] = c.cluster_of(*c.find(office[0]));
    EXPECT_EQ(office_size, 6u);
    EXPECT_EQ(office_id, office[0]);  // named after its first member
    for (const char* a : office) EXPECT_EQ(c.find(a)->verdict, Verdict::Pass);
    const auto [hydra_id, hydra_size] = c.cluster_of(*c.find(hydra[3]));
    EXPECT_EQ(hydra_size, 4u);
    EXPECT_EQ(hydra_id, hydra[0]);
    for (const char* a : hydra) EXPECT_NE(c.find(a)->verdict, Verdict::Pass) << a;
    // Every hydra member got a record naming the cluster; the office got none.
    std::set<std::string> recorded;
    for (const auto& [order, j] : sink.records) {
        recorded.insert(j["account"]["id"].get<std::string>());
        EXPECT_EQ(j["account"]["cluster"]["id"], std::string(hydra[0]));
    }
    EXPECT_EQ(recorded.size(), 4u);
    // The member flagged through its cluster says why.
    bool via_cluster = false;
    for (const auto& [order, j] : sink.records)
        for (const auto& r : j["account"]["reasons"])
            via_cluster |= r.get<std::string>().find("cluster") != std::string::npos;
    EXPECT_TRUE(via_cluster);
}

// QUIC hellos carry no credential: the correlator keeps the last QUIC JA4 per address, and
// the accounts that address sends requests for count it (distinct_quic_ja4), within the
// window; other addresses' accounts do not. A policy rule can score it.
TEST(Correlator, QuicHellosJoinTheAccountsOfTheirAddress) {
    Collect sink;
    Correlator c(sluice::testing::policy_of(
                     "window: 600\nrules:\n  - {name: q, signal: distinct_quic_ja4, above: 3, "
                     "score: 100, reason: several QUIC stacks}\nactions:\n"
                     "  - {score: 50, action: alert}\n"),
                 &sink, 1);
    uint64_t seq = 1;
    auto hello = [&](uint64_t t_s, const char* ip, const char* ja4) {
        Observation o = obs(t_s, ip);
        o.kind = ObservationKind::QuicHello;
        o.has_account = false;
        o.ja4_hash = hash_item(ja4);
        o.seq = seq++;
        c.observe(o);
    };
    // Six QUIC stacks from one address, each followed by a request of the same account
    // (a 32-register sketch: small counts are near exact, not exact).
    for (int i = 0; i < 6; ++i) {
        hello(1000 + 2 * i, "198.18.5.5", ("q13d03" + std::to_string(10 + i) + "h3_stack").c_str());
        c.observe(from("qqqqqqqqqqqqqqqq", 1001 + 2 * i, "198.18.5.5", 0, seq++));
    }
    c.observe(from("pppppppppppppppp", 1020, "198.18.9.9", 0, seq++));  // another address
    EXPECT_EQ(c.find("qqqqqqqqqqqqqqqq")->verdict, Verdict::Alert);
    EXPECT_EQ(c.find("pppppppppppppppp")->verdict, Verdict::Pass);
    ASSERT_EQ(sink.records.size(), 1u);
    EXPECT_EQ(sink.records[0].second["account"]["id"], "qqqqqqqqqqqqqqqq");
    EXPECT_GT(sink.records[0].second["account"]["signals"]["distinct_quic_ja4"].get<double>(), 3);
    EXPECT_EQ(c.accounts(), 2u);  // hellos make no account
    // A hello older than the window does not count; a fresh one does.
    hello(1030, "198.18.7.7", "q13d0310h3_stale");
    c.observe(from("oooooooooooooooo", 1030 + 700, "198.18.7.7", 0, seq++));
    hello(1731, "198.18.8.8", "q13d0310h3_fresh");
    c.observe(from("rrrrrrrrrrrrrrrr", 1741, "198.18.8.8", 0, seq++));
    std::ostringstream out;
    c.write_accounts(out);
    std::map<std::string, nlohmann::json> by_id;
    std::istringstream lines(out.str());
    for (std::string line; std::getline(lines, line);) {
        const auto j = nlohmann::json::parse(line);
        by_id[j["account"]["id"]] = j["account"]["signals"];
    }
    ASSERT_TRUE(by_id.count("oooooooooooooooo") && by_id.count("rrrrrrrrrrrrrrrr"));
    EXPECT_FALSE(by_id["oooooooooooooooo"].contains("distinct_quic_ja4"));
    EXPECT_NEAR(by_id["rrrrrrrrrrrrrrrr"]["distinct_quic_ja4"].get<double>(), 1, 0.1);
}
