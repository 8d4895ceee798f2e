#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "runtime/pcap_prescan.h"
#include "runtime/runtime_config.h"

using namespace sluice;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path) << text;
    return path;
}

std::string load(const std::string& text, RuntimeConfig& cfg) {
    return load_config_file(write_file("cfg.yaml", text), cfg);
}

}  // namespace

TEST(Config, FullFileLoads) {
    RuntimeConfig cfg;
    const std::string err = load(R"(mode: inline
ports:
  - {name: wan, device: "net_af_packet0,iface=veth1"}
  - {name: lan, device: "net_af_packet1,iface=veth2"}
inline_pairs: [[wan, lan]]
workers: 2
io: {burst: 64, idle_backoff_us: 50}
flow:
  capacity: 1000
  timeouts: {embryonic: 5, established: 120.5}
reassembly: {memcap: 16, per_direction: 65536}
malformed: pass
filters:
  - {action: reject, proto: tcp, server: 10.0.0.0/8, server_port: 80, after_bytes: 1000}
  - {action: allow, client: "2001:db8::/32"}
)",
                                 cfg);
    ASSERT_EQ(err, "");
    EXPECT_EQ(cfg.mode, RunMode::Inline);
    EXPECT_EQ(cfg.ports.size(), 2u);
    EXPECT_EQ(cfg.ports[0].device, "net_af_packet0,iface=veth1");
    EXPECT_EQ(cfg.workers, 2u);
    EXPECT_EQ(cfg.burst, 64u);
    EXPECT_EQ(cfg.idle_backoff_us, 50u);
    EXPECT_EQ(cfg.engine.flow_capacity, 1000u);
    EXPECT_EQ(cfg.engine.timeouts.established.ns, 120'500'000'000ull);
    EXPECT_EQ(cfg.engine.malformed, MalformedPolicy::Pass);
    ASSERT_EQ(cfg.engine.filters.size(), 2u);
    EXPECT_EQ(cfg.engine.filters[0].verdict, Verdict::Reject);
    EXPECT_EQ(cfg.engine.filters[0].after_bytes, 1000u);
    EXPECT_TRUE(cfg.engine.filters[1].allow);
    EXPECT_EQ(validate_config(cfg), "");
    auto m = cfg.engine.filters.match(6, *IpAddress::parse("192.0.2.1"), 5000,
                                      *IpAddress::parse("10.1.2.3"), 80);
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, 0);
}

TEST(Config, ErrorsNameFileLineAndColumn) {
    RuntimeConfig cfg;
    std::string err = load("workers: 2\nflow:\n  capcity: 10\n", cfg);
    EXPECT_NE(err.find("cfg.yaml:3:3: unknown key 'capcity' in flow"), std::string::npos) << err;
    err = load("workers: lots\n", cfg);
    EXPECT_NE(err.find("cfg.yaml:1:10: expected an integer"), std::string::npos) << err;
    err = load("workers: 1000\n", cfg);
    EXPECT_NE(err.find("out of range"), std::string::npos) << err;
    err = load("filters:\n  - {action: explode}\n", cfg);
    EXPECT_NE(err.find("cfg.yaml:2:14: unknown action 'explode'"), std::string::npos) << err;
    err = load("filters:\n  - {action: drop, client: 10.0.0.0/33}\n", cfg);
    EXPECT_NE(err.find("not an IP address or prefix"), std::string::npos) << err;
    err = load("workers: [1\n", cfg);
    EXPECT_NE(err.find("cfg.yaml:"), std::string::npos) << err;
    EXPECT_NE(load_config_file("/nonexistent/x.yaml", cfg).find("cannot read"), std::string::npos);
    err = load("http:\n  reclaim_action: pass\n", cfg);
    EXPECT_NE(err.find("cfg.yaml:2:19: reclaim_action must be alert or drop"), std::string::npos)
        << err;
}

TEST(Config, HttpReclaimKnobs) {
    RuntimeConfig cfg;
    ASSERT_EQ(load("http: {reclaim_after_ms: 250, reclaim_action: drop}\n", cfg), "");
    EXPECT_EQ(cfg.engine.http.reclaim_after_ms, 250u);
    EXPECT_EQ(cfg.engine.http.reclaim_verdict, Verdict::Drop);
    EXPECT_TRUE(cfg.http_reclaim_action_set);
}

TEST(Config, ValidationCatchesRoles) {
    RuntimeConfig cfg;
    cfg.mode = RunMode::Inline;
    cfg.ports = {{"a", "net_null0"}, {"b", "net_null1"}};
    cfg.pairs = {{"a", "c"}};
    EXPECT_NE(validate_config(cfg).find("unknown port 'c'"), std::string::npos);
    cfg.pairs = {{"a", "b"}};
    cfg.monitor = {"a"};
    EXPECT_NE(validate_config(cfg).find("more than one role"), std::string::npos);
    cfg.monitor.clear();
    EXPECT_EQ(validate_config(cfg), "");
    RuntimeConfig offline;
    EXPECT_NE(validate_config(offline).find("--pcap"), std::string::npos);
}

TEST(Prescan, CountsPacketsAndReportsTruncation) {
    const std::string good = std::string(SLUICE_TEST_DATA) + "/http-get.pcap";
    CaptureInfo info;
    ASSERT_EQ(prescan_capture(good, info), "");
    EXPECT_EQ(info.link, LinkType::Ethernet);
    EXPECT_GT(info.packets, 100u);
    // Cut the file in the middle of a packet record.
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const std::string cut = write_file("cut.pcap", bytes.substr(0, bytes.size() / 2 + 7));
    CaptureInfo ci;
    const std::string err = prescan_capture(cut, ci);
    EXPECT_NE(err.find("truncated"), std::string::npos) << err;
    EXPECT_NE(prescan_capture(write_file("junk.pcap", "not a capture"), ci), "");
}
