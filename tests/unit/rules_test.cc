// Rule language: both dialects, every keyword, error locations, and matching (Hyperscan
// prefilter + confirmation) against the reference evaluator.
#include <gtest/gtest.h>

#include <random>

#include "rules/compiled_rules.h"
#include "rules/reference_evaluator.h"
#include "rules/rule_set.h"

using namespace sluice;
using namespace sluice::rules;

namespace {

ParsedFile parse(std::string_view text, Dialect d = Dialect::Auto) {
    ParseOptions o;
    o.dialect = d;
    o.vars.addresses["API_SERVERS"] = "[10.0.0.0/8, !10.9.9.9]";
    o.vars.ports["API_PORTS"] = "[443, 8000:8100]";
    return parse_rules(text, "t.rules", o);
}

std::shared_ptr<const CompiledRules> compile(std::string_view text,
                                             std::vector<RuleError>* errors = nullptr) {
    RuleSetOptions o;
    auto rs = build_rule_set({{"t.rules", std::string(text)}}, o);
    if (!rs.set) {
        if (errors) *errors = rs.errors;
        for (auto& e : rs.errors) ADD_FAILURE() << e.format();
        return nullptr;
    }
    auto c = CompiledRules::compile(std::shared_ptr<const RuleSet>(std::move(rs.set)));
    for (auto& e : c.errors) ADD_FAILURE() << e.format();
    return c.rules;
}

MatchContext ctx() {
    MatchContext m;
    m.src = *IpAddress::parse("192.0.2.1");
    m.dst = *IpAddress::parse("10.1.2.3");
    m.sport = 40000;
    m.dport = 443;
    return m;
}

std::vector<uint32_t> run(const std::shared_ptr<const CompiledRules>& c, InspectPoint p,
                          const BufferSet& b, const MatchContext& m = ctx()) {
    Matcher matcher(c);
    std::vector<uint32_t> out, ref;
    matcher.match(p, b, m, out);
    ReferenceEvaluator re(std::shared_ptr<const RuleSet>(c, &c->set()));
    re.match(p, b, m, ref);
    EXPECT_EQ(out, ref) << "matcher and reference evaluator disagree";
    return out;
}

}  // namespace

TEST(RuleParser, SuricataRuleFields) {
    auto f =
        parse(R"(alert http $EXTERNAL_NET any -> $API_SERVERS $API_PORTS (msg:"CoT \"elicit\""; )"
              R"(flow:established,to_server; http.uri; content:"/v1/messages"; )"
              R"(llm.prompt; content:"step by step"; nocase; fast_pattern; )"
              R"(pcre:"/show (all|your) reasoning/i"; classtype:llm-distillation; )"
              R"(sid:1000001; rev:3; gid:1; priority:2; metadata:pack distillation, fp low;))");
    ASSERT_TRUE(f.ok()) << f.errors[0].format();
    ASSERT_EQ(f.rules.size(), 1u);
    EXPECT_EQ(f.dialect, Dialect::Suricata);
    const Rule& r = f.rules[0];
    EXPECT_EQ(r.action, Action::Alert);
    EXPECT_EQ(r.proto, Protocol::Http);
    EXPECT_EQ(r.msg, "CoT \"elicit\"");
    EXPECT_EQ(r.sid, 1000001u);
    EXPECT_EQ(r.rev, 3u);
    EXPECT_EQ(*r.priority, 2);
    EXPECT_TRUE(r.flow_established && r.flow_to_server);
    ASSERT_EQ(r.conditions.size(), 3u);
    EXPECT_EQ(r.conditions[0].buffer, Buffer::HttpUri);
    EXPECT_EQ(r.conditions[1].buffer, Buffer::LlmPrompt);
    EXPECT_TRUE(r.conditions[1].content.nocase);
    EXPECT_TRUE(r.conditions[1].content.fast_pattern);
    EXPECT_EQ(r.conditions[2].kind, Condition::Kind::Pcre);
    EXPECT_TRUE(r.conditions[2].pcre.caseless);
    EXPECT_EQ(r.point, InspectPoint::Request);
    ASSERT_EQ(r.metadata.size(), 2u);
    EXPECT_EQ(r.metadata[1].first, "fp");
    EXPECT_TRUE(r.dst.matches(*IpAddress::parse("10.1.1.1")));
    EXPECT_FALSE(r.dst.matches(*IpAddress::parse("10.9.9.9")));
    EXPECT_FALSE(r.dst.matches(*IpAddress::parse("11.0.0.1")));
    EXPECT_TRUE(r.dst_ports.matches(8050));
    EXPECT_FALSE(r.dst_ports.matches(80));
}

TEST(RuleParser, LegacyModifiersApplyToThePreviousContent) {
    auto f =
        parse(R"(alert http any any -> any any (content:"POST"; http_method; )"
              R"(content:"/v1/"; http_uri; depth:4; content:"claude"; http_client_body; sid:1;))");
    ASSERT_TRUE(f.ok()) << f.errors[0].format();
    const Rule& r = f.rules[0];
    EXPECT_EQ(r.conditions[0].buffer, Buffer::HttpMethod);
    EXPECT_EQ(r.conditions[1].buffer, Buffer::HttpUri);
    EXPECT_EQ(*r.conditions[1].content.depth, 4);
    EXPECT_EQ(r.conditions[2].buffer, Buffer::HttpRequestBody);
}

TEST(RuleParser, Snort3StickyBuffersAndCommaModifiers) {
    auto f = parse(R"(alert http (msg:"x"; http_method; content:"POST"; http_uri; )"
                   R"(content:"/v1/",depth 4; http_client_body; content:"Claude", nocase, )"
                   R"(distance 0, within 50, fast_pattern; http_header:field user-agent; )"
                   R"(content:"curl"; sid:2;))");
    ASSERT_TRUE(f.ok()) << f.errors[0].format();
    EXPECT_EQ(f.dialect, Dialect::Snort3);
    const Rule& r = f.rules[0];
    EXPECT_TRUE(r.bidirectional);
    ASSERT_EQ(r.conditions.size(), 4u);
    EXPECT_EQ(r.conditions[0].buffer, Buffer::HttpMethod);
    EXPECT_EQ(*r.conditions[1].content.depth, 4);
    EXPECT_EQ(r.conditions[2].buffer, Buffer::HttpRequestBody);
    EXPECT_TRUE(r.conditions[2].content.nocase);
    EXPECT_EQ(*r.conditions[2].content.within, 50);
    EXPECT_EQ(*r.conditions[2].content.distance, 0);
    EXPECT_TRUE(r.conditions[2].content.fast_pattern);
    EXPECT_EQ(r.conditions[3].buffer, Buffer::HttpUserAgent);
}

TEST(RuleParser, DialectFromHeaderComment) {
    auto f = parse(
        "# sluice-dialect: snort3\nalert http any any -> any any (http_uri; "
        "content:\"/x\"; sid:1;)\n");
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f.dialect, Dialect::Snort3);
    EXPECT_EQ(f.rules[0].conditions[0].buffer, Buffer::HttpUri);
}

TEST(RuleParser, HexBytesAndEscapes) {
    auto f = parse(R"(alert tcp any any -> any any (content:"caf|C3 A9|\;\"|0d0a|"; sid:1;))");
    ASSERT_TRUE(f.ok()) << f.errors[0].format();
    EXPECT_EQ(f.rules[0].conditions[0].content.bytes, "caf\xC3\xA9;\"\r\n");
}

TEST(RuleParser, ContinuationLinesAndComments) {
    auto f = parse(
        "# a comment\n\nalert tcp any any -> any any ( \\\n  content:\"a\"; \\\n"
        "  sid:7;)\nalert tcp any any -> any any (content:\"b\"; sid:8;)\n");
    ASSERT_TRUE(f.ok()) << f.errors[0].format();
    ASSERT_EQ(f.rules.size(), 2u);
    EXPECT_EQ(f.rules[0].where.line, 3u);
    EXPECT_EQ(f.rules[1].where.line, 6u);
}

struct BadRule {
    const char* text;
    uint32_t line, column;
    const char* message;
};

TEST(RuleParser, ErrorsNameLineColumnAndWhatWasExpected) {
    const BadRule cases[] = {
        {"alrt tcp any any -> any any (sid:1;)", 1, 1, "expected an action"},
        {"alert dns any any -> any any (sid:1;)", 1, 7, "protocol 'dns' is not inspected"},
        {"alert tcp any any => any any (sid:1;)", 1, 19, "expected a direction"},
        {"alert tcp $NOPE any -> any any (sid:1;)", 1, 11, "unknown address variable"},
        {"alert tcp any 99999 -> any any (sid:1;)", 1, 15, "expected a port"},
        {"alert tcp any any -> any any (content:\"a|4|\"; sid:1;)", 1, 43, "hex"},
        {"alert tcp any any -> any any (content:abc; sid:1;)", 1, 39, "quoted string"},
        {"alert tcp any any -> any any (bogus:1; sid:1;)", 1, 31, "unknown keyword 'bogus'"},
        {"alert tcp any any -> any any (content:\"a\"; depth:x; sid:1;)", 1, 50,
         "no byte_extract or byte_math variable"},
        {"alert tcp any any -> any any (pcre:\"/a/Q\"; sid:1;)", 1, 40, "pcre flag 'Q'"},
        {"alert tcp any any -> any any (pcre:\"/a(/\"; sid:1;)", 1, 37, "missing closing"},
        {"alert http any any -> any any (http.uri; pcre:\"/a/U\"; sid:1;)", 1, 51,
         "already follows the sticky buffer"},
        {"alert tcp any any -> any any (content:\"a\"; sid:1)", 1, 49, "expected ';'"},
        {"alert tcp any any -> any any (content:\"a\";)", 1, 1, "no sid"},
        {"alert tls any any -> any any (http.uri; content:\"a\"; sid:1;)", 1, 1,
         "needs protocol http"},
        {"alert http any any -> any any (http.uri; content:\"a\"; http.stat_code; "
         "content:\"200\"; sid:1;)",
         1, 1, "mixes buffers"},
        {"alert http any any -> any any (nocase; sid:1;)", 1, 32, "must follow a content"},
        {"alert http any any -> any any (content:\"a\"; sid:1; threshold: type limit;)", 1, 62,
         "threshold needs type, track, count and seconds"},
        {"alert http any any -> any any (content:\"a\"; sid:1; threshold: type limit, track "
         "by_ip, count 1, seconds 1;)",
         1, 62, "track is by_src, by_dst, by_rule, by_both or by_account; found 'by_ip'"},
        {"alert http any any -> any any (content:\"a\"; sid:1; detection_filter: track by_src, "
         "count 0, seconds 60;)",
         1, 69, "count must be a positive number"},
        {"alert http any any -> any any (content:\"a\"; sid:1; detection_filter: type limit, "
         "track by_src, count 2, seconds 60;)",
         1, 69, "detection_filter takes track, count and seconds; found 'type limit'"},
        {"alert http any any -> any any (content:\"a\"; sid:1; detection_filter: track by_src, "
         "count 2, seconds 60; threshold: type limit, track by_src, count 1, seconds 9;)",
         1, 105, "one threshold or detection_filter"},
        {"alert http any any -> any any (http_uri; content:\"a\"; sid:1;)\n", 1, 32,
         "modifies the content before it"},
    };
    for (const BadRule& c : cases) {
        auto f = parse(c.text, Dialect::Suricata);
        ASSERT_FALSE(f.ok()) << c.text;
        EXPECT_TRUE(f.rules.empty());
        EXPECT_EQ(f.errors[0].where.line, c.line) << c.text;
        EXPECT_EQ(f.errors[0].where.column, c.column) << c.text << " -> " << f.errors[0].format();
        EXPECT_NE(f.errors[0].message.find(c.message), std::string::npos)
            << c.text << " -> " << f.errors[0].format();
    }
    // Snort 3 syntax in a Suricata file is named as such.
    auto f = parse("alert http any any -> any any (http.uri; content:\"a\", nocase; sid:1;)",
                   Dialect::Suricata);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.errors[0].format().find("t.rules:1:53: error: content modifiers after a comma"),
              std::string::npos)
        << f.errors[0].format();
}

