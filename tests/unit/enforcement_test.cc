// Enforcement: the snapshot table (longest prefix, strongest decision, expiry), token buckets,
// requests stopped in the pipeline (drop + RSTs both ways, the http record says why), and the
// correlator publishing what to enforce: deny lists, cluster targets with one bucket,
// prefixes; clusters linked by prompt templates and dissolving once their links age out; the
// shared-infrastructure signals; the ASN table.
#include <gtest/gtest.h>

#include <map>

#include <cstring>

#include "account/asn_table.h"
#include "account/correlator.h"
#include "account/identity.h"
#include "account/sketches.h"
#include "correlator_fixtures.h"
#include "pipeline_harness.h"
#include "verdict/enforcement.h"

using namespace sluice;
using namespace sluice::testing;
using namespace sluice::account;

namespace {
IpAddress ip(const char* s) {
    return *IpAddress::parse(s);
}
Enforcement block(EnforceTarget t = EnforceTarget::Account) {
    return Enforcement{Verdict::Block, t, 403, 0, 0, 0};
}
}  // namespace

TEST(EnforcementTable, LongestPrefixStrongestDecisionAndExpiry) {
    EnforcementTable t;
    Enforcement limit{Verdict::RateLimit, EnforceTarget::Prefix, 429, 60, 0, 0};
    t.set_prefix(*IpPrefix::parse("203.0.113.0/24"), limit);
    t.set_prefix(*IpPrefix::parse("203.0.113.128/25"), block(EnforceTarget::Prefix));
    t.set_prefix(*IpPrefix::parse("2001:db8:1::/48"), block(EnforceTarget::Prefix));
    t.set_account(account_key("00112233aabbccdd"), limit);
    Enforcement expiring = block(EnforceTarget::Ja4);
    expiring.expires_ns = 1000;
    t.set_ja4(77, expiring);
    EXPECT_EQ(t.size(), 5u);

    EXPECT_EQ(t.find(0, ip("203.0.113.5"), 0, 0)->verdict, Verdict::RateLimit);
    EXPECT_EQ(t.find(0, ip("203.0.113.200"), 0, 0)->verdict, Verdict::Block);  // the /25
    EXPECT_EQ(t.find(0, ip("203.0.114.1"), 0, 0), nullptr);
    EXPECT_EQ(t.find(0, ip("2001:db8:1:ffff::1"), 0, 0)->verdict, Verdict::Block);
    EXPECT_EQ(t.find(0, ip("2001:db8:2::1"), 0, 0), nullptr);
    // The account's rate limit and a blocked prefix: the block wins.
    const uint64_t acct = account_key("00112233aabbccdd");
    EXPECT_EQ(t.find(acct, ip("198.51.100.1"), 0, 0)->verdict, Verdict::RateLimit);
    EXPECT_EQ(t.find(acct, ip("203.0.113.200"), 0, 0)->verdict, Verdict::Block);
    // A JA4 entry until it expires (packet time).
    EXPECT_EQ(t.find(0, ip("198.51.100.1"), 77, 999)->target, EnforceTarget::Ja4);
    EXPECT_EQ(t.find(0, ip("198.51.100.1"), 77, 1000), nullptr);
    // Ids: hex parses, anything else still gets a stable non-zero key.
    EXPECT_EQ(account_key("00000000000000ff"), 0xffu);
    EXPECT_NE(account_key("not-an-account"), 0u);
    EXPECT_EQ(account_key("not-an-account"), account_key("not-an-account"));
    EXPECT_FALSE(is_account_id("00112233AABBCCDD"));
}

