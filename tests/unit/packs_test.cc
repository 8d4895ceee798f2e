// The shipped rule packs: every rule fires on its positive sample and not on its near-miss,
// the packs raise no severity-1 alert on a benign corpus, and on every inspection the
// Hyperscan matcher agrees with the PCRE2 reference evaluator.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "pipeline_harness.h"
#include "rules/reference_evaluator.h"
#include "rules/rule_set.h"
#include "rules/shipped_files.h"

using namespace sluice;
using namespace sluice::testing;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<const rules::CompiledRules> packs() {
    static std::shared_ptr<const rules::CompiledRules> compiled = [] {
        rules::RuleSetOptions o;
        auto rs = rules::load_rule_files({rules::default_rules_dir() + "/packs"}, o);
        for (auto& e : rs.errors) ADD_FAILURE() << e.format();
        if (!rs.set) return std::shared_ptr<const rules::CompiledRules>();
        auto c =
            rules::CompiledRules::compile(std::shared_ptr<const rules::RuleSet>(std::move(rs.set)));
        for (auto& e : c.errors) ADD_FAILURE() << e.format();
        return c.rules;
    }();
    return compiled;
}

// Compares every inspection's matches with the reference evaluator.
struct DifferentialTap final : InspectionTap {
    explicit DifferentialTap(std::shared_ptr<const rules::CompiledRules> c)
        : ref(std::shared_ptr<const rules::RuleSet>(c, &c->set())) {}
    void on_inspect(rules::InspectPoint p, const rules::BufferSet& b, const rules::MatchContext& m,
                    std::span<const uint32_t> hits) override {
        std::vector<uint32_t> want;
        ref.match(p, b, m, want);
        ++inspections;
        EXPECT_EQ(std::vector<uint32_t>(hits.begin(), hits.end()), want)
            << "matcher and reference disagree at " << rules::inspect_point_name(p);
    }
    rules::ReferenceEvaluator ref;
    size_t inspections = 0;
};

// A sample request as the packs' samples describe it (see rules/packs/*.samples.yaml).
std::string build_request(const YAML::Node& s) {
    std::string path = s["path"] ? s["path"].as<std::string>() : "/v1/messages";
    std::string body;
    if (s["body"]) {
        body = s["body"].as<std::string>();
    } else {
        nlohmann::json j{{"model", "claude-sonnet-4-5"}, {"max_tokens", 1024}};
        if (s["system"]) j["system"] = s["system"].as<std::string>();
        j["messages"] = nlohmann::json::array(
            {{{"role", "user"}, {"content", s["prompt"] ? s["prompt"].as<std::string>() : ""}}});
        body = j.dump();
    }
    std::map<std::string, std::string> headers{{"User-Agent", "Anthropic/Python 0.40.0"},
                                               {"Content-Type", "application/json"}};
    const std::string key = s["api_key"] ? s["api_key"].as<std::string>()
                                         : "sk-ant-api03-TESTKEY0000000000000000000000";
    if (!key.empty()) headers["x-api-key"] = key;
    if (s["headers"])
        for (const auto& kv : s["headers"])
            headers[kv.first.as<std::string>()] = kv.second.as<std::string>();
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: api.example.com\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return req;
}

// The sids alerted for one sample, and the highest severity seen (1 is the most severe).
struct Outcome {
    std::set<uint32_t> sids;
    int min_severity = 99;
};

Outcome run_sample(const YAML::Node& s, DifferentialTap& tap) {
    Outcome out;
    if (s["buffers"]) {
        // A non-HTTP rule: its buffers go straight to the matcher and the reference.
        rules::BufferSet b;
        std::vector<std::string> keep;
        for (const auto& kv : s["buffers"]) keep.push_back(kv.second.as<std::string>());
        size_t i = 0;
        for (const auto& kv : s["buffers"]) {
            const std::string name = kv.first.as<std::string>();
            if (name == "ja4.hash") b.set(rules::Buffer::Ja4Hash, keep[i]);
            if (name == "tls.sni") b.set(rules::Buffer::TlsSni, keep[i]);
            ++i;
        }
        rules::Matcher m(packs());
        rules::MatchContext ctx;
        ctx.src = *IpAddress::parse("198.51.100.1");
        ctx.dst = *IpAddress::parse("10.0.0.2");
        std::vector<uint32_t> hits;
        m.match(rules::InspectPoint::TlsHello, b, ctx, hits);
        tap.on_inspect(rules::InspectPoint::TlsHello, b, ctx, hits);
        for (uint32_t r : hits) {
            out.sids.insert(packs()->set().rules[r].sid);
            out.min_severity = std::min<int>(out.min_severity, packs()->set().severity[r]);
        }
        return out;
    }
    EngineConfig cfg;
    cfg.rules = packs();
    Harness h(cfg);
    h.p->rule_inspector().set_tap(&tap);
    Conversation c;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    const std::string req = build_request(s);
    for (size_t i = 0; i < req.size(); i += 1000) h.feed(c.client(kPA, req.substr(i, 1000)));
    h.feed(c.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
    h.p->finish(Timestamp{h.t + 1});
    for (const auto& a : h.sink.of_type("alert")) {
        out.sids.insert(a["alert"]["signature_id"].get<uint32_t>());
        out.min_severity = std::min(out.min_severity, a["alert"]["severity"].get<int>());
    }
    return out;
}

}  // namespace