TEST(RuleParser, OneBadRuleRejectsTheWholeFile) {
    auto f = parse(
        "alert tcp any any -> any any (content:\"a\"; sid:1;)\n"
        "alert tcp any any -> any any (content:\"b\" sid:2;)\n");
    EXPECT_FALSE(f.ok());
    EXPECT_TRUE(f.rules.empty());
    EXPECT_EQ(f.errors[0].where.line, 2u);
}

TEST(RuleSet, DuplicateSidsUnknownClasstypeAndDataset) {
    RuleSetOptions o;
    auto rs = build_rule_set({{"a.rules",
                               "alert tcp any any -> any any (content:\"a\"; sid:1;)\n"
                               "alert tcp any any -> any any (content:\"b\"; sid:1;)\n"
                               "alert tcp any any -> any any (content:\"c\"; sid:2; "
                               "classtype:nope;)\n"
                               "alert http any any -> any any (http.host; "
                               "dataset:isset,missing; sid:3;)\n"}},
                             o);
    ASSERT_FALSE(rs.set);
    ASSERT_EQ(rs.errors.size(), 3u);
    EXPECT_NE(rs.errors[0].message.find("duplicate sid 1"), std::string::npos);
    EXPECT_NE(rs.errors[1].message.find("unknown classtype 'nope'"), std::string::npos);
    EXPECT_NE(rs.errors[2].message.find("unknown dataset 'missing'"), std::string::npos);
}

TEST(RuleSet, SkipInvalidKeepsTheRestAndSaysWhyForEachRule) {
    RuleSetOptions o;
    o.skip_invalid = true;
    const std::string text =
        "alert tcp any any -> any any (content:\"a\"; sid:1;)\n"
        "alert tcp any any -> any any (content:\"b\"; xbits:set,n,track ip_src; sid:2;)\n"
        "alert dns any any -> any any (dns.query; content:\"x\"; sid:3;)\n"
        "alert tcp any any -> any any (content:\"c\" sid:4;)\n"
        "alert tcp any any -> any any (content:\"d\"; sid:1;)\n"
        "alert tcp any any -> any any (content:\"e\"; classtype:nope; sid:5;)\n"
        "alert http any any -> any any (http.host; dataset:isset,gone,type string,load "
        "gone.lst; sid:6;)\n"
        "alert tcp any any -> any any (content:\"f\"; xbits:isset,n,track ip_src; sid:7;)\n"
        "alert tcp any any -> any any (content:\"g\"; sid:8;)\n";
    auto rs = build_rule_set({{"a.rules", text}}, o);
    ASSERT_TRUE(rs.set) << (rs.errors.empty() ? "" : rs.errors[0].format());
    std::vector<uint32_t> sids;
    for (const Rule& r : rs.set->rules) sids.push_back(r.sid);
    EXPECT_EQ(sids, (std::vector<uint32_t>{1, 8}));
    EXPECT_EQ(rs.set->severity.size(), 2u);
    EXPECT_EQ(rs.set->category.size(), 2u);
    const auto& sk = rs.set->skipped;
    ASSERT_EQ(sk.size(), 7u);
    // In file order for the parse failures, then the whole-set checks.
    EXPECT_EQ(sk[0].sid, 2u);
    EXPECT_EQ(sk[0].unsupported, "xbits");
    EXPECT_EQ(sk[0].where.line, 2u);
    EXPECT_EQ(sk[0].where.column, 44u);
    EXPECT_EQ(sk[1].unsupported, "protocol dns");
    EXPECT_EQ(sk[1].sid, 3u);
    EXPECT_TRUE(sk[2].unsupported.empty()) << "a missing ';' is malformed";
    EXPECT_EQ(sk[2].sid, 4u);
    EXPECT_EQ(sk[3].unsupported, "xbits");
    EXPECT_EQ(sk[3].sid, 7u);
    EXPECT_NE(sk[4].message.find("duplicate sid 1"), std::string::npos);
    EXPECT_EQ(sk[4].where.line, 5u);
    EXPECT_NE(sk[5].message.find("unknown classtype 'nope'"), std::string::npos);
    EXPECT_NE(sk[6].message.find("dataset gone"), std::string::npos) << sk[6].message;
    EXPECT_EQ(sk[6].sid, 6u);

    const SkipSummary sum = summarize_skipped(sk);
    EXPECT_EQ(sum.skipped, 7u);
    EXPECT_EQ(sum.malformed, 4u);
    ASSERT_EQ(sum.unsupported.size(), 2u);
    EXPECT_EQ(sum.unsupported[0], (std::pair<std::string, size_t>{"xbits", 2}));
    EXPECT_EQ(sum.unsupported[1], (std::pair<std::string, size_t>{"protocol dns", 1}));
    const std::string report = skip_report(sk);
    EXPECT_NE(report.find("a.rules:2:44: skipped sid 2: unknown keyword 'xbits'"),
              std::string::npos)
        << report;
    EXPECT_NE(report.find("7 rules skipped: 3 unsupported (xbits 2, protocol dns 1), 4 "
                          "malformed"),
              std::string::npos)
        << report;
    EXPECT_NE(skip_report(sk, 2).find("... 5 more"), std::string::npos);

    // The same sources in atomic mode: nothing loads, every error is returned.
    o.skip_invalid = false;
    auto strict = build_rule_set({{"a.rules", text}}, o);
    EXPECT_FALSE(strict.set);
    // Four rules that do not parse, and the dataset file; a file with a bad rule keeps none, so
    // the whole-set checks (duplicate sid, classtype) have nothing left to check.
    EXPECT_EQ(strict.errors.size(), 5u);
}

TEST(RuleSet, SkipInvalidStillRejectsWhatTheRulesStandOn) {
    RuleSetOptions o;
    o.skip_invalid = true;
    o.classification_file = "/nonexistent/classification.config";
    auto rs =
        build_rule_set({{"a.rules", "alert tcp any any -> any any (content:\"a\"; sid:1;)\n"}}, o);
    EXPECT_FALSE(rs.set);
    o.classification_file.clear();
    o.datasets["conf"] = {"string", "/nonexistent/conf.lst"};
    rs = build_rule_set({{"a.rules", "alert tcp any any -> any any (content:\"a\"; sid:1;)\n"}}, o);
    EXPECT_FALSE(rs.set) << "a dataset named by configuration is not a rule's problem";
    o.datasets.clear();
    rs = build_rule_set({{"a.rules",
                          "# sluice-dialect: klingon\n"
                          "alert tcp any any -> any any (content:\"a\"; sid:1;)\n"}},
                        o);
    EXPECT_FALSE(rs.set) << "a bad dialect comment is about the file";
}

// The keywords both dialects have, written each way: the same matches on random buffers.
TEST(Matcher, SharedKeywordsMatchTheSameInBothDialects) {
    const char* suricata =
        "alert http any any -> any any (http.uri; content:\"/v1/\"; isdataat:3,relative; "
        "bsize:<16; sid:1;)\n"
        "alert http any any -> any any (http.uri; content:\"/v\"; byte_test:1,=,1,0,relative,"
        "string,dec; sid:2;)\n"
        "alert http any any -> any any (http.uri; content:\"/\"; byte_jump:1,0,relative,string,"
        "dec; content:\"x\"; within:1; sid:3;)\n";
    const char* snort =
        "# sluice-dialect: snort3\n"
        "alert http (http_uri; content:\"/v1/\"; isdataat:3,relative; bufferlen:<16; sid:1;)\n"
        "alert http (http_uri; content:\"/v\"; byte_test:1,=,1,0,relative,string,dec; sid:2;)\n"
        "alert http (http_uri; content:\"/\"; byte_jump:1,0,relative,string,dec; content:\"x\", "
        "within 1; sid:3;)\n";
    auto a = compile(suricata), b = compile(snort);
    ASSERT_TRUE(a && b);
    std::mt19937 rng(11);
    const char* parts[] = {"/v1/", "/v2/", "/", "1", "2x", "x", "messages", "/1x"};
    int hits = 0;
    for (int i = 0; i < 400; ++i) {
        std::string uri;
        for (int k = 0; k < 4; ++k) uri += parts[rng() % 8];
        BufferSet bs;
        bs.set(Buffer::HttpUri, uri);
        auto ra = run(a, InspectPoint::Request, bs), rb = run(b, InspectPoint::Request, bs);
        EXPECT_EQ(ra, rb) << uri;
        hits += static_cast<int>(ra.size());
    }
    EXPECT_GT(hits, 50);
    EXPECT_LT(hits, 1000);
}

