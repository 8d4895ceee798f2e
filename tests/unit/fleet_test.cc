// The fleet's pieces that need no server: cluster key slots against the specification's
// vectors, endpoints, the config section, the data model's keys and element hashes, the
// policy's fleet signals and the correlator's side of the port (evidence out, views in).
// Routing against real Redis servers: tests/fleet/redis_cluster_test.cc.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <string>
#include <vector>

#include "account/correlator.h"
#include "common/yaml_fields.h"
#include "correlator_fixtures.h"
#include "fleet/eve_redis_options.h"
#include "fleet/fleet_keys.h"
#include "fleet/fleet_options.h"
#include "fleet/key_slot.h"
#include "fleet/redis_node.h"

using namespace sluice;
using namespace sluice::fleet;

namespace {
constexpr uint64_t kSec = 1'000'000'000ull;
}

TEST(KeySlot, SpecificationVectors) {
    // The cluster specification's CRC16 check value and its hash-tag examples.
    EXPECT_EQ(crc16_xmodem("123456789"), 0x31C3);
    EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
    EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
    EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");  // an empty first tag: the whole key
    EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
    EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");
    EXPECT_EQ(hash_tag("no-tag"), "no-tag");
    EXPECT_EQ(hash_tag("open{only"), "open{only");
    // Slots of well-known keys (redis-cli CLUSTER KEYSLOT; the redis test also compares 2,000
    // keys with a live server).
    EXPECT_EQ(key_slot("foo"), 12182);
    EXPECT_EQ(key_slot("bar"), 5061);
    EXPECT_EQ(key_slot(""), 0);
}

TEST(Endpoint, ParsesHostPortAndRefusesTheRest) {
    Endpoint e;
    ASSERT_TRUE(parse_endpoint("127.0.0.1:7000", e));
    EXPECT_EQ(e.host, "127.0.0.1");
    EXPECT_EQ(e.port, 7000);
    ASSERT_TRUE(parse_endpoint("[::1]:6379", e));
    EXPECT_EQ(e.host, "::1");
    EXPECT_EQ(e.text(), "[::1]:6379");
    for (const char* bad : {"", "host", ":6379", "host:", "host:0", "host:65536", "host:12a",
                            "::1:6379", "[::1]6379", "[::1]:"})
        EXPECT_FALSE(parse_endpoint(bad, e)) << bad;
}

namespace {
std::string parse_error(const std::string& yaml) {
    FleetOptions o;
    try {
        parse_fleet_options("f.yaml", YAML::Load(yaml), o);
    } catch (const yaml_fields::ConfigError& e) {
        return e.text;
    }
    return "";
}
}  // namespace

TEST(FleetOptions, ParsesEveryKey) {
    FleetOptions o;
    parse_fleet_options("f.yaml", YAML::Load(R"(
enabled: true
edge: edge-7
redis: {seeds: ["127.0.0.1:7000", "[::1]:7001"], user: edge7, password_file: /run/pw, timeout_ms: 250}
key_prefix: "prod:"
window: 120
windows_read: 3
batch_accounts: 64
interval_ms: 50
queue: 1024
read_fraction: 0.5
read_interval: 5
offline_sync: {run: run-1, edges: 4, timeout: 30}
)"),
                        o);
    EXPECT_TRUE(o.enabled);
    EXPECT_EQ(o.edge, "edge-7");
    ASSERT_EQ(o.seeds.size(), 2u);
    EXPECT_EQ(o.seeds[1].host, "::1");
    EXPECT_EQ(o.user, "edge7");
    EXPECT_EQ(o.timeout_ms, 250u);
    EXPECT_EQ(o.key_prefix, "prod:");
    EXPECT_EQ(o.window_s, 120u);
    EXPECT_EQ(o.windows_read, 3u);
    EXPECT_EQ(o.batch_accounts, 64u);
    EXPECT_EQ(o.interval_ms, 50u);
    EXPECT_EQ(o.queue, 1024u);
    EXPECT_DOUBLE_EQ(o.read_fraction, 0.5);
    EXPECT_EQ(o.read_interval_s, 5u);
    EXPECT_EQ(o.sync.run, "run-1");
    EXPECT_EQ(o.sync.edges, 4u);
    EXPECT_EQ(o.sync.timeout_s, 30u);
    EXPECT_EQ(validate(o), "");
}