TEST(Packs, CompileAndEveryRuleHasSamples) {
    auto c = packs();
    ASSERT_TRUE(c);
    EXPECT_GE(c->set().rules.size(), 15u);
    std::set<uint32_t> with_samples;
    for (const auto& e : fs::directory_iterator(rules::default_rules_dir() + "/packs")) {
        if (e.path().string().find(".samples.yaml") == std::string::npos) continue;
        for (const auto& s : YAML::LoadFile(e.path().string())) {
            ASSERT_TRUE(s["positive"] && s["near_miss"]) << e.path();
            with_samples.insert(s["sid"].as<uint32_t>());
        }
    }
    for (const auto& r : c->set().rules) {
        EXPECT_TRUE(with_samples.count(r.sid)) << "rule " << r.sid << " ships without samples";
        bool documented = false;
        for (const auto& [k, v] : r.metadata) documented |= k == "fp_risk";
        EXPECT_TRUE(documented) << "rule " << r.sid << " has no fp_risk metadata";
    }
}

TEST(Packs, PositiveSamplesFireAndNearMissesDoNot) {
    auto c = packs();
    ASSERT_TRUE(c);
    DifferentialTap tap(c);
    size_t checked = 0;
    for (const auto& e : fs::directory_iterator(rules::default_rules_dir() + "/packs")) {
        if (e.path().string().find(".samples.yaml") == std::string::npos) continue;
        for (const auto& s : YAML::LoadFile(e.path().string())) {
            const uint32_t sid = s["sid"].as<uint32_t>();
            EXPECT_TRUE(run_sample(s["positive"], tap).sids.count(sid))
                << "sid " << sid << " did not fire on its positive sample";
            EXPECT_FALSE(run_sample(s["near_miss"], tap).sids.count(sid))
                << "sid " << sid << " fired on its near-miss sample";
            ++checked;
        }
    }
    EXPECT_GE(checked, 15u);
    EXPECT_GE(tap.inspections, 2 * checked);
}

TEST(Packs, NoSeverityOneAlertOnTheBenignCorpus) {
    auto c = packs();
    ASSERT_TRUE(c);
    DifferentialTap tap(c);
    size_t n = 0;
    for (const auto& s : YAML::LoadFile(std::string(SLUICE_TEST_DATA) + "/llm/benign.yaml")) {
        const Outcome o = run_sample(s, tap);
        EXPECT_GT(o.min_severity, 1)
            << "severity-1 alert on benign request " << n << ": " << build_request(s);
        ++n;
    }
    EXPECT_GE(n, 25u);
}

#include <pcap/pcap.h>

// Differential on captures: the packs run over every capture in tests/data (plaintext HTTP, the
// LLM API capture, and the TLS captures decrypted with their key logs); on every inspection
// the matcher must agree with the reference evaluator.
TEST(Packs, MatcherAgreesWithReferenceOnCaptures) {
    auto c = packs();
    ASSERT_TRUE(c);
    DifferentialTap tap(c);
    std::vector<std::string> pcaps;
    const std::string data = SLUICE_TEST_DATA;
    for (const auto& dir : {data, data + "/llm", data + "/tls"})
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".pcap") pcaps.push_back(e.path().string());
    std::sort(pcaps.begin(), pcaps.end());
    ASSERT_GE(pcaps.size(), 6u);
    uint64_t alerts = 0;
    for (const std::string& path : pcaps) {
        EngineConfig cfg;
        cfg.rules = c;
        const std::string keylog = path.substr(0, path.size() - 5) + ".keylog";
        if (fs::exists(keylog)) {
            auto store = std::make_shared<tls::SecretStore>();
            size_t added = 0;
            ASSERT_EQ(store->load_file(keylog, added), "") << keylog;
            cfg.tls_secrets = store;
        }
        Harness h(cfg);
        h.p->rule_inspector().set_tap(&tap);
        char err[PCAP_ERRBUF_SIZE];
        pcap_t* p = pcap_open_offline(path.c_str(), err);
        ASSERT_NE(p, nullptr) << err;
        pcap_pkthdr* hdr;
        const u_char* d;
        while (pcap_next_ex(p, &hdr, &d) == 1) h.feed(std::vector<uint8_t>(d, d + hdr->caplen));
        pcap_close(p);
        h.p->finish(Timestamp{h.t + 1});
        alerts += h.p->rule_counters().alerts;
    }
    EXPECT_GE(tap.inspections, 20u);
    EXPECT_GE(alerts, 6u);
}

// Shipped files: a binary in the build tree reads the source tree, an installed one
// PREFIX/share/sluice with /etc/sluice overrides (the packaging test runs the installed one).
TEST(ShippedFiles, BuildTreeReadsTheSourceTree) {
    const auto l = rules::shipped_layout_for("/nonexistent/build/dataplane/runtime");
    EXPECT_EQ(l.shipped, rules::default_rules_dir());
    EXPECT_TRUE(l.local.empty());
    EXPECT_TRUE(std::filesystem::exists(l.shipped + "/packs"));
    EXPECT_EQ(rules::shipped_rule_files(), std::vector<std::string>{l.shipped + "/packs"});
}