TEST(Matcher, LegacyPcreBufferFlags) {
    auto c = compile(
        "alert http any any -> any any (pcre:\"/^\\/v1\\/mess/U\"; sid:1;)\n"
        "alert http any any -> any any (pcre:\"/x-api-key\\x3a/Hi\"; sid:2;)\n"
        "alert http any any -> any any (pcre:\"/^POST$/M\"; sid:3;)\n"
        "alert http any any -> any any (pcre:\"/session=/C\"; sid:4;)\n"
        "alert http any any -> any any (pcre:\"/distill/P\"; sid:5;)\n"
        "alert http any any -> any any (pcre:\"/^429$/S\"; sid:6;)\n"
        "alert tcp any any -> any any (pcre:\"/^\\/v1\\/mess/B\"; sid:7;)\n");
    ASSERT_TRUE(c);
    BufferSet req;
    req.set(Buffer::HttpUri, "/v1/messages");
    req.set(Buffer::HttpHeader, "Host: a\r\nX-API-Key: k\r\n");
    req.set(Buffer::HttpMethod, "POST");
    req.set(Buffer::HttpCookie, "session=1");
    req.set(Buffer::HttpRequestBody, "please distill this");
    EXPECT_EQ(run(c, InspectPoint::Request, req), (std::vector<uint32_t>{0, 1, 2, 3, 4}));
    BufferSet stream;
    stream.set(Buffer::Stream, "/v1/messages");
    EXPECT_TRUE(run(c, InspectPoint::Stream, stream).size() == 1);
    BufferSet resp;
    resp.set(Buffer::HttpStatCode, "429");
    EXPECT_EQ(run(c, InspectPoint::Response, resp), (std::vector<uint32_t>{5}));
}

TEST(RuleSet, SeverityAndCategoryFromClasstype) {
    RuleSetOptions o;
    auto rs = build_rule_set({{"a.rules",
                               "alert tcp any any -> any any (content:\"a\"; sid:1; "
                               "classtype:llm-distillation;)\n"
                               "alert tcp any any -> any any (content:\"a\"; sid:2; "
                               "classtype:llm-distillation; priority:1;)\n"
                               "alert tcp any any -> any any (content:\"a\"; sid:3;)\n"}},
                             o);
    ASSERT_TRUE(rs.set);
    EXPECT_EQ(rs.set->severity, (std::vector<uint8_t>{2, 1, 3}));
    EXPECT_EQ(rs.set->category[0], "LLM capability extraction (distillation)");
    EXPECT_EQ(rs.set->digest.size(), 64u);
}

TEST(Matcher, ContentModifiers) {
    auto c = compile(
        "alert tcp any any -> any any (content:\"abc\"; sid:1;)\n"
        "alert tcp any any -> any any (content:\"ABC\"; nocase; sid:2;)\n"
        "alert tcp any any -> any any (content:\"abc\"; offset:2; depth:3; sid:3;)\n"
        "alert tcp any any -> any any (content:\"x\"; content:\"abc\"; distance:1; within:4; "
        "sid:4;)\n"
        "alert tcp any any -> any any (content:\"abc\"; content:!\"zzz\"; sid:5;)\n"
        "alert tcp any any -> any any (content:\"|61 62|c\"; sid:6;)\n"
        "alert tcp any any -> any any (content:\"ab\"; pcre:\"/^c\\d/R\"; sid:7;)\n"
        "alert tcp any any -> any any (pcre:\"/a.c/s\"; sid:8;)\n"
        "alert tcp any any -> any any (content:!\"abc\"; sid:9;)\n");
    ASSERT_TRUE(c);
    BufferSet b;
    auto sids = [&](std::string_view data) {
        b.set(Buffer::Stream, data);
        std::vector<uint32_t> out;
        for (uint32_t r : run(c, InspectPoint::Stream, b)) out.push_back(c->set().rules[r].sid);
        return out;
    };
    EXPECT_EQ(sids("--abc"), (std::vector<uint32_t>{1, 2, 3, 5, 6, 8}));
    EXPECT_EQ(sids("xAbC"), (std::vector<uint32_t>{2, 9}));
    EXPECT_EQ(sids("x-abc"), (std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 8}));
    EXPECT_EQ(sids("x---abc"), (std::vector<uint32_t>{1, 2, 5, 6, 8}));  // past within
    EXPECT_EQ(sids("abc zzz"), (std::vector<uint32_t>{1, 2, 6, 8}));
    EXPECT_EQ(sids("abc7"), (std::vector<uint32_t>{1, 2, 5, 6, 7, 8}));
    EXPECT_EQ(sids("a\nc"), (std::vector<uint32_t>{8, 9}));
    // A later occurrence satisfies the chain when the first does not (backtracking).
    EXPECT_EQ(sids("abX abc9"), (std::vector<uint32_t>{1, 2, 5, 6, 7, 8}));
}

TEST(Matcher, HeaderFlowAndBufferPresence) {
    auto c = compile(
        "alert http any any -> 10.0.0.0/8 443 (flow:to_server; http.uri; content:\"/v1\"; "
        "sid:1;)\n"
        "alert http any any -> 172.16.0.0/12 any (http.uri; content:\"/v1\"; sid:2;)\n"
        "alert http any any -> any any (flow:established; http.host; content:\"api\"; sid:3;)\n");
    ASSERT_TRUE(c);
    BufferSet b;
    b.set(Buffer::HttpUri, "/v1/messages");
    auto m = ctx();
    EXPECT_EQ(run(c, InspectPoint::Request, b, m), (std::vector<uint32_t>{0}));
    m.dport = 80;
    EXPECT_TRUE(run(c, InspectPoint::Request, b, m).empty());
    b.set(Buffer::HttpHost, "api.example");
    m.established = false;
    EXPECT_TRUE(run(c, InspectPoint::Request, b, m).empty());
    m.established = true;
    EXPECT_EQ(run(c, InspectPoint::Request, b, m), (std::vector<uint32_t>{2}));
}

TEST(Matcher, DatasetsAreData) {
    const std::string dir = ::testing::TempDir();
    {
        FILE* fp = fopen((dir + "/ja4.lst").c_str(), "w");
        // base64("t13d1516h2_8daaf6152771_02713d6af862")
        fputs("dDEzZDE1MTZoMl84ZGFhZjYxNTI3NzFfMDI3MTNkNmFmODYy\n", fp);
        fclose(fp);
    }
    const std::string rules =
        "alert tls any any -> any any (ja4.hash; dataset:isset,bad-ja4,type "
        "string,load " +
        dir + "/ja4.lst; sid:1;)\n";
    auto c = compile(rules);
    ASSERT_TRUE(c);
    BufferSet b;
    b.set(Buffer::Ja4Hash, "t13d1516h2_8daaf6152771_02713d6af862");
    EXPECT_EQ(run(c, InspectPoint::TlsHello, b).size(), 1u);
    b.set(Buffer::Ja4Hash, "t13d1516h2_8daaf6152771_000000000000");
    EXPECT_TRUE(run(c, InspectPoint::TlsHello, b).empty());
}

TEST(Matcher, BadPcreIsAnErrorOfItsRuleWithLocation) {
    // PCRE2 checks the pattern while the rule is parsed, so a bad one fails its own rule
    // (and with skip_invalid only that rule).
    RuleSetOptions o;
    auto rs = build_rule_set(
        {{"p.rules", "\nalert tcp any any -> any any (pcre:\"/a(b/\"; sid:1;)\n"}}, o);
    ASSERT_FALSE(rs.set);
    ASSERT_EQ(rs.errors.size(), 1u);
    EXPECT_EQ(rs.errors[0].where.line, 2u);
    EXPECT_EQ(rs.errors[0].where.column, 37u);
    EXPECT_NE(rs.errors[0].message.find("missing closing parenthesis"), std::string::npos)
        << rs.errors[0].message;
}

TEST(Matcher, PrefilterRegexNeedsConfirmation) {
    // Back-references are beyond Hyperscan: it prefilters, PCRE2 confirms.
    auto c = compile("alert tcp any any -> any any (pcre:\"/(\\w+) \\1/\"; sid:1;)\n");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->stats().prefilter_regexes, 1u);
    BufferSet b;
    b.set(Buffer::Stream, "say hello hello");
    EXPECT_EQ(run(c, InspectPoint::Stream, b).size(), 1u);
    b.set(Buffer::Stream, "say hello world");
    EXPECT_TRUE(run(c, InspectPoint::Stream, b).empty());
}

TEST(Matcher, SameRuleInBothDialectsGivesTheSameMatches) {
    const char* suricata =
        "alert http any any -> any any (http.method; content:\"POST\"; http.uri; "
        "content:\"/v1/\"; depth:4; llm.prompt; content:\"reasoning\"; nocase; "
        "content:\"step\"; distance:0; within:40; pcre:\"/trace/iR\"; sid:10;)\n";
    const char* snort =
        "# sluice-dialect: snort3\nalert http any any -> any any (http_method; content:\"POST\"; "
        "http_uri; content:\"/v1/\", depth 4; llm.prompt; content:\"reasoning\", nocase; "
        "content:\"step\", distance 0, within 40; pcre:\"/trace/iR\"; sid:10;)\n";
    auto a = compile(suricata), b = compile(snort);
    ASSERT_TRUE(a && b);
    std::mt19937 rng(7);
    const char* words[] = {"Reasoning", "step",           "trace", "TRACE", "x",
                           " ",         "reasoning step", "POST",  "/v1/",  "GET"};
    int hits = 0;
    for (int i = 0; i < 400; ++i) {
        std::string prompt;
        for (int k = 0; k < 8; ++k) prompt += words[rng() % 10];
        BufferSet bs;
        bs.set(Buffer::HttpMethod, rng() % 4 ? "POST" : "GET");
        bs.set(Buffer::HttpUri, rng() % 4 ? "/v1/messages" : "/x/v1/");
        bs.set(Buffer::LlmPrompt, prompt);
        auto ra = run(a, InspectPoint::Request, bs), rb = run(b, InspectPoint::Request, bs);
        EXPECT_EQ(ra, rb) << prompt;
        hits += static_cast<int>(ra.size());
    }
    EXPECT_GT(hits, 20);  // the comparison covered both outcomes
    EXPECT_LT(hits, 380);
}