TEST(FleetOptions, ErrorsNameTheLineAndColumn) {
    EXPECT_EQ(parse_error("redis: {seeds: [nonsense]}"), "f.yaml:1:17: expected host:port");
    EXPECT_EQ(parse_error("key_prefix: \"a{b}\""),
              "f.yaml:1:13: fleet.key_prefix: at most 64 characters, no braces or spaces");
    EXPECT_EQ(parse_error("read_fraction: 0"),
              "f.yaml:1:16: fleet.read_fraction must be in (0, 1]");
    EXPECT_EQ(parse_error("window: 1"), "f.yaml:1:9: value 1 out of range [10, 86400]");
    EXPECT_NE(parse_error("colour: blue").find("unknown key 'colour' in fleet"), std::string::npos);
    FleetOptions on;
    on.enabled = true;
    EXPECT_NE(validate(on), "");  // enabled without seeds
}

TEST(FleetOptions, PasswordFileIsReadAndChecked) {
    char path[] = "/tmp/sluice-fleet-pw-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "s3cret\n", 7), 7);
    close(fd);
    FleetOptions o;
    o.user = "edge1";
    o.password_file = path;
    EXPECT_EQ(load_password(o), "");
    EXPECT_EQ(o.auth.user, "edge1");
    EXPECT_EQ(o.auth.password, "s3cret");
    std::remove(path);
    EXPECT_NE(load_password(o), "");  // gone
}

TEST(FleetKeys, OneSlotPerAccountAndAlignedWindows) {
    const std::string a = evidence_key("sluice:", "9b0e712c187eb35e", EvidenceKind::Ips, 42);
    EXPECT_EQ(a, "sluice:{acct:9b0e712c187eb35e}:ip:42");
    for (auto k :
         {EvidenceKind::Networks, EvidenceKind::Asns, EvidenceKind::Ja4s, EvidenceKind::Counters})
        EXPECT_EQ(key_slot(evidence_key("sluice:", "9b0e712c187eb35e", k, 43)), key_slot(a));
    EXPECT_EQ(window_of(599 * kSec, 300), 1u);
    EXPECT_EQ(window_of(600 * kSec, 300), 2u);
}

TEST(FleetKeys, ElementHashesAreKeyedAndSeparatedByKind) {
    const std::string k1 = "edge-secret-one-0123456789", k2 = "edge-secret-two-0123456789";
    ElementHasher h1(as_bytes(k1)), h1b(as_bytes(k1)), h2(as_bytes(k2));
    const uint8_t addr[4] = {100, 64, 1, 2};
    const auto x = h1.hash('i', addr);
    EXPECT_EQ(x, h1b.hash('i', addr));  // every edge with the secret agrees
    EXPECT_NE(x, h2.hash('i', addr));   // another secret, another hash
    EXPECT_NE(x, h1.hash('n', addr));   // kinds never collide
    for (char c : x) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)));
}

namespace {
using sluice::testing::CollectRecords;
using sluice::testing::policy_of;

struct RecordingPort final : account::FleetPort {
    std::vector<account::FleetEvidence> evidence_;
    std::vector<account::FleetQuestion> asks;
    bool evidence(const account::FleetEvidence& e) override {
        evidence_.push_back(e);
        return true;
    }
    bool ask(const account::FleetQuestion& q) override {
        asks.push_back(q);
        return true;
    }
    bool take(account::FleetView&) override { return false; }
};

account::Observation request(const char* id, uint64_t t_s, const char* ip) {
    account::Observation o;
    o.ts_ns = t_s * kSec;
    o.seq = t_s;
    std::memcpy(o.account.data(), id, 16);
    o.src = *IpAddress::parse(ip);
    o.ja4_hash = 99;
    o.input_tokens = 10;
    o.output_tokens = 200;
    return o;
}

constexpr const char* kFleetPolicy = R"(
window: 600
rules:
  - {name: many-networks, signal: distinct_prefixes, above: 8, score: 40}
  - {name: fleet-many-networks, signal: fleet.distinct_prefixes, above: 8, min_requests: 10,
     score: 40, reason: "requests from many networks across the fleet"}
actions:
  - {score: 40, action: rate-limit, rate_per_minute: 10}
)";
}  // namespace

