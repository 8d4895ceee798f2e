// threshold / detection_filter: the rule syntax, each type's semantics against a hand count,
// and the counting across two workers' pipelines by one correlator (alerts, the rule's
// action enforced on the tracked subject until its window ends).
#include <gtest/gtest.h>

#include "account/correlator.h"
#include "account/threshold_tracker.h"
#include "pipeline_harness.h"
#include "rules/rule_set.h"

using namespace sluice;
using namespace sluice::testing;

namespace {
rules::Threshold th(rules::ThresholdType type, uint32_t count, uint32_t seconds) {
    return rules::Threshold{type, rules::ThresholdTrack::BySrc, count, seconds};
}
constexpr uint64_t kSec = 1'000'000'000ull;

// Which of `n` matches one second apart alert.
std::vector<int> alerting(const rules::Threshold& t, int n, uint64_t gap = kSec) {
    account::ThresholdTracker tr;
    std::vector<int> out;
    for (int i = 0; i < n; ++i)
        if (tr.on_hit(7, t, 99, 1000 * kSec + uint64_t(i) * gap)) out.push_back(i + 1);
    return out;
}
}  // namespace

TEST(Threshold, TypesAgainstAHandCount) {
    using T = rules::ThresholdType;
    // limit 2 per 5 s: matches 1,2 then the window (1..5) ends; 6,7 open the next.
    EXPECT_EQ(alerting(th(T::Limit, 2, 5), 12), (std::vector<int>{1, 2, 6, 7, 11, 12}));
    // threshold 3 per 60 s: every third match.
    EXPECT_EQ(alerting(th(T::Threshold, 3, 60), 10), (std::vector<int>{3, 6, 9}));
    // both 3 per 5 s: once per window, at the third match.
    EXPECT_EQ(alerting(th(T::Both, 3, 5), 12), (std::vector<int>{3, 8}));
    // detection_filter 3 per 60 s: every match after the third.
    EXPECT_EQ(alerting(th(T::DetectionFilter, 3, 60), 6), (std::vector<int>{4, 5, 6}));
    // ... but matches spread wider than the window never get there.
    EXPECT_TRUE(alerting(th(T::DetectionFilter, 3, 60), 6, 30 * kSec).empty());
    // Subjects and rules are counted apart.
    account::ThresholdTracker tr;
    const auto t = th(T::DetectionFilter, 1, 60);
    EXPECT_FALSE(tr.on_hit(1, t, 10, kSec));
    EXPECT_FALSE(tr.on_hit(1, t, 11, kSec));
    EXPECT_FALSE(tr.on_hit(2, t, 10, kSec));
    EXPECT_TRUE(tr.on_hit(1, t, 10, 2 * kSec));
    EXPECT_EQ(tr.size(), 3u);
    tr.prune(100 * kSec);
    EXPECT_EQ(tr.size(), 0u);
}

namespace {
std::shared_ptr<const rules::CompiledRules> compile(const std::string& text) {
    rules::RuleSetOptions o;
    auto rs = rules::build_rule_set({rules::RuleSource{"t.rules", text}}, o);
    for (auto& e : rs.errors) ADD_FAILURE() << e.format();
    auto c =
        rules::CompiledRules::compile(std::shared_ptr<const rules::RuleSet>(std::move(rs.set)));
    for (auto& e : c.errors) ADD_FAILURE() << e.format();
    return c.rules;
}

struct Queue final : account::ObservationSink {
    std::vector<account::Observation> items;
    void observe(const account::Observation& o) override { items.push_back(o); }
};

std::string request(const std::string& key, const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: api.example.com\r\nx-api-key: " + key + "\r\n\r\n";
}
}  // namespace

TEST(Threshold, CountedAcrossWorkersByTheCorrelator) {
    const auto rules = compile(
        "drop http any any -> any any (msg:\"model list scraping\"; http.uri; "
        "content:\"/v1/models\"; "
        "detection_filter: track by_account, count 3, seconds 60; sid:9001; classtype:llm-recon;)\n"
        "alert http any any -> any any (msg:\"health probe\"; http.uri; content:\"/health\"; "
        "threshold: type limit, track by_src, count 1, seconds 60; sid:9002;)\n");
    EngineConfig cfg;
    cfg.rules = rules;
    Harness w0(cfg), w1(cfg);
    Queue q;
    w0.p->set_threshold_sink(&q);
    w1.p->set_threshold_sink(&q);
    // One account's six requests over six connections, alternating between the two workers,
    // plus three health probes from one address.
    const std::string key = "sk-ant-api03-THRESHOLDKEY000000000000000000000000000000000000";
    for (uint16_t i = 0; i < 6; ++i) {
        Harness& h = i % 2 ? w1 : w0;
        Conversation c;
        c.cport = static_cast<uint16_t>(42000 + i);
        h.feed(c.client(tcp_flag::kSyn));
        h.feed(c.server(tcp_flag::kSyn | kA));
        h.feed(c.client(kA));
        EXPECT_EQ(h.feed(c.client(kPA, request(key, "/v1/models"))), Disposition::Forward)
            << "thresholded rules do not act on their own";
        if (i < 3) h.feed(c.client(kPA, request(key, "/health")));
    }
    EXPECT_EQ(w0.sink.of_type("alert").size() + w1.sink.of_type("alert").size(), 0u);
    EXPECT_EQ(w0.p->rule_counters().threshold_hits + w1.p->rule_counters().threshold_hits, 9u);
    ASSERT_EQ(q.items.size(), 9u);
    std::stable_sort(q.items.begin(), q.items.end(),
                     [](const auto& a, const auto& b) { return a.ts_ns < b.ts_ns; });

    CollectSink sink;
    account::Correlator c(std::make_shared<const account::Policy>(), &sink, 2);
    c.set_rules(rules);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    c.set_publisher(&pub);
    for (const auto& o : q.items) c.observe(o);
    const auto alerts = sink.of_type("alert");
    // detection_filter count 3: the 4th, 5th and 6th requests; limit 1: the first probe.
    ASSERT_EQ(alerts.size(), 4u);
    int scraping = 0;
    for (const auto& a : alerts) {
        if (a["alert"]["signature_id"] == 9001) {
            ++scraping;
            EXPECT_EQ(a["alert"]["action"], "blocked");
            EXPECT_EQ(a["sluice"]["threshold"]["type"], "detection_filter");
            EXPECT_EQ(a["sluice"]["threshold"]["track"], "by_account");
            EXPECT_EQ(a["account"]["hint"],
                      "sk-ant-api03-\xE2\x80\xA6"
                      "0000");
        } else {
            EXPECT_EQ(a["alert"]["signature_id"], 9002);
            EXPECT_EQ(a["sluice"]["threshold"]["type"], "limit");
        }
    }
    EXPECT_EQ(scraping, 3);
    EXPECT_EQ(c.counters().threshold_enforced, 3u);
    // The drop applies to the account until the window ends (packet time).
    ASSERT_TRUE(c.flush());
    account::Identifier ids(cfg.accounts);
    const auto id = ids.id_of(key);
    const uint64_t k = account_key({id.data(), id.size()});
    const uint64_t last = q.items.back().ts_ns;
    const Enforcement* e = slot.current()->find(k, *IpAddress::parse("10.9.9.9"), 0, last);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->verdict, Verdict::Drop);
    EXPECT_EQ(slot.current()->find(k, *IpAddress::parse("10.9.9.9"), 0, last + 61 * kSec), nullptr);
}