// Differential: random rules over a small alphabet, random buffers; Hyperscan + confirmation
// must agree with the reference evaluator on every one.
TEST(Matcher, StartsWithEndsWithBsizeIsDataAt) {
    auto c = compile(
        "alert http any any -> any any (http.uri; content:\"/v1/\"; startswith; sid:1;)\n"
        "alert http any any -> any any (http.host; content:\".example.com\"; endswith; sid:2;)\n"
        "alert http any any -> any any (http.host; content:\"api.example.com\"; bsize:15; "
        "sid:3;)\n"
        "alert http any any -> any any (http.user_agent; bsize:<8; sid:4;)\n"
        "alert http any any -> any any (http.user_agent; bsize:3<>9; sid:5;)\n"
        "alert http any any -> any any (http.uri; content:\"/v1/\"; isdataat:!1,relative; "
        "sid:6;)\n"
        "alert http any any -> any any (http.uri; content:\"/v1/\"; isdataat:8,relative; "
        "sid:7;)\n"
        "alert http any any -> any any (http.uri; content:!\".php\"; endswith; sid:8;)\n");
    ASSERT_TRUE(c);
    auto req = [](std::string_view uri, std::string_view host, std::string_view ua) {
        BufferSet b;
        b.set(Buffer::HttpUri, uri);
        b.set(Buffer::HttpHost, host);
        b.set(Buffer::HttpUserAgent, ua);
        return b;
    };
    // Rule indices (sid - 1).
    EXPECT_EQ(run(c, InspectPoint::Request, req("/v1/messages", "api.example.com", "curl/8")),
              (std::vector<uint32_t>{0, 1, 2, 3, 4, 6, 7}));
    EXPECT_EQ(run(c, InspectPoint::Request, req("/x/v1/", "example.com", "python-httpx/0.2")),
              (std::vector<uint32_t>{5, 7}))
        << "not at the start; '.example.com' longer than the host; isdataat:!1 after the end";
    EXPECT_EQ(run(c, InspectPoint::Request, req("/v1/a.php", "a.example.com.evil", "abc")),
              (std::vector<uint32_t>{0, 3}))
        << "bsize 3<>9 excludes 3; .php ends the uri";
    // Syntax errors and combinations Suricata refuses.
    for (const char* bad : {
             "alert http any any -> any any (http.uri; content:\"a\"; offset:1; startswith; "
             "sid:1;)",
             "alert http any any -> any any (http.uri; content:\"a\"; startswith; depth:3; sid:1;)",
             "alert tcp any any -> any any (content:\"a\"; bsize:3; sid:1;)",
             "alert http any any -> any any (http.uri; bsize:9<>9; sid:1;)",
             "alert http any any -> any any (http.uri; isdataat:x; sid:1;)",
             "alert http any any -> any any (http.uri; content:\"a\"; endswith 1; sid:1;)",
         })
        EXPECT_FALSE(parse(bad, Dialect::Suricata).ok()) << bad;
    // Snort 3: bufferlen is bsize.
    auto snort = parse("alert http (http_uri; bufferlen:<5; sid:1;)", Dialect::Snort3);
    ASSERT_TRUE(snort.ok()) << snort.errors[0].format();
    EXPECT_EQ(snort.rules[0].conditions[0].kind, Condition::Kind::Size);
}

TEST(Transforms, SuricatasTransformsOnBuffers) {
    auto apply = [](std::vector<Transform> chain, std::string_view in) {
        std::vector<char> out(64);
        return std::string(out.data(), apply_transforms(chain, in, out));
    };
    EXPECT_EQ(apply({Transform::DotPrefix}, "google.com"), ".google.com");
    EXPECT_EQ(apply({Transform::ToLowercase}, "AbC-Z1"), "abc-z1");
    EXPECT_EQ(apply({Transform::ToUppercase}, "AbC-z1"), "ABC-Z1");
    EXPECT_EQ(apply({Transform::StripWhitespace}, " a b\tc\r\n\vd\f"), "abcd");
    EXPECT_EQ(apply({Transform::CompressWhitespace}, "a  \t b\r\n c "), "a b c ");
    EXPECT_EQ(apply({Transform::UrlDecode}, "%2Fpath+x%zz%4"), "/path x%zz%4");
    EXPECT_EQ(apply({Transform::ToLowercase, Transform::DotPrefix}, "A.COM"), ".a.com");
    EXPECT_EQ(apply({Transform::UrlDecode, Transform::DotPrefix, Transform::ToUppercase}, "a%2eb"),
              ".A.B");
    // The output is bounded: a longer result is cut, never overrun.
    std::vector<char> small(4);
    EXPECT_EQ(apply_transforms(std::vector<Transform>{Transform::DotPrefix}, "abcdef", small), 4u);
    EXPECT_EQ(std::string(small.data(), 4), ".abc");

    auto c = compile(
        "alert http any any -> any any (http.host; dotprefix; content:\".example.com\"; "
        "endswith; sid:1;)\n"
        "alert http any any -> any any (http.uri; to_lowercase; content:\"/admin\"; sid:2;)\n"
        "alert http any any -> any any (http.uri; url_decode; content:\"/v1/messages\"; "
        "startswith; sid:3;)\n"
        "alert http any any -> any any (http.user_agent; strip_whitespace; "
        "content:\"python-requests\"; sid:4;)\n"
        "alert http any any -> any any (http.user_agent; compress_whitespace; content:\"a b\"; "
        "bsize:3; sid:5;)\n");
    ASSERT_TRUE(c);
    auto req = [](std::string_view host, std::string_view uri, std::string_view ua) {
        BufferSet b;
        b.set(Buffer::HttpHost, host);
        b.set(Buffer::HttpUri, uri);
        b.set(Buffer::HttpUserAgent, ua);
        return b;
    };
    EXPECT_EQ(
        run(c, InspectPoint::Request, req("api.example.com", "/ADMIN/x", "python - requests")),
        (std::vector<uint32_t>{0, 1, 3}));
    EXPECT_EQ(run(c, InspectPoint::Request, req("example.com", "/v1%2Fmessages", "a \t b")),
              (std::vector<uint32_t>{0, 2, 4}));
    EXPECT_EQ(run(c, InspectPoint::Request, req("badexample.com", "/x/v1/messages", "ab")),
              (std::vector<uint32_t>{}))
        << "dotprefix keeps badexample.com out; url_decode then startswith";
    // What is refused, and why.
    for (const char* bad : {
             "alert http any any -> any any (dotprefix; content:\"a\"; sid:1;)",
             "alert http any any -> any any (http.host; content:\"a\"; dotprefix; sid:1;)",
             "alert http any any -> any any (http.host; dotprefix: 1; content:\"a\"; sid:1;)",
         })
        EXPECT_FALSE(parse(bad, Dialect::Suricata).ok()) << bad;
    auto body = parse(
        "alert http any any -> any any (http.request_body; to_lowercase; content:\"a\"; sid:1;)",
        Dialect::Suricata);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.errors[0].unsupported, "to_lowercase on a body or stream");
}

TEST(RuleParser, RequiresIsHonoured) {
    const std::string ok =
        "alert tcp any any -> any any (requires: version >= 6.0.10; "
        "content:\"a\"; sid:1;)";
    EXPECT_TRUE(parse(ok, Dialect::Suricata).ok());
    EXPECT_TRUE(parse("alert tcp any any -> any any (requires: version >= 7 < 8; content:\"a\"; "
                      "sid:1;)",
                      Dialect::Suricata)
                    .ok());
    auto v8 = parse("alert tcp any any -> any any (requires: version >= 8; content:\"a\"; sid:1;)",
                    Dialect::Suricata);
    ASSERT_FALSE(v8.ok());
    EXPECT_EQ(v8.errors[0].unsupported, "requires version");
    auto feat =
        parse("alert tcp any any -> any any (requires: feature geoip; content:\"a\"; sid:1;)",
              Dialect::Suricata);
    ASSERT_FALSE(feat.ok());
    EXPECT_EQ(feat.errors[0].unsupported, "requires feature geoip");
    EXPECT_FALSE(
        parse("alert tcp any any -> any any (requires: version ~ 7; sid:1;)", Dialect::Suricata)
            .ok());
}

TEST(RuleParser, FlowbitsSyntax) {
    auto f = parse(
        "alert http any any -> any any (http.uri; content:\"/a\"; flowbits:set,ET.x; "
        "flowbits:noalert; sid:1;)\n"
        "alert http any any -> any any (flowbits:isset,ET.x|ET-y; http.uri; content:\"/b\"; "
        "sid:2;)\n",
        Dialect::Suricata);
    ASSERT_TRUE(f.ok()) << f.errors[0].format();
    EXPECT_TRUE(f.rules[0].noalert);
    ASSERT_EQ(f.rules[1].flowbits.size(), 1u);
    EXPECT_EQ(f.rules[1].flowbits[0].kind, FlowbitsOp::Kind::IsSet);
    EXPECT_EQ(f.rules[1].flowbits[0].names, (std::vector<std::string>{"ET.x", "ET-y"}));
    // Snort 3 writes them the same way.
    auto snort = parse(
        "alert http (http_uri; content:\"/a\"; flowbits:set,ET.x; flowbits:noalert; "
        "sid:1;)\nalert http (flowbits:isset,ET.x; http_uri; content:\"/b\"; sid:2;)",
        Dialect::Snort3);
    ASSERT_TRUE(snort.ok()) << snort.errors[0].format();
    EXPECT_TRUE(snort.rules[0].noalert);
    EXPECT_EQ(snort.rules[1].flowbits[0].kind, FlowbitsOp::Kind::IsSet);
    for (const char* bad : {
             "alert tcp any any -> any any (flowbits:sett,a; sid:1;)",
             "alert tcp any any -> any any (flowbits:set; sid:1;)",
             "alert tcp any any -> any any (flowbits:set,a|b; sid:1;)",
             "alert tcp any any -> any any (flowbits:isset,a b; sid:1;)",
             "alert tcp any any -> any any (flowbits:noalert,a; sid:1;)",
         })
        EXPECT_FALSE(parse(bad, Dialect::Suricata).ok()) << bad;
    auto amp =
        parse("alert tcp any any -> any any (flowbits:isset,a&b; sid:1;)", Dialect::Suricata);
    ASSERT_FALSE(amp.ok());
    EXPECT_EQ(amp.errors[0].unsupported, "flowbits &");
    // Ids are given in order of first use across the set.
    RuleSetOptions o;
    auto rs = build_rule_set({{"f.rules",
                               "alert tcp any any -> any any (flowbits:set,b; content:\"x\"; "
                               "sid:1;)\n"
                               "alert tcp any any -> any any (flowbits:isset,a|b; content:\"y\"; "
                               "sid:2;)\n"}},
                             o);
    ASSERT_TRUE(rs.set);
    EXPECT_EQ(rs.set->flowbit_names, (std::vector<std::string>{"b", "a"}));
    EXPECT_EQ(rs.set->rules[1].flowbits[0].ids, (std::vector<uint16_t>{1, 0}));
}