TEST(FleetPolicy, SignalsCandidatesAndMinRequestsFromTheFleet) {
    auto p = policy_of(kFleetPolicy);
    EXPECT_TRUE(p->reads_fleet());
    EXPECT_FALSE(policy_of("rules: [{name: a, signal: requests, above: 1, score: 1}]\n"
                           "actions: [{score: 1, action: alert}]")
                     ->reads_fleet());
    account::AccountSignals s;
    s.requests = 3;
    s.distinct_prefixes = 2;
    EXPECT_TRUE(p->fleet_candidate(s, 0.25));  // 2 >= 0.25 * 8
    EXPECT_FALSE(p->fleet_candidate(s, 0.5));
    std::array<char, 16> id{};
    EXPECT_EQ(p->decide(id, s).verdict, Verdict::Pass);
    s.fleet.known = true;
    s.fleet.distinct_prefixes = 12;
    s.fleet.requests = 9;  // min_requests 10 counts the fleet's requests: not yet
    EXPECT_EQ(p->decide(id, s).verdict, Verdict::Pass);
    s.fleet.requests = 30;
    const auto d = p->decide(id, s);
    EXPECT_EQ(d.verdict, Verdict::RateLimit);
    ASSERT_EQ(d.reasons.size(), 1u);
    EXPECT_EQ(d.reasons[0]->reason, "requests from many networks across the fleet");
    std::string err;
    EXPECT_FALSE(account::Policy::parse(
        "rules: [{name: a, signal: fleet.nope, above: 1, score: 1}]", "p.yaml", err));
    EXPECT_NE(err.find("fleet.distinct_prefixes"), std::string::npos) << err;  // lists them
}

TEST(FleetCorrelator, PublishesEvidenceAsksCandidatesAndActsOnTheView) {
    CollectRecords sink;
    account::Correlator c(policy_of(kFleetPolicy), &sink, 0);
    RecordingPort port;
    c.set_fleet(&port, 0.25, 10 * kSec, true);
    const char* id = "0123456789abcdef";
    c.observe(request(id, 100, "100.64.1.2"));
    ASSERT_EQ(port.evidence_.size(), 1u);
    EXPECT_EQ(port.evidence_[0].src, *IpAddress::parse("100.64.1.2"));
    EXPECT_EQ(port.evidence_[0].output_tokens, 200u);
    EXPECT_TRUE(port.asks.empty());  // one network: not a candidate
    c.observe(request(id, 101, "100.65.1.2"));
    ASSERT_EQ(port.asks.size(), 1u);  // two networks >= 0.25 * 8
    c.observe(request(id, 102, "100.66.1.2"));
    EXPECT_EQ(port.asks.size(), 1u);  // once per read interval
    c.observe(request(id, 112, "100.66.1.3"));
    EXPECT_EQ(port.asks.size(), 2u);
    EXPECT_TRUE(sink.records.empty());

    account::FleetView v;
    std::memcpy(v.account.data(), id, 16);
    v.signals.known = true;
    v.signals.distinct_prefixes = 14;
    v.signals.requests = 40;
    c.apply_fleet(v, 113);
    ASSERT_EQ(sink.records.size(), 1u);
    const auto& a = sink.records[0]["account"];
    EXPECT_EQ(a["action"], "rate-limit");
    EXPECT_EQ(a["reasons"][0], "requests from many networks across the fleet");
    EXPECT_EQ(a["signals"]["fleet"]["distinct_prefixes"], 14);
    EXPECT_NEAR(a["signals"]["distinct_prefixes"].get<double>(), 3, 0.1);  // HLL, linear counting
    // An unknown account's view changes nothing.
    std::memcpy(v.account.data(), "ffffffffffffffff", 16);
    c.apply_fleet(v, 114);
    EXPECT_EQ(sink.records.size(), 1u);
}

TEST(FleetCorrelator, OfflineCandidatesAreAccountsNearAFleetThreshold) {
    CollectRecords sink;
    account::Correlator c(policy_of(kFleetPolicy), &sink, 0);
    RecordingPort port;
    c.set_fleet(&port, 0.25, 10 * kSec, false);
    c.observe(request("aaaaaaaaaaaaaaaa", 100, "100.64.1.2"));
    c.observe(request("bbbbbbbbbbbbbbbb", 100, "100.64.1.2"));
    c.observe(request("bbbbbbbbbbbbbbbb", 101, "100.65.1.2"));
    EXPECT_TRUE(port.asks.empty());  // offline: no reads during the run
    const auto cands = c.fleet_candidates();
    ASSERT_EQ(cands.size(), 1u);
    EXPECT_EQ(std::string(cands[0].account.data(), 16), "bbbbbbbbbbbbbbbb");
    EXPECT_EQ(cands[0].ts_ns, 101 * kSec);
}

