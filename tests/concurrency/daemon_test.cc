// sluiced's daemon in one process (control/sluiced/daemon.h): operators' requests on
// concurrent connections (list edits, rule pushes, secrets, status, forwarded queries) while
// its sync threads bring two dataplanes - one of them slow to answer - to the desired state.
// The dataplanes are control servers here that keep what they are pushed. Under
// ThreadSanitizer (build/tsan) the daemon's lock discipline is checked; the oracle for the
// outcome is what each dataplane ends up holding against the store's desired state.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "control/protocol/client.h"
#include "control/protocol/server.h"
#include "control/sluiced/daemon.h"
#include "control/sluiced/state_store.h"
#include "rules/bundle.h"

namespace sluice::control {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string hex_sha256(std::string_view s) {
    const auto d = sha256({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    char hex[64];
    to_hex(d, hex);
    return {hex, sizeof hex};
}

// What a dataplane keeps of the control plane's pushes.
class FakeDataplane {
  public:
    FakeDataplane(const std::string& path, int status_delay_ms) : delay_ms_(status_delay_ms) {
        std::string err;
        EXPECT_TRUE(server_.start_unix(
            path, {}, [this](Request& r) { return handle(r); }, err))
            << err;
    }
    ~FakeDataplane() { server_.stop(); }
    std::string rules_sha() {
        std::lock_guard lock(mu_);
        return rules_sha_;
    }
    json lists() {
        std::lock_guard lock(mu_);
        return lists_;
    }
    uint64_t secrets() {
        std::lock_guard lock(mu_);
        return secrets_;
    }

  private:
    Frame handle(Request& r) {
        if (r.cmd == "status" && delay_ms_ > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));  // unlocked
        std::lock_guard lock(mu_);
        json res = json::object();
        if (r.cmd == "status") {
            res = {{"control", {{"started_unix", 1700000000}}},
                   {"engine", {{"rules", {{"sha256", rules_sha_}}}}},
                   {"policy", {{"sha256", policy_sha_}}}};
        } else if (r.cmd == "rules.apply") {
            // The real check a dataplane makes: the bundle loads and gives this digest.
            auto loaded =
                rules::read_bundle({reinterpret_cast<const uint8_t*>(r.blob.data()), r.blob.size()},
                                   rules::DatabaseTrust::Rebuild);
            if (!loaded.compiled.rules) return {error_json(r.id, "invalid", "bad bundle"), {}};
            rules_sha_ = loaded.compiled.rules->set().digest;
            res = {{"sha256", rules_sha_}};
        } else if (r.cmd == "policy.apply") {
            policy_sha_ = hex_sha256(r.args.value("text", std::string()));
            res = {{"sha256", policy_sha_}};
        } else if (r.cmd == "lists.replace") {
            lists_ = r.args["entries"];
            res = {{"version", 1}};
        } else if (r.cmd == "secrets.push") {
            for (char c : r.blob) secrets_ += c == '\n';
            res = {{"secrets", secrets_}};
        } else {
            res = {{"engine", json::object()}};  // stats
        }
        return {ok_json(r.id, res), {}};
    }
    int delay_ms_;
    std::mutex mu_;
    std::string rules_sha_, policy_sha_;
    json lists_ = json::array();
    uint64_t secrets_ = 0;
    ControlServer server_;
};

std::string rule_text(int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
        s += "alert http any any -> any any (msg:\"r" + std::to_string(i) + "\"; content:\"needle" +
             std::to_string(i) + "\"; sid:" + std::to_string(1000 + i) + "; rev:1;)\n";
    return s;
}

TEST(Daemon, ConcurrentOperatorsWhileTheFleetSyncs) {
    const fs::path dir =
        fs::temp_directory_path() / ("sluice-conc-daemon-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string a_sock = (dir / "a.sock").string(), b_sock = (dir / "b.sock").string();
    const std::string d_sock = (dir / "sluiced.sock").string();
    FakeDataplane a(a_sock, 0), b(b_sock, 150);

    StateStore store;
    std::string err;
    ASSERT_TRUE(store.open((dir / "state").string(), err)) << err;
    Daemon daemon(store);
    daemon.timeouts.connect_ms = 1000;
    daemon.timeouts.status_ms = 2000;
    std::vector<DataplaneLink> links(2);
    links[0].name = "a";
    links[0].ep.unix_path = a_sock;
    links[1].name = "b";
    links[1].ep.unix_path = b_sock;
    daemon.set_dataplanes(links);
    ControlServer server;
    ServerOptions sopt;
    sopt.on_refusal = [&](const Refusal& r) { daemon.audit_refusal(r); };
    ASSERT_TRUE(server.start_unix(
        d_sock, sopt, [&](Request& r) { return daemon.handle(r); }, err))
        << err;
    daemon.start();

    constexpr int kEntries = 24;
    std::atomic<int> failures{0};
    auto op = [&](auto&& body) {
        return std::thread([&, body] {
            Client c;
            std::string e;
            if (!c.connect_unix(d_sock, e, 2000)) {
                failures.fetch_add(1);
                return;
            }
            body(c);
        });
    };
    std::vector<std::thread> ops;
    ops.push_back(op([&](Client& c) {
        for (int i = 0; i < kEntries; ++i) {
            const Response r = c.request("lists.add", {{"list", "block"},
                                                       {"kind", "ip"},
                                                       {"value", "198.51.100." + std::to_string(i)},
                                                       {"reason", "test"}});
            if (!r.ok) failures.fetch_add(1);
        }
    }));
    std::string last_sha;
    ops.push_back(op([&](Client& c) {
        for (int v = 1; v <= 3; ++v) {
            const Response r =
                c.request("rules.push", {{"files", {{{"name", "t.rules"}, {"text", rule_text(v)}}}},
                                         {"message", "v" + std::to_string(v)}});
            if (!r.ok)
                failures.fetch_add(1);
            else
                last_sha = r.result.value("sha256", "");
        }
    }));
    ops.push_back(op([&](Client& c) {
        const std::string keylog =
            "CLIENT_RANDOM " + std::string(64, 'a') + " " + std::string(96, 'b') + "\n";
        for (int i = 0; i < 10; ++i) {
            const Response r = c.request("secrets.push", json::object(), keylog);
            if (!r.ok) failures.fetch_add(1);
        }
    }));
    ops.push_back(op([&](Client& c) {
        for (int i = 0; i < 30; ++i) {
            if (!c.request("status").ok) failures.fetch_add(1);
            (void)daemon.metrics_text();
            (void)c.request("stats");  // forwarded; may find no dataplane up yet
        }
    }));
    for (auto& t : ops) t.join();
    EXPECT_EQ(failures.load(), 0);

    // Converged: both dataplanes hold the last rule set and every list entry.
    bool synced = false;
    for (int i = 0; i < 200 && !synced; ++i) {
        synced = a.rules_sha() == last_sha && b.rules_sha() == last_sha &&
                 a.lists().size() == size_t(kEntries) && b.lists().size() == size_t(kEntries);
        if (!synced) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(synced) << "a " << a.rules_sha() << " " << a.lists().size() << ", b "
                        << b.rules_sha() << " " << b.lists().size() << ", want " << last_sha;
    EXPECT_EQ(a.secrets(), 10u);
    EXPECT_EQ(b.secrets(), 10u);
    server.stop();
    daemon.stop();
    fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::control