TEST(Matcher, ByteTestAndByteJump) {
    // A length-prefixed record: 2-byte big-endian length 5, "hello", then "|01 02|" and a
    // decimal field.
    const std::string data = std::string("\x00\x05hello\x01\x02", 9) + "len=0042;";
    auto c = compile(
        "alert tcp any any -> any any (pkt_data; byte_test:2,=,5,0; sid:1;)\n"
        "alert tcp any any -> any any (pkt_data; byte_test:2,>,0x10,0; sid:2;)\n"
        "alert tcp any any -> any any (pkt_data; byte_test:2,!=,5,0; sid:3;)\n"
        "alert tcp any any -> any any (pkt_data; byte_test:2,=,0x0201,7,little; sid:4;)\n"
        "alert tcp any any -> any any (pkt_data; content:\"len=\"; byte_test:4,=,42,0,relative,"
        "string,dec; sid:5;)\n"
        "alert tcp any any -> any any (pkt_data; byte_test:1,&,0x04,1; sid:6;)\n"
        "alert tcp any any -> any any (pkt_data; byte_test:1,=,1,1,bitmask 0x04; sid:7;)\n"
        "alert tcp any any -> any any (pkt_data; byte_jump:2,0; content:\"|01 02|\"; within:2; "
        "sid:8;)\n"
        "alert tcp any any -> any any (pkt_data; byte_jump:2,0; content:\"hello\"; within:5; "
        "sid:9;)\n"
        "alert tcp any any -> any any (pkt_data; byte_jump:1,1,multiplier 2,post_offset -1; "
        "content:\"|01|\"; within:1; sid:10;)\n"
        "alert tcp any any -> any any (pkt_data; byte_jump:1,1,from_end,post_offset -14; "
        "content:\"len=\"; within:4; sid:11;)\n"
        "alert tcp any any -> any any (pkt_data; byte_test:4,>,1,16; sid:12;)\n"
        "alert tcp any any -> any any (pkt_data; byte_jump:1,1,from_beginning,align; "
        "content:\"|02|\"; within:1; sid:13;)\n");
    ASSERT_TRUE(c);
    BufferSet b;
    b.set(Buffer::Stream, data);
    // Worked by hand (18 bytes): sid 2: 5 is not > 16; 3: it is 5; 9: the jump to 7 lands past
    // "hello"; 10: 1 + 1 + 5*2 - 1 = 11 is 'n'; 11: 18 + 5 - 14 = 9 is "len="; 12: four bytes
    // at 16 run past the end; 13: 5 aligned to 8 is "|02|".
    EXPECT_EQ(run(c, InspectPoint::Stream, b), (std::vector<uint32_t>{0, 3, 4, 5, 6, 7, 10, 12}));
    for (const char* bad : {
             "alert tcp any any -> any any (byte_test:2,~,5,0; sid:1;)",
             "alert tcp any any -> any any (byte_test:9,=,5,0; sid:1;)",
             "alert tcp any any -> any any (byte_test:2,=,5; sid:1;)",
             "alert tcp any any -> any any (byte_jump:2,0,multiplier 0; sid:1;)",
             "alert tcp any any -> any any (byte_jump:2,0,from_beginning,from_end; sid:1;)",
             "alert tcp any any -> any any (byte_test:2,=,5,0,sideways; sid:1;)",
         })
        EXPECT_FALSE(parse(bad, Dialect::Suricata).ok()) << bad;
    auto var =
        parse("alert tcp any any -> any any (byte_test:2,=,len,0; sid:1;)", Dialect::Suricata);
    ASSERT_FALSE(var.ok());  // no byte_extract defined it
    EXPECT_NE(var.errors[0].message.find("no byte_extract or byte_math variable"),
              std::string::npos);
}

TEST(Matcher, DifferentialAgainstReferenceOnRandomRules) {
    std::mt19937 rng(12345);
    auto word = [&](size_t n) {
        std::string w;
        for (size_t i = 0; i < n; ++i) w.push_back("abcAB\n"[rng() % 6]);
        return w;
    };
    auto esc = [](const std::string& w) {
        std::string o;
        for (char ch : w) {
            char tmp[8];
            if (ch == '\n')
                o += "|0a|";
            else {
                snprintf(tmp, sizeof tmp, "%c", ch);
                o += tmp;
            }
        }
        return o;
    };
    std::string text;
    for (int sid = 1; sid <= 400; ++sid) {
        text += "alert tcp any any -> any any (pkt_data; ";
        const int n = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < n; ++k) {
            const int kind = static_cast<int>(rng() % 14);
            if (kind < 7) {
                const std::string w = word(1 + rng() % 3);
                text +=
                    std::string("content:") + (rng() % 8 == 0 ? "!" : "") + "\"" + esc(w) + "\"; ";
                if (rng() % 2) text += "nocase; ";
                const int pos = static_cast<int>(rng() % 6);
                if (pos == 1) text += "offset:" + std::to_string(rng() % 4) + "; ";
                if (pos == 2) text += "depth:" + std::to_string(w.size() + rng() % 6) + "; ";
                if (pos == 3 && k > 0)
                    text += "distance:" + std::to_string(static_cast<int>(rng() % 4) - 1) +
                            "; within:" + std::to_string(w.size() + rng() % 4) + "; ";
                if (pos == 4) text += "startswith; ";
                if (pos == 5) text += "endswith; ";
                if (pos == 5 && rng() % 2) text += "offset:" + std::to_string(rng() % 3) + "; ";
            } else if (kind == 7) {
                text += std::string("isdataat:") + (rng() % 3 == 0 ? "!" : "") +
                        std::to_string(rng() % 8) + (k > 0 && rng() % 2 ? ",relative" : "") + "; ";
            } else if (kind == 8) {
                const char* cmps[] = {"", "<", ">", "<=", ">=", "!="};
                text += std::string("bsize:") + cmps[rng() % 6] + std::to_string(rng() % 16) + "; ";
            } else if (kind == 12) {
                const char* ops[] = {"<", ">", "=", "!=", "&", "^", "<=", ">="};
                text += "byte_test:1," + std::string(ops[rng() % 8]) + "," +
                        std::to_string(rng() % 120) + "," +
                        std::to_string(static_cast<int>(rng() % 4) - (k > 0 ? 1 : 0)) +
                        (k > 0 && rng() % 2 ? ",relative" : "") + "; ";
            } else if (kind == 13) {
                text += "byte_jump:1," + std::to_string(rng() % 3) +
                        (k > 0 && rng() % 2 ? ",relative" : "") +
                        (rng() % 3 == 0 ? ",from_beginning" : "") + ",post_offset " +
                        std::to_string(static_cast<int>(rng() % 200) - 100) + "; ";
            } else if (kind == 9) {
                text += "bsize:" + std::to_string(rng() % 6) + "<>" +
                        std::to_string(8 + rng() % 10) + "; ";
            } else {
                const char* pats[] = {"a[bB]+", "^ab", "b.?a", "(a|b)c", "A\\s", "c$"};
                text += std::string("pcre:\"/") + pats[rng() % 6] + "/" + (rng() % 2 ? "i" : "") +
                        (rng() % 3 == 0 && k > 0 ? "R" : "") + "\"; ";
            }
        }
        text += "sid:" + std::to_string(sid) + ";)\n";
    }
    auto c = compile(text);
    ASSERT_TRUE(c);
    Matcher matcher(c);
    ReferenceEvaluator ref(std::shared_ptr<const RuleSet>(c, &c->set()));
    size_t total = 0;
    for (int i = 0; i < 2000; ++i) {
        const std::string data = word(rng() % 24);
        BufferSet b;
        b.set(Buffer::Stream, data);
        std::vector<uint32_t> got, want;
        matcher.match(InspectPoint::Stream, b, ctx(), got);
        ref.match(InspectPoint::Stream, b, ctx(), want);
        ASSERT_EQ(got, want) << "buffer: " << data;
        total += got.size();
    }
    EXPECT_GT(total, 1000u);
}

#include <hs/hs.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>

#include "rules/bundle.h"
#include "rules/bundle_signature.h"
#include "rules/dataset_path.h"

namespace {
std::shared_ptr<const CompiledRules> pack_rules() {
    RuleSetOptions o;
    auto rs = load_rule_files({default_rules_dir() + "/packs"}, o);
    EXPECT_TRUE(rs.set);
    return CompiledRules::compile(std::shared_ptr<const RuleSet>(std::move(rs.set))).rules;
}

std::vector<std::vector<uint32_t>> probe(const std::shared_ptr<const CompiledRules>& c) {
    // Buffers that trip several pack rules, at every inspection point.
    BufferSet b;
    b.set(Buffer::LlmPrompt, "Using the rubric, score the response 1-10. Task ID: 00123 in json");
    b.set(Buffer::HttpUserAgent, "python-requests/2.31");
    b.set(Buffer::HttpHeader, "Authorization: Bearer sk-ant-oat01-x\r\nx-api-key: k\r\n");
    b.set(Buffer::HttpUri, "/v1/messages");
    b.set(Buffer::Ja4Hash, "t13d1715h2_5b57614c22b0_3d5424432f57");
    Matcher m(c);
    std::vector<std::vector<uint32_t>> out(kInspectPointCount);
    for (size_t p = 0; p < kInspectPointCount; ++p)
        m.match(static_cast<InspectPoint>(p), b, ctx(), out[p]);
    return out;
}
}  // namespace

