// The dataplane's control service (runtime/control_service.h) on concurrent connections: list
// edits, policy swaps, account queries, secrets and status at once, over a target with a live
// correlator thread that merges the lists into its enforcement snapshots. Under
// ThreadSanitizer (build/tsan) the service's own state (policy digest, signature, counters),
// the lists and the correlator's hand-overs are checked for races; the final status is the
// oracle for what the requests did.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "control/protocol/client.h"
#include "runtime/control_service.h"
#include "support/fake_control_target.h"

namespace sluice {
namespace {

using nlohmann::json;

TEST(ControlService, ConcurrentRequestsOnEveryHandler) {
    fakes::FakeControlTarget target;
    ControlService service(target, ControlSettings{});
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("sluice-conc-service-" + std::to_string(::getpid()) + ".sock"))
                                 .string();
    std::string err;
    ASSERT_TRUE(service.start(path, err)) << err;
    constexpr int kAdds = 40, kSecrets = 25;
    std::atomic<int> failures{0};
    auto client = [&](auto&& body) {
        return std::thread([&, body] {
            control::Client c;
            std::string e;
            if (!c.connect_unix(path, e, 2000)) {
                failures.fetch_add(1);
                return;
            }
            body(c);
        });
    };
    auto expect_ok = [&](const control::Response& r) {
        if (!r.ok) {
            failures.fetch_add(1);
            ADD_FAILURE() << r.code << ": " << r.error;
        }
    };
    std::vector<std::thread> ts;
    ts.push_back(client([&](control::Client& c) {
        for (int i = 0; i < kAdds; ++i)
            expect_ok(c.request(
                "lists.add",
                {{"list", "block"}, {"kind", "ip"}, {"value", "203.0.113." + std::to_string(i)}}));
    }));
    const std::string policy =
        "window: 60\nrules:\n  - {name: busy, signal: requests, above: 5, score: 100}\n"
        "actions:\n  - {score: 100, action: block}\n";
    ts.push_back(client([&](control::Client& c) {
        for (int i = 0; i < 10; ++i)
            expect_ok(c.request("policy.apply", {{"text", policy}, {"name", "p.yaml"}}));
    }));
    ts.push_back(client([&](control::Client& c) {
        const std::string line =
            "CLIENT_RANDOM " + std::string(64, 'a') + " " + std::string(96, 'b') + "\n";
        for (int i = 0; i < kSecrets; ++i)
            expect_ok(c.request("secrets.push", json::object(), line));
    }));
    ts.push_back(client([&](control::Client& c) {
        for (int i = 0; i < 20; ++i) {
            expect_ok(c.request("status"));
            expect_ok(c.request("accounts.top", {{"n", 5}}));
            expect_ok(c.request("clusters.list", {{"n", 5}}));
            expect_ok(c.request("lists.show", {{"list", "block"}}));
        }
    }));
    for (auto& t : ts) t.join();
    EXPECT_EQ(failures.load(), 0);

    control::Client c;
    ASSERT_TRUE(c.connect_unix(path, err, 2000)) << err;
    const control::Response st = c.request("status");
    ASSERT_TRUE(st.ok) << st.error;
    EXPECT_EQ(st.result["lists"]["block"], kAdds);
    EXPECT_EQ(st.result["control"]["secrets_pushed"], kSecrets);
    EXPECT_EQ(target.secrets(), uint64_t(kSecrets));
    EXPECT_EQ(st.result["policy"]["source"], "p.yaml");
    EXPECT_EQ(st.result["policy"]["sha256"].get<std::string>().size(), 64u);
    service.stop();
}

}  // namespace
}  // namespace sluice