TEST(RateLimiter, BurstThenRefill) {
    RateLimiter r(64, 1);
    const uint64_t s = 1'000'000'000;
    // 60 per minute: a burst of ten seconds' worth, then one per second.
    int admitted = 0;
    for (int i = 0; i < 20; ++i) admitted += r.admit(42, 60, s);
    EXPECT_EQ(admitted, 10);
    EXPECT_FALSE(r.admit(42, 60, s + 500'000'000));
    EXPECT_TRUE(r.admit(42, 60, s + 1'000'000'000));
    EXPECT_FALSE(r.admit(42, 60, s + 1'000'000'000));
    EXPECT_TRUE(r.admit(43, 60, s));  // another subject has its own bucket
    // Split across two workers: each admits half.
    RateLimiter half(64, 2);
    admitted = 0;
    for (int i = 0; i < 20; ++i) admitted += half.admit(42, 60, s);
    EXPECT_EQ(admitted, 5);
}

namespace {
const std::string kBlockedKey = "sk-ant-api03-BLOCKEDKEY00000000000000000000000";
const std::string kOtherKey = "sk-ant-api03-GOODKEY0000000000000000000000000";

std::string request(const std::string& key) {
    const std::string body =
        R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"}]})";
    return "POST /v1/messages HTTP/1.1\r\nHost: api.example.com\r\nx-api-key: " + key +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

// One connection with one request; returns the disposition of the request's last packet.
Disposition send(Harness& h, Conversation& c, const std::string& key) {
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    return h.feed(c.client(kPA, request(key)));
}
}  // namespace

TEST(EnforcementPipeline, BlockedAccountIsResetOthersPass) {
    EngineConfig cfg;
    cfg.answers.http = false;  // the reset path (answer_test.cc: the HTTP answers)
    Harness h(cfg);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    h.p->set_enforcement(&slot, 1);
    Identifier ids(cfg.accounts);
    const auto blocked = ids.id_of(kBlockedKey);

    // Nothing published yet: the request passes.
    Conversation c0;
    c0.cport = 40000;
    EXPECT_EQ(send(h, c0, kBlockedKey), Disposition::Forward);

    auto t = std::make_unique<EnforcementTable>();
    t->set_account(account_key({blocked.data(), blocked.size()}), block());
    pub.publish(std::move(t));

    Conversation c1;
    c1.cport = 40001;
    const size_t before = h.inj.frames.size();
    EXPECT_EQ(send(h, c1, kBlockedKey), Disposition::Drop);
    ASSERT_EQ(h.inj.frames.size(), before + 2);  // an RST each way
    for (size_t i = before; i < h.inj.frames.size(); ++i) {
        const DecodedPacket d = decode_frame(h.inj.frames[i].second, LinkType::Ethernet);
        EXPECT_TRUE(d.has_flag(tcp_flag::kRst));
    }
    // Later packets of that flow are dropped too; another key's flow passes.
    EXPECT_EQ(h.feed(c1.client(kA)), Disposition::Drop);
    Conversation c2;
    c2.cport = 40002;
    EXPECT_EQ(send(h, c2, kOtherKey), Disposition::Forward);
    EXPECT_EQ(h.p->http_counters().enforced_block, 1u);

    h.p->finish(Timestamp{h.t});
    bool said = false;
    for (const auto& r : h.sink.of_type("http")) {
        if (!r.contains("sluice") || !r["sluice"].contains("enforcement")) continue;
        EXPECT_EQ(r["account"]["id"], std::string(blocked.data(), blocked.size()));
        EXPECT_EQ(r["sluice"]["enforcement"]["action"], "block");
        EXPECT_EQ(r["sluice"]["enforcement"]["http_status"], 403);
        said = true;
    }
    EXPECT_TRUE(said);
}

TEST(EnforcementPipeline, RateLimitedAccountIsCutOverBudget) {
    EngineConfig cfg;
    Harness h(cfg);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    h.p->set_enforcement(&slot, 1);
    Identifier ids(cfg.accounts);
    const auto id = ids.id_of(kOtherKey);
    auto t = std::make_unique<EnforcementTable>();
    // 12 per minute: a burst of 2, then one every 5 s (the harness moves 1 ms per packet).
    t->set_account(account_key({id.data(), id.size()}),
                   Enforcement{Verdict::RateLimit, EnforceTarget::Account, 429, 12, 0, 0});
    pub.publish(std::move(t));
    int forwarded = 0;
    for (uint16_t i = 0; i < 5; ++i) {
        Conversation c;
        c.cport = static_cast<uint16_t>(41000 + i);
        forwarded += send(h, c, kOtherKey) == Disposition::Forward;
    }
    EXPECT_EQ(forwarded, 2);
    EXPECT_EQ(h.p->http_counters().rate_limit_admitted, 2u);
    EXPECT_EQ(h.p->http_counters().enforced_rate_limit, 3u);
}

namespace {
using Collect = sluice::testing::CollectRecords;
using sluice::testing::policy_of;
Observation obs_of(const std::string& account, uint64_t t_ms, const char* src, uint64_t seq) {
    Observation o;
    std::memcpy(o.account.data(), account.data(), 16);
    o.ts_ns = 1'700'000'000'000'000'000ull + t_ms * 1'000'000ull;
    o.seq = seq;
    o.src = ip(src);
    o.pushed_ns = 5;
    return o;
}
std::string acct(int i) {
    char b[17];
    std::snprintf(b, sizeof b, "%016x", 0xa0000 + i);
    return b;
}
}  // namespace

TEST(CorrelatorEnforcement, DenyListAndClusterTargetShareOneBucket) {
    auto policy = policy_of(R"(
window: 600
rules:
  - {name: distill, signal: hits.distillation, above: 1, score: 100}
actions:
  - {score: 100, action: rate-limit, rate_per_minute: 30, target: cluster}
deny: {accounts: [00000000000dead0], prefixes: [192.0.2.0/24], ja4: [t13d1516h2_8daaf6152771_e5627efa2ab1]}
)");
    Collect sink;
    Correlator c(policy, &sink, 1);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    c.set_publisher(&pub);
    ASSERT_TRUE(c.flush());  // the deny list, before any traffic
    const EnforcementTable* t = slot.current();
    EXPECT_EQ(t->find(account_key("00000000000dead0"), ip("198.51.100.1"), 0, 0)->verdict,
              Verdict::Block);
    EXPECT_NE(t->find(0, ip("192.0.2.77"), 0, 0), nullptr);
    EXPECT_NE(t->find(0, ip("198.51.100.1"), hash_item("t13d1516h2_8daaf6152771_e5627efa2ab1"), 0),
              nullptr);
    EXPECT_FALSE(c.flush());  // nothing changed

    // Three accounts behind one exit; the third sends distillation prompts.
    const uint16_t dist = 1u << static_cast<unsigned>(RuleClass::Distillation);
    uint64_t seq = 1;
    for (int i = 0; i < 3; ++i) c.observe(obs_of(acct(i), seq * 10, "100.64.0.1", seq)), ++seq;
    for (int k = 0; k < 2; ++k) {
        Observation o = obs_of(acct(2), seq * 10, "100.64.0.1", seq);
        o.hit_classes = dist;
        c.observe(o);
        ++seq;
    }
    ASSERT_TRUE(c.flush());
    t = slot.current();
    // Every member is limited, through one bucket named after the cluster.
    const uint64_t bucket = account_key(acct(0));
    for (int i = 0; i < 3; ++i) {
        const Enforcement* e = t->find(account_key(acct(i)), ip("100.64.0.1"), 0, 0);
        ASSERT_NE(e, nullptr) << i;
        EXPECT_EQ(e->verdict, Verdict::RateLimit);
        EXPECT_EQ(e->target, EnforceTarget::Cluster);
        EXPECT_EQ(e->bucket, bucket);
        EXPECT_EQ(e->http_status, 429);
    }
    EXPECT_EQ(t->decided_steady_ns, 5u);
    // One record per member, each naming the cluster; two via the cluster say so.
    int via_cluster = 0;
    for (const auto& r : sink.records) {
        EXPECT_EQ(r["account"]["action"], "rate-limit");
        EXPECT_EQ(r["account"]["target"], "cluster");
        EXPECT_EQ(r["account"]["cluster"]["id"], acct(0));
        via_cluster += r["account"]["reasons"][0] == "member of a cluster under enforcement";
    }
    EXPECT_EQ(sink.records.size(), 3u);
    EXPECT_EQ(via_cluster, 2);
    // A new account joining the cluster is taken in.
    c.observe(obs_of(acct(3), seq * 10, "100.64.0.1", seq));
    ++seq;
    ASSERT_TRUE(c.flush());
    EXPECT_NE(slot.current()->find(account_key(acct(3)), ip("10.0.0.1"), 0, 0), nullptr);
}

TEST(CorrelatorEnforcement, PrefixTargetAndClustersDissolve) {
    auto policy = policy_of(R"(
window: 60
rules:
  - {name: farm, signal: hits.bot_farm, above: 0, score: 100}
actions:
  - {score: 100, action: block, target: prefix}
)");
    Collect sink;
    Correlator c(policy, &sink, 1);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    c.set_publisher(&pub);
    Observation o = obs_of(acct(1), 1000, "198.18.7.9", 1);
    o.hit_classes = 1u << static_cast<unsigned>(RuleClass::BotFarm);
    c.observe(o);
    ASSERT_TRUE(c.flush());
    EXPECT_NE(slot.current()->find(0, ip("198.18.7.200"), 0, 0), nullptr);  // the whole /24
    EXPECT_EQ(slot.current()->find(0, ip("198.18.8.1"), 0, 0), nullptr);

    // Two accounts share an exit, then stop: a window later the cluster is gone and the
    // idle, blocked account is released (its prefix with it).
    c.observe(obs_of(acct(2), 2000, "100.64.9.9", 2));
    c.observe(obs_of(acct(3), 3000, "100.64.9.9", 3));
    EXPECT_EQ(c.cluster_of(*c.find(acct(3))).second, 2u);
    c.observe(obs_of(acct(4), 200'000, "198.51.100.4", 4));
    EXPECT_EQ(c.cluster_of(*c.find(acct(3))).second, 1u);
    EXPECT_EQ(c.counters().clusters, 0u);
    EXPECT_EQ(c.find(acct(1))->verdict, Verdict::Pass);
    EXPECT_EQ(c.counters().active, 1u);  // only the account just seen holds sketches
    ASSERT_TRUE(c.flush());
    EXPECT_EQ(slot.current()->find(0, ip("198.18.7.200"), 0, 0), nullptr);
    EXPECT_EQ(sink.records.back()["account"]["action"], "pass");
}

TEST(CorrelatorClusters, TemplatesLinkAccountsAcrossAddresses) {
    auto policy = policy_of(
        "clusters: {link_by: [template], template_prompts: all}\nrules: []\nactions: []\n");
    Correlator c(policy, nullptr, 1);
    const char* slots[][2] = {{"photosynthesis", "a high school student"},
                              {"the French revolution", "a graduate historian"},
                              {"quantum tunnelling", "a curious ten year old"},
                              {"supply and demand", "a first year economics student"},
                              {"plate tectonics", "a museum visitor"},
                              {"public key cryptography", "a software engineer"}};
    uint64_t seq = 1;
    for (int i = 0; i < 6; ++i) {
        const std::string prompt =
            std::string(
                "Think step by step and show all of your reasoning before answering. "
                "Explain ") +
            slots[i][0] + " to " + slots[i][1] +
            ", then list three common misconceptions and grade your own answer from one to ten.";
        Observation o =
            obs_of(acct(10 + i), seq * 100, ("100.72." + std::to_string(i) + ".1").c_str(), seq);
        o.prompt_simhash = simhash(prompt);
        o.prompt_bytes = static_cast<uint32_t>(prompt.size());
        c.observe(o);
        ++seq;
    }
    // Unrelated prompts from other addresses stay alone.
    const char* other[] = {
        "Write a haiku about the sea in autumn, with a kigo for late October please.",
        "What is the time complexity of inserting into a red-black tree, and why is it so?"};
    for (int i = 0; i < 2; ++i) {
        Observation o =
            obs_of(acct(30 + i), seq * 100, ("198.51.100." + std::to_string(i + 1)).c_str(), seq);
        o.prompt_simhash = simhash(other[i]);
        o.prompt_bytes = static_cast<uint32_t>(std::strlen(other[i]));
        c.observe(o);
        ++seq;
    }
    EXPECT_EQ(c.cluster_of(*c.find(acct(15))).second, 6u);
    EXPECT_EQ(c.cluster_of(*c.find(acct(15))).first, acct(10));
    EXPECT_EQ(c.cluster_of(*c.find(acct(30))).second, 1u);
    EXPECT_EQ(c.cluster_of(*c.find(acct(31))).second, 1u);
}

TEST(CorrelatorClusters, FlaggedPromptFramesLinkAccounts) {
    // The shipped setting: only prompts that raised a rule hit link, by near-duplicate text or
    // by the same frame (first or last eight tokens) around different content.
    auto policy = policy_of("clusters: {link_by: [template]}\nrules: []\nactions: []\n");
    Correlator c(policy, nullptr, 1);
    const char* content[] = {
        "the model answer data system value step result function request because then which",
        "returns first list should each time case the model answer data system value step",
        "value step result function request because then which returns first list should each"};
    uint64_t seq = 1;
    auto send = [&](int account, const std::string& prompt, uint16_t classes) {
        Observation o = obs_of(acct(account), seq * 100,
                               ("100.80." + std::to_string(account) + ".1").c_str(), seq);
        o.prompt_simhash = simhash(prompt);
        const PromptFrame f = prompt_frame(prompt);
        o.prompt_head = f.head;
        o.prompt_tail = f.tail;
        o.prompt_bytes = static_cast<uint32_t>(prompt.size());
        o.hit_classes = classes;
        c.observe(o);
        ++seq;
    };
    const uint16_t dist = 1u << static_cast<unsigned>(RuleClass::Distillation);
    for (int i = 0; i < 3; ++i)  // one frame (task id folded), different content
        send(40 + i,
             "Task ID: 00" + std::to_string(4812 + 7 * i) +
                 " Domain: algebra. Solve the problem and answer in JSON with keys reasoning "
                 "and answer. Problem: " +
                 content[i],
             dist);
    EXPECT_EQ(c.cluster_of(*c.find(acct(42))).second, 3u);
    // The same frame without a rule hit: customers sharing a popular prompt stay apart.
    for (int i = 0; i < 2; ++i)
        send(50 + i,
             std::string("Summarise these meeting notes into action items for each attendee "
                         "please: ") +
                 content[i],
             0);
    EXPECT_EQ(c.cluster_of(*c.find(acct(51))).second, 1u);
    // Frames need content: short prompts have none.
    EXPECT_EQ(prompt_frame("Solve the problem and answer in JSON").head, 0u);
}

TEST(CorrelatorSignals, DistinctAccountsPerAddressAndAsns) {
    std::string err;
    auto asn = AsnTable::parse(
        "# test\n100.64.0.0/16,64500,Proxy ISP\n100.65.0.0/16,AS64501\n"
        "2001:db8::/32,64502\n",
        "asn.csv", err);
    ASSERT_TRUE(asn) << err;
    EXPECT_EQ(asn->lookup(ip("100.64.3.3")), 64500u);
    EXPECT_EQ(asn->lookup(ip("100.65.3.3")), 64501u);
    EXPECT_EQ(asn->lookup(ip("2001:db8::1")), 64502u);
    EXPECT_EQ(asn->lookup(ip("10.0.0.1")), 0u);
    EXPECT_FALSE(AsnTable::parse("100.64.0.0/16\n", "bad.csv", err));
    EXPECT_EQ(err, "bad.csv:1: expected prefix,asn[,name]");
    EXPECT_FALSE(AsnTable::parse("# x\n100.64.0.0/33,1\n", "bad.csv", err));
    EXPECT_NE(err.find("bad.csv:2: not an IP prefix"), std::string::npos);
    EXPECT_FALSE(AsnTable::parse("100.64.0.0/16,zero\n", "bad.csv", err));

    auto policy = policy_of(R"(
rules:
  - {name: shared-exit, signal: ip_accounts, above: 20, score: 10}
  - {name: many-asns, signal: distinct_asns, above: 1.5, score: 30}
actions:
  - {score: 30, action: alert}
)");
    Collect sink;
    Correlator c(policy, &sink, 1, std::make_shared<const AsnTable>(std::move(*asn)));
    uint64_t seq = 1;
    for (int i = 0; i < 40; ++i) c.observe(obs_of(acct(100 + i), seq, "100.64.1.1", seq)), ++seq;
    c.observe(obs_of(acct(200), seq, "100.65.1.1", seq));
    ++seq;
    c.observe(obs_of(acct(200), seq, "100.64.1.2", seq));
    ASSERT_FALSE(sink.records.empty());
    const auto& last = sink.records.back()["account"];
    EXPECT_EQ(last["id"], acct(200));
    EXPECT_NEAR(last["signals"]["distinct_asns"].get<double>(), 2, 0.2);
    EXPECT_NEAR(last["signals"]["ip_accounts"].get<double>(), 1, 0.2);
    // The 40 accounts behind one address: the last one saw ~40 (HLL, 64 registers: 13%).
    const auto* e = c.find(acct(139));
    EXPECT_NEAR(e->ip_accounts, 40, 40 * 0.4);
}

// Over its budget a rate-limited account is answered 429 with retry-after: the seconds until
// its bucket admits again (6 a minute, one worker: a burst of one, then one every 10 s); a
// decision that says answer: reset (http_status 0) gets resets, its reason recorded.
TEST(EnforcementPipeline, RateLimitAnswers429WithRetryAfterAndResetWhenTold) {
    EngineConfig cfg;
    Harness h(cfg);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    h.p->set_enforcement(&slot, 1);
    Identifier ids(cfg.accounts);
    const auto limited = ids.id_of(kBlockedKey);
    const auto reset_only = ids.id_of(kOtherKey);
    auto t = std::make_unique<EnforcementTable>();
    t->set_account(account_key({limited.data(), limited.size()}),
                   Enforcement{Verdict::RateLimit, EnforceTarget::Account, 429, 6, 0, 0});
    t->set_account(account_key({reset_only.data(), reset_only.size()}),
                   Enforcement{Verdict::Block, EnforceTarget::Account, 0, 0, 0, 0});
    pub.publish(std::move(t));

    Conversation c0, c1, c2;
    c0.cport = 41000;
    c1.cport = 41001;
    c2.cport = 41002;
    EXPECT_EQ(send(h, c0, kBlockedKey), Disposition::Forward);  // the burst
    size_t before = h.inj.frames.size();
    EXPECT_EQ(send(h, c1, kBlockedKey), Disposition::Drop);
    ASSERT_EQ(h.inj.frames.size(), before + 2);  // the server's RST, the client's answer
    const DecodedPacket d = decode_frame(h.inj.frames.back().second, LinkType::Ethernet);
    const std::string answer(reinterpret_cast<const char*>(d.payload.data()), d.payload.size());
    EXPECT_EQ(answer.substr(0, 30), "HTTP/1.1 429 Too Many Requests");
    EXPECT_NE(answer.find("\r\nretry-after: 10\r\n"), std::string::npos) << answer;

    before = h.inj.frames.size();
    EXPECT_EQ(send(h, c2, kOtherKey), Disposition::Drop);
    ASSERT_EQ(h.inj.frames.size(), before + 2);
    for (size_t i = before; i < h.inj.frames.size(); ++i)
        EXPECT_TRUE(
            decode_frame(h.inj.frames[i].second, LinkType::Ethernet).has_flag(tcp_flag::kRst));
    h.p->finish(Timestamp{h.t});
    std::map<std::string, nlohmann::json> answers;
    for (const auto& r : h.sink.of_type("http"))
        if (r["sluice"].contains("enforcement"))
            answers[r["account"]["id"]] = r["sluice"]["enforcement"]["answer"];
    EXPECT_EQ(answers[std::string(limited.data(), limited.size())],
              (nlohmann::json{{"kind", "http"}, {"status", 429}, {"retry_after", 10}}));
    EXPECT_EQ(answers[std::string(reset_only.data(), reset_only.size())],
              (nlohmann::json{{"kind", "reset"}, {"fallback", "configured"}}));
}