TEST(Bundle, RoundTripLoadsDatabasesWithoutCompiling) {
    auto c = pack_rules();
    ASSERT_TRUE(c);
    const auto bytes = write_bundle(*c);
    const BundleLoad l = read_bundle(bytes, DatabaseTrust::Load);
    for (auto& e : l.compiled.errors) ADD_FAILURE() << e.format();
    ASSERT_TRUE(l.compiled.rules);
    EXPECT_EQ(l.compiled.databases_recompiled, 0u);
    EXPECT_EQ(l.compiled.databases_loaded, c->stats().databases);
    EXPECT_EQ(l.compiled.rules->set().digest, c->set().digest);
    EXPECT_EQ(l.compiled.rules->set().rules.size(), c->set().rules.size());
    const auto want = probe(c);
    size_t hits = 0;
    for (const auto& v : want) hits += v.size();
    EXPECT_GE(hits, 4u);
    EXPECT_EQ(probe(l.compiled.rules), want);
    EXPECT_FALSE(l.built_with.empty());
}

TEST(Bundle, ForeignDatabaseIsRecompiledAndSaysWhy) {
    auto c = pack_rules();
    ASSERT_TRUE(c);
    // Rewrite the bundle with every database's Hyperscan version field altered, as a bundle
    // from another Hyperscan build would have it.
    SerializedDatabases dbs = c->serialize();
    ASSERT_FALSE(dbs.empty());
    auto bytes = write_bundle(*c);
    for (const auto& [key, blob] : dbs) {
        const std::vector<uint8_t> needle(blob.begin(), blob.begin() + 64);
        auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
        ASSERT_NE(it, bytes.end());
        it[4] ^= 0x5a;  // the version word follows the magic
    }
    const BundleLoad l = read_bundle(bytes, DatabaseTrust::Load);
    for (auto& e : l.compiled.errors) ADD_FAILURE() << e.format();
    ASSERT_TRUE(l.compiled.rules);
    EXPECT_EQ(l.compiled.databases_loaded, 0u);
    EXPECT_EQ(l.compiled.databases_recompiled, dbs.size());
    EXPECT_NE(l.compiled.recompile_reason.find("another Hyperscan version"), std::string::npos)
        << l.compiled.recompile_reason;
    EXPECT_EQ(probe(l.compiled.rules), probe(c));
}

TEST(Bundle, ASetWithSkippedRulesRebuildsTheSameWay) {
    RuleSetOptions o;
    o.skip_invalid = true;
    auto rs = build_rule_set({{"a.rules",
                               "alert tcp any any -> any any (content:\"keep\"; sid:1;)\n"
                               "alert tcp any any -> any any (content:\"x\"; "
                               "xbits:set,n,track ip_src; sid:2;)\n"}},
                             o);
    ASSERT_TRUE(rs.set);
    auto c = CompiledRules::compile(std::shared_ptr<const RuleSet>(std::move(rs.set)));
    ASSERT_TRUE(c.rules);
    const auto bytes = write_bundle(*c.rules);
    const BundleLoad l = read_bundle(bytes, DatabaseTrust::Load);
    for (auto& e : l.compiled.errors) ADD_FAILURE() << e.format();
    ASSERT_TRUE(l.compiled.rules) << "the bundle says its set skips bad rules";
    EXPECT_EQ(l.compiled.rules->set().rules.size(), 1u);
    ASSERT_EQ(l.compiled.rules->set().skipped.size(), 1u);
    EXPECT_EQ(l.compiled.rules->set().skipped[0].unsupported, "xbits");
    EXPECT_EQ(l.compiled.rules->set().digest, c.rules->set().digest);
}

TEST(Bundle, DamagedBundlesAreErrorsNotCrashes) {
    auto c = pack_rules();
    ASSERT_TRUE(c);
    const auto bytes = write_bundle(*c);
    for (size_t n = 0; n < bytes.size(); n += 97) {
        const BundleLoad l =
            read_bundle(std::span<const uint8_t>(bytes).first(n), DatabaseTrust::Load);
        EXPECT_FALSE(l.compiled.rules) << "truncated at " << n;
        EXPECT_FALSE(l.compiled.errors.empty());
    }
    // Tampered rule text no longer matches the digest.
    auto tampered = bytes;
    auto it = std::search(tampered.begin(), tampered.end(), std::begin("SLUICE distillation"),
                          std::end("SLUICE distillation") - 1);
    ASSERT_NE(it, tampered.end());
    *it = 'X';
    const BundleLoad l = read_bundle(tampered, DatabaseTrust::Load);
    EXPECT_FALSE(l.compiled.rules);
    ASSERT_FALSE(l.compiled.errors.empty());
    EXPECT_NE(l.compiled.errors[0].message.find("digest"), std::string::npos);
}

namespace {
// Ed25519 key pairs as PEM files, the way operators make them with openssl genpkey.
struct KeyFiles {
    std::string priv, pub;
};
KeyFiles make_key(const std::string& name) {
    EVP_PKEY* k = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    EXPECT_EQ(EVP_PKEY_keygen_init(ctx), 1);
    EXPECT_EQ(EVP_PKEY_keygen(ctx, &k), 1);
    EVP_PKEY_CTX_free(ctx);
    const std::string dir = ::testing::TempDir();
    KeyFiles f{dir + "/" + name + ".pem", dir + "/" + name + ".pub"};
    std::FILE* out = std::fopen(f.priv.c_str(), "w");
    PEM_write_PrivateKey(out, k, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(out);
    out = std::fopen(f.pub.c_str(), "w");
    PEM_write_PUBKEY(out, k);
    std::fclose(out);
    EVP_PKEY_free(k);
    return f;
}

// Replaces one serialized database inside a bundle (found by its header; its u32 length
// prefix included) by another, as an attacker editing a bundle in transit would.
std::vector<uint8_t> swap_database(std::vector<uint8_t> bundle, const std::string& old_db,
                                   const std::string& new_db) {
    const std::vector<uint8_t> header(old_db.begin(), old_db.begin() + 64);
    auto it = std::search(bundle.begin(), bundle.end(), header.begin(), header.end());
    EXPECT_NE(it, bundle.end());
    if (it == bundle.end()) return bundle;
    const size_t at = static_cast<size_t>(it - bundle.begin()) - 4;
    uint32_t old_len = 0;
    for (int i = 0; i < 4; ++i) old_len |= uint32_t{bundle[at + i]} << (8 * i);
    std::vector<uint8_t> out(bundle.begin(), bundle.begin() + static_cast<long>(at));
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(new_db.size() >> (8 * i)));
    out.insert(out.end(), new_db.begin(), new_db.end());
    out.insert(out.end(), bundle.begin() + static_cast<long>(at + 4 + old_len), bundle.end());
    return out;
}

// A literal database whose one pattern never occurs in traffic, with an id far beyond any
// rule's: loaded as it is, it silently disables its buffer's rules.
std::string database_matching_nothing(unsigned id) {
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    const char* pattern = "\\x00\\x01never in traffic\\x02";
    EXPECT_EQ(hs_compile_multi(&pattern, nullptr, &id, 1, HS_MODE_BLOCK, nullptr, &db, &err),
              HS_SUCCESS);
    char* bytes = nullptr;
    size_t len = 0;
    EXPECT_EQ(hs_serialize_database(db, &bytes, &len), HS_SUCCESS);
    std::string out(bytes, len);
    std::free(bytes);
    hs_free_database(db);
    return out;
}
}  // namespace

TEST(BundleSignature, VerifiedBeforeAnythingLoadsAndReplaysAreRefused) {
    auto c = pack_rules();
    ASSERT_TRUE(c);
    const auto bundle = write_bundle(*c);
    const KeyFiles k1 = make_key("k1"), k2 = make_key("k2"), rogue = make_key("rogue");
    std::string err;
    auto s1 = SigningKey::load(k1.priv, err), s2 = SigningKey::load(k2.priv, err),
         sr = SigningKey::load(rogue.priv, err);
    ASSERT_TRUE(s1 && s2 && sr) << err;
    EXPECT_EQ(s1->key_id().size(), 16u);
    EXPECT_NE(s1->key_id(), s2->key_id());
    TrustedKeys trusted;
    ASSERT_TRUE(trusted.add_file(k1.pub, err)) << err;
    ASSERT_TRUE(trusted.add_file(k2.pub, err)) << err;  // rotation: both at once
    EXPECT_FALSE(trusted.add_file(k1.priv + ".missing", err));

    // Both trusted keys verify; the databases are loaded (no compile).
    for (const auto* s : {&*s1, &*s2}) {
        const auto env = s->sign(bundle, 3, 7);
        const TrustedLoad l = load_bundle(env, &trusted, 7);
        for (auto& e : l.load.compiled.errors) ADD_FAILURE() << e.format();
        ASSERT_TRUE(l.load.compiled.rules);
        ASSERT_TRUE(l.signature);
        EXPECT_EQ(l.signature->key_id, s->key_id());
        EXPECT_EQ(l.signature->version, 3u);
        EXPECT_EQ(l.signature->generation, 7u);
        EXPECT_EQ(l.load.compiled.databases_loaded, c->stats().databases);
        EXPECT_EQ(probe(l.load.compiled.rules), probe(c));
    }
    const auto env = s1->sign(bundle, 3, 7);
    auto refused = [&](std::span<const uint8_t> bytes, uint64_t min_gen, const char* why) {
        const TrustedLoad l = load_bundle(bytes, &trusted, min_gen);
        EXPECT_FALSE(l.load.compiled.rules) << why;
        ASSERT_FALSE(l.load.compiled.errors.empty()) << why;
        EXPECT_NE(l.load.compiled.errors[0].message.find(why), std::string::npos)
            << l.load.compiled.errors[0].message;
    };
    refused(env, 8, "replayed bundle");                 // older than the one in force
    refused(bundle, 0, "unsigned bundle");              // no envelope at all
    refused(sr->sign(bundle, 3, 9), 0, "unknown key");  // a key nobody trusts
    // Any byte changed anywhere - header, version, generation, bundle, signature - fails.
    for (size_t i = 8; i < env.size(); i += std::max<size_t>(1, env.size() / 257)) {
        auto t = env;
        t[i] ^= 0x01;
        const TrustedLoad l = load_bundle(t, &trusted, 0);
        EXPECT_FALSE(l.load.compiled.rules) << "byte " << i;
    }
    for (size_t n = 0; n < env.size(); n += 1 + env.size() / 61)
        EXPECT_FALSE(
            load_bundle(std::span<const uint8_t>(env).first(n), &trusted, 0).load.compiled.rules);
}