TEST(FleetCorrelator, TemplatesOfFlaggedPromptsGoOutAndTheirCountsComeBack) {
    CollectRecords sink;
    account::Correlator c(policy_of(R"(
window: 600
clusters: {link_by: [ip, template], template_prompts: flagged}
rules:
  - {name: fleet-template, signal: fleet.template_accounts, above: 6, score: 40,
     reason: "its prompt template is sent by many accounts across the fleet"}
actions:
  - {score: 40, action: rate-limit, rate_per_minute: 10}
)"),
                          &sink, 0);
    RecordingPort port;
    c.set_fleet(&port, 0.25, 10 * kSec, true);
    const char* id = "0123456789abcdef";
    auto o = request(id, 100, "100.64.1.2");
    o.prompt_head = 11;
    o.prompt_tail = 12;
    c.observe(o);  // no rule hit: its frames link nothing and are not published
    ASSERT_EQ(port.evidence_.size(), 1u);
    EXPECT_EQ(port.evidence_[0].frame_head, 0u);
    EXPECT_TRUE(port.asks.empty());
    o = request(id, 101, "100.64.1.2");
    o.prompt_head = 21;
    o.prompt_tail = 22;
    o.hit_classes = 1;
    c.observe(o);
    ASSERT_EQ(port.evidence_.size(), 2u);
    EXPECT_EQ(port.evidence_[1].frame_head, 21u);
    EXPECT_EQ(port.evidence_[1].frame_tail, 22u);
    ASSERT_EQ(port.asks.size(), 1u);  // a linkable frame: worth a question
    EXPECT_EQ(port.asks[0].frames, (account::FleetFrames{21, 22, 0, 0}));
    account::FleetView v;
    std::memcpy(v.account.data(), id, 16);
    v.signals.known = true;
    v.signals.template_accounts = 9;
    c.apply_fleet(v, 102);
    ASSERT_EQ(sink.records.size(), 1u);
    EXPECT_EQ(sink.records[0]["account"]["action"], "rate-limit");
    EXPECT_EQ(sink.records[0]["account"]["signals"]["fleet"]["template_accounts"], 9);
}

TEST(FleetFrames, NewestFirstDistinctAndBounded) {
    account::FleetFrames f{};
    account::remember_frame(f, 0);
    EXPECT_EQ(f, (account::FleetFrames{0, 0, 0, 0}));
    for (uint64_t x : {1, 2, 2, 3, 1, 4, 5}) account::remember_frame(f, x);
    EXPECT_EQ(f, (account::FleetFrames{5, 4, 3, 2}));
}

TEST(EveRedisOptions, ParsesAndRefuses) {
    EveRedisOptions o;
    parse_eve_redis_options("c.yaml",
                            YAML::Load("{seeds: [\"10.0.0.9:6379\"], key: siem:eve, type: stream, "
                                       "maxlen: 500, batch: 64, queue: 1024}"),
                            o);
    EXPECT_TRUE(o.enabled);
    ASSERT_EQ(o.seeds.size(), 1u);
    EXPECT_EQ(o.key, "siem:eve");
    EXPECT_EQ(o.type, EveRedisOptions::Type::Stream);
    EXPECT_EQ(o.maxlen, 500u);
    EXPECT_EQ(o.batch, 64u);
    EXPECT_EQ(o.queue, 1024u);
    auto error_of = [](const char* yaml) {
        EveRedisOptions x;
        try {
            parse_eve_redis_options("c.yaml", YAML::Load(yaml), x);
        } catch (const yaml_fields::ConfigError& e) {
            return e.text;
        }
        return std::string();
    };
    EXPECT_EQ(error_of("{type: queue}"), "c.yaml:1:8: eve.redis.type must be list or stream");
    EXPECT_EQ(error_of("{key: \"a b\"}"),
              "c.yaml:1:7: eve.redis.key: 1 to 128 characters, no spaces");
    EXPECT_NE(error_of("{port: 1}").find("unknown key 'port' in eve.redis"), std::string::npos);
}