TEST(BundleSignature, ADatabaseThatMatchesNothingIsNeverLoadedUnverified) {
    auto c = pack_rules();
    ASSERT_TRUE(c);
    const SerializedDatabases dbs = c->serialize();
    // The literal database of the buffer carrying most rules in the probe (the prompt).
    const uint16_t key = static_cast<uint16_t>(bidx(Buffer::LlmPrompt) * 4);
    ASSERT_TRUE(dbs.count(key));
    const auto forged =
        swap_database(write_bundle(*c), dbs.at(key), database_matching_nothing(4'000'000));
    // Loaded as it is (what sluice did before signing), the forged database wins: the
    // prompt rules stop matching though the reviewed digest is unchanged - and its pattern id
    // is far out of range, which the matcher must survive (ASan watches).
    const BundleLoad raw = read_bundle(forged, DatabaseTrust::Load);
    ASSERT_TRUE(raw.compiled.rules);
    EXPECT_EQ(raw.compiled.rules->set().digest, c->set().digest);
    EXPECT_NE(probe(raw.compiled.rules), probe(c));
    // Without a trusted key the databases are rebuilt from the sources: detection intact.
    const TrustedLoad rebuilt = load_bundle(forged, nullptr, 0);
    ASSERT_TRUE(rebuilt.load.compiled.rules);
    EXPECT_EQ(rebuilt.load.compiled.databases_loaded, 0u);
    EXPECT_NE(rebuilt.load.compiled.recompile_reason.find("not trusted"), std::string::npos);
    EXPECT_EQ(probe(rebuilt.load.compiled.rules), probe(c));
    // With one, the forgery signed by a key not trusted is refused before it is read.
    const KeyFiles k = make_key("trusted"), rogue = make_key("forger");
    std::string err;
    TrustedKeys trusted;
    ASSERT_TRUE(trusted.add_file(k.pub, err));
    const auto forger = SigningKey::load(rogue.priv, err);
    EXPECT_FALSE(load_bundle(forger->sign(forged, 1, 1), &trusted, 0).load.compiled.rules);
    // A signed envelope on a dataplane without keys: unwrapped, still rebuilt.
    const TrustedLoad unwrapped = load_bundle(forger->sign(forged, 1, 1), nullptr, 0);
    ASSERT_TRUE(unwrapped.load.compiled.rules);
    EXPECT_FALSE(unwrapped.signature);
    EXPECT_EQ(probe(unwrapped.load.compiled.rules), probe(c));
}

TEST(RuleParser, EveryKeywordInBothDialects) {
    // The same rule, keyword for keyword, in each dialect.
    const std::string suricata =
        "alert http $EXTERNAL_NET any -> $API_SERVERS $API_PORTS (msg:\"all\"; "
        "flow:established,to_server; http.method; content:\"POST\"; http.uri; content:\"/v1/\"; "
        "depth:4; offset:0; http.host; content:\"api\"; nocase; http.user_agent; "
        "content:!\"curl\"; http.header; content:\"x-api-key|3a|\"; nocase; http.cookie; "
        "content:\"s=\"; http.request_body; content:\"model\"; llm.prompt; content:\"step\"; "
        "fast_pattern; content:\"trace\"; distance:1; within:20; pcre:\"/trace\\s/iR\"; "
        "llm.system; pcre:\"/grader/smx\"; llm.model; content:\"claude\"; "
        "classtype:llm-distillation; priority:2; metadata:pack test; gid:1; sid:42; rev:3; "
        "reference:url,example.com; target:dest_ip;)\n";
    const std::string snort =
        "# sluice-dialect: snort3\n"
        "alert http $EXTERNAL_NET any -> $API_SERVERS $API_PORTS (msg:\"all\"; "
        "flow:established,to_server; http_method; content:\"POST\"; http_uri; "
        "content:\"/v1/\",depth 4,offset 0; http_header:field host; content:\"api\",nocase; "
        "http_header:field user-agent; content:!\"curl\"; http_header; "
        "content:\"x-api-key|3a|\",nocase; http_cookie; content:\"s=\"; http_client_body; "
        "content:\"model\"; llm.prompt; content:\"step\",fast_pattern; "
        "content:\"trace\",distance 1,within 20; pcre:\"/trace\\s/iR\"; llm.system; "
        "pcre:\"/grader/smx\"; llm.model; content:\"claude\"; classtype:llm-distillation; "
        "priority:2; metadata:pack test; gid:1; sid:42; rev:3; rem:\"a remark\";)\n";
    auto a = parse(suricata), b = parse(snort);
    ASSERT_TRUE(a.ok()) << a.errors[0].format();
    ASSERT_TRUE(b.ok()) << b.errors[0].format();
    EXPECT_EQ(a.dialect, Dialect::Suricata);
    EXPECT_EQ(b.dialect, Dialect::Snort3);
    const Rule& x = a.rules[0];
    const Rule& y = b.rules[0];
    ASSERT_EQ(x.conditions.size(), y.conditions.size());
    for (size_t i = 0; i < x.conditions.size(); ++i) {
        const Condition &p = x.conditions[i], &q = y.conditions[i];
        EXPECT_EQ(p.buffer, q.buffer) << i;
        EXPECT_EQ(p.kind, q.kind) << i;
        EXPECT_EQ(p.content.bytes, q.content.bytes) << i;
        EXPECT_EQ(p.content.nocase, q.content.nocase) << i;
        EXPECT_EQ(p.content.negated, q.content.negated) << i;
        EXPECT_EQ(p.content.fast_pattern, q.content.fast_pattern) << i;
        EXPECT_EQ(p.content.depth, q.content.depth) << i;
        EXPECT_EQ(p.content.offset, q.content.offset) << i;
        EXPECT_EQ(p.content.distance, q.content.distance) << i;
        EXPECT_EQ(p.content.within, q.content.within) << i;
        EXPECT_EQ(p.pcre.pattern, q.pcre.pattern) << i;
        EXPECT_EQ(p.pcre.relative, q.pcre.relative) << i;
        EXPECT_EQ(p.pcre.caseless, q.pcre.caseless) << i;
        EXPECT_EQ(p.pcre.dotall && p.pcre.multiline && p.pcre.extended,
                  q.pcre.dotall && q.pcre.multiline && q.pcre.extended)
            << i;
    }
    for (const Rule* r : {&x, &y}) {
        EXPECT_EQ(r->msg, "all");
        EXPECT_EQ(r->sid, 42u);
        EXPECT_EQ(r->rev, 3u);
        EXPECT_EQ(r->gid, 1u);
        EXPECT_EQ(*r->priority, 2);
        EXPECT_EQ(r->classtype, "llm-distillation");
        EXPECT_TRUE(r->flow_established && r->flow_to_server);
        EXPECT_EQ(r->metadata[0].second, "test");
        EXPECT_FALSE(r->dst.is_any());
    }
    EXPECT_EQ(x.conditions[2].buffer, Buffer::HttpHost);
    EXPECT_EQ(x.conditions[3].buffer, Buffer::HttpUserAgent);
    EXPECT_EQ(x.conditions[9].kind, Condition::Kind::Pcre);
    EXPECT_TRUE(x.conditions[9].pcre.relative);
    EXPECT_TRUE(x.conditions[10].pcre.extended);
    // Datasets in the Snort 3 dialect too.
    auto d =
        parse("# sluice-dialect: snort3\nalert tls (ja4.hash; dataset:isnotset,ok-ja4; sid:5;)\n");
    ASSERT_TRUE(d.ok()) << d.errors[0].format();
    EXPECT_EQ(d.rules[0].conditions[0].dataset.op, DatasetOp::IsNotSet);
    EXPECT_EQ(d.rules[0].point, InspectPoint::TlsHello);
}

TEST(DatasetPath, PushedRulesReadOnlyBeneathTheDatasetDirectories) {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(::testing::TempDir()) / "sluice-datasets";
    fs::remove_all(root);
    fs::create_directories(root / "allowed" / "sub");
    fs::create_directories(root / "outside");
    auto write = [](const fs::path& p, const std::string& text) {
        std::FILE* f = std::fopen(p.c_str(), "w");
        std::fputs(text.c_str(), f);
        std::fclose(f);
    };
    write(root / "allowed" / "sub" / "ua.lst",
          "cHl0aG9uLXJlcXVlc3RzLzIuMzE=\n");  // base64, as Suricata
    write(root / "outside" / "secret.lst", "do-not-read\n");
    fs::create_symlink(root / "outside" / "secret.lst", root / "allowed" / "link.lst");
    const std::vector<std::string> dirs = {(root / "allowed").string()};
    std::string out, why;
    EXPECT_TRUE(read_beneath(dirs, "sub/ua.lst", out, why)) << why;
    EXPECT_EQ(out, "cHl0aG9uLXJlcXVlc3RzLzIuMzE=\n");
    EXPECT_TRUE(read_beneath(dirs, (root / "allowed" / "sub" / "ua.lst").string(), out, why));
    for (const std::string& bad :
         {std::string("../outside/secret.lst"), std::string("link.lst"),
          (root / "outside" / "secret.lst").string(), std::string("/etc/passwd"),
          std::string("sub/../../outside/secret.lst"), std::string("sub")}) {
        out.clear();
        EXPECT_FALSE(read_beneath(dirs, bad, out, why)) << bad;
        EXPECT_TRUE(out.empty() || bad == "sub") << bad;
        EXPECT_FALSE(why.empty());
    }
    EXPECT_FALSE(read_beneath({}, "sub/ua.lst", out, why));

    // Through the rule set, confined as sluiced builds pushed rules: an escape is an error
    // with the rule's file:line:col, a path inside the directory loads.
    auto build = [&](const std::string& load) {
        RuleSetOptions o;
        o.confine_datasets = true;
        o.dataset_dirs = dirs;
        const std::string text =
            "alert http any any -> any any (msg:\"ua\"; http.user_agent; dataset:isset,uas,type "
            "string,load " +
            load + "; sid:1;)\n";
        return build_rule_set({{"pushed.rules", text}}, o);
    };
    const auto ok = build("sub/ua.lst");
    for (const auto& e : ok.errors) ADD_FAILURE() << e.format();
    EXPECT_TRUE(ok.set);
    const auto escape = build("/etc/passwd");
    EXPECT_FALSE(escape.set);
    ASSERT_FALSE(escape.errors.empty());
    EXPECT_NE(escape.errors[0].format().find("pushed.rules:1:"), std::string::npos)
        << escape.errors[0].format();
    EXPECT_NE(escape.errors[0].message.find("dataset directories"), std::string::npos);
    // A bundle rebuilt elsewhere never reads that host's disk for a file it lacks.
    RuleSetOptions files_only;
    files_only.files_only = true;
    files_only.files[default_rules_dir() + "/classification.config"] = "";
    const auto lacking = build_rule_set(
        {{"b.rules",
          "alert http any any -> any any (msg:\"x\"; http.user_agent; dataset:isset,x,"
          "type string,load /etc/hostname; sid:2;)\n"}},
        files_only);
    EXPECT_FALSE(lacking.set);
    fs::remove_all(root);
}

// Packet rules: ip, tcp-pkt and tcp rules with header keywords are evaluated per packet, their
// payload contents on the packet's payload.
TEST(PacketRules, ParseBothDialects) {
    auto f = parse(
        "alert ip any any -> any any (ttl:<64; id:7; fragbits:D; ipopts:rr; sid:1;)\n"
        "alert tcp-pkt any any -> any any (flags:S,CE; window:!0; tcp.mss:>1400; sid:2;)\n"
        "alert tcp any any -> any any (dsize:>10; content:\"GET\"; seq:5; ack:0; sid:3;)\n"
        "alert tcp any any -> any any (ipv4.hdr; content:\"|40 00|\"; offset:6; depth:2; sid:4;)\n"
        "alert tcp any any -> any any (sid:5;)\n"
        "alert tcp any any -> any any (content:\"GET\"; sid:6;)\n");
    ASSERT_TRUE(f.ok()) << f.errors[0].format();
    ASSERT_EQ(f.rules.size(), 6u);
    EXPECT_EQ(f.rules[0].proto, Protocol::Ip);
    EXPECT_EQ(f.rules[0].packet.size(), 4u);
    EXPECT_EQ(f.rules[0].packet[2].bits, frag_bit::kDont);
    EXPECT_EQ(f.rules[0].packet[3].opt, IpOpt::Rr);
    EXPECT_EQ(f.rules[1].proto, Protocol::TcpPkt);
    EXPECT_EQ(f.rules[1].packet[0].bits, 0x02);
    EXPECT_EQ(f.rules[1].packet[0].ignore, 0xc0);
    EXPECT_TRUE(f.rules[1].packet[1].negated);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(f.rules[i].point, InspectPoint::Packet) << i;
    EXPECT_EQ(f.rules[2].conditions[0].buffer, Buffer::PacketPayload);  // dsize: per packet
    EXPECT_EQ(f.rules[3].conditions[0].buffer, Buffer::Ipv4Hdr);
    EXPECT_EQ(f.rules[5].point, InspectPoint::Stream);  // content alone: the stream
    EXPECT_EQ(f.rules[5].conditions[0].buffer, Buffer::Stream);

    auto s = parse(
        "# sluice-dialect: snort3\n"
        "alert tcp any any -> any any (flags:+SA; dsize:100<>200; window:65535; sid:7;)\n"
        "alert ip any any -> any any (fragbits:!MD; ttl:>=128; sid:8;)\n",
        Dialect::Auto);
    ASSERT_TRUE(s.ok()) << s.errors[0].format();
    EXPECT_EQ(s.dialect, Dialect::Snort3);
    EXPECT_EQ(s.rules[0].packet[0].mode, PacketCheck::Mode::All);
    EXPECT_EQ(s.rules[0].point, InspectPoint::Packet);
    EXPECT_EQ(s.rules[1].packet[0].mode, PacketCheck::Mode::Not);

    auto h = parse(
        "alert ip any any -> any any (ipv6.hdr; content:\"|06|\"; sid:9;)\n"
        "alert ip any any -> any any (udp.hdr; content:\"|00 35|\"; sameip; sid:10;)\n");
    ASSERT_TRUE(h.ok()) << h.errors[0].format();
    EXPECT_EQ(h.rules[0].conditions[0].buffer, Buffer::Ipv6Hdr);
    EXPECT_EQ(h.rules[1].conditions[0].buffer, Buffer::UdpHdr);
    EXPECT_EQ(h.rules[1].packet[0].kind, PacketCheck::Kind::SameIp);
    EXPECT_EQ(h.rules[1].point, InspectPoint::Packet);
}

TEST(PacketRules, BadValuesAreErrorsAndAppLayerRulesAreSkipped) {
    for (const char* bad : {"flags:G;", "flags:S+*;", "flags:S,;", "fragbits:X;", "ipopts:bogus;",
                            "ttl:300;", "window:70000;", "dsize:abc;", "sameip:1;"}) {
        auto f = parse(std::string("alert tcp any any -> any any (") + bad + " sid:1;)");
        ASSERT_EQ(f.errors.size(), 1u) << bad;
        EXPECT_TRUE(f.errors[0].unsupported.empty()) << bad << ": " << f.errors[0].format();
    }
    auto f = parse("alert http any any -> any any (http.uri; content:\"/v1\"; ttl:5; sid:1;)");
    ASSERT_EQ(f.errors.size(), 1u);
    EXPECT_EQ(f.errors[0].unsupported, "ttl");  // reported and skipped, not a broken rule
    auto m = parse("alert ip any any -> any any (http.uri; content:\"/v1\"; sid:1;)");
    ASSERT_EQ(m.errors.size(), 1u);
    EXPECT_NE(m.errors[0].format().find("needs protocol http"), std::string::npos)
        << m.errors[0].format();
    auto t = parse("alert tcp any any -> any any (dsize:5; http.uri; content:\"/v1\"; sid:1;)");
    ASSERT_EQ(t.errors.size(), 1u);
    EXPECT_EQ(t.errors[0].unsupported, "mixed inspection points");
}

TEST(PacketRules, FlagsFollowSuricatasModifiers) {
    auto check = [](const char* text) {
        auto f =
            parse(std::string("alert tcp-pkt any any -> any any (flags:") + text + "; sid:1;)");
        EXPECT_TRUE(f.ok()) << text;
        return f.rules.at(0).packet.at(0);
    };
    PacketFacts p;
    p.tcp = true;
    p.tcp_flags = 0x10 | 0x08 | 0x02 | 0x04;  // ACK PSH SYN RST, as Suricata's FlagsTestParse03
    EXPECT_TRUE(check("AP+").holds(p));
    EXPECT_FALSE(check("AP").holds(p));  // exact
    EXPECT_TRUE(check("*FA").holds(p));
    EXPECT_FALSE(check("*FU").holds(p));
    EXPECT_TRUE(check("!FA").holds(p));  // not all of F and A
    EXPECT_FALSE(check("!AP").holds(p));
    p.tcp_flags = 0x02 | 0x40 | 0x80;  // SYN with ECE and CWR
    EXPECT_FALSE(check("S").holds(p));
    EXPECT_TRUE(check("S,CE").holds(p));
    EXPECT_TRUE(check("S,12").holds(p));
    p.tcp_flags = 0;
    EXPECT_TRUE(check("0").holds(p));
    p.tcp = false;  // a UDP packet never matches a flags test
    EXPECT_FALSE(check("0").holds(p));
}

TEST(PacketRules, MatcherAgreesWithTheReferenceOnPacketFacts) {
    auto c = compile(
        "alert ip any any -> any any (ttl:<64; sid:1;)\n"
        "alert tcp-pkt any any -> any any (flags:S; tcp.mss:1460; sid:2;)\n"
        "alert tcp any any -> any any (dsize:>3; content:\"GET\"; depth:3; sid:3;)\n"
        "alert ip any any -> any any (ipopts:ts; fragbits:D+; sid:4;)\n"
        "alert tcp any any -> any any (tcp.hdr; content:\"|50 18|\"; offset:12; depth:2; sid:5;)\n"
        "alert tcp-pkt any any -> any any (id:<100; sid:6;)\n");
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->inspects(InspectPoint::Packet));
    PacketFacts p;
    p.ipv4 = p.tcp = true;
    p.ttl = 63;
    p.tcp_flags = 0x02;
    p.has_mss = true;
    p.mss = 1460;
    p.dsize = 5;
    p.ip_id = 42;
    p.frag_bits = frag_bit::kDont;
    p.ip_opts = ip_opt_bit(IpOpt::Ts) | ip_opt_bit(IpOpt::Eol);
    std::string tcp_hdr(20, '\0');
    tcp_hdr[12] = 0x50;
    tcp_hdr[13] = 0x18;
    BufferSet b;
    b.packet = &p;
    b.set(Buffer::PacketPayload, "GET /");
    b.set(Buffer::TcpHdr, tcp_hdr);
    auto sids = [&](const std::vector<uint32_t>& hits) {
        std::vector<uint32_t> out;
        for (uint32_t r : hits) out.push_back(c->set().rules[r].sid);
        return out;
    };
    EXPECT_EQ(sids(run(c, InspectPoint::Packet, b)), (std::vector<uint32_t>{1, 2, 3, 4, 5, 6}));
    p.tcp = false;  // UDP: only the ip rules hold
    EXPECT_EQ(sids(run(c, InspectPoint::Packet, b)), (std::vector<uint32_t>{1, 4}));
    p.ipv4 = false;  // IPv6: no id, fragbits or ipopts
    EXPECT_EQ(sids(run(c, InspectPoint::Packet, b)), (std::vector<uint32_t>{1}));
    BufferSet none;  // no facts: no packet rule
    none.set(Buffer::PacketPayload, "GET /");
    EXPECT_TRUE(run(c, InspectPoint::Packet, none).empty());
}
