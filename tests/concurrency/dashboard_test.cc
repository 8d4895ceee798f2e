// sluiced's live dashboard, without a browser (tests/integration/observability_test.py has
// one): the feed polling a fake dataplane while readers copy its snapshot (races are
// ThreadSanitizer's to find in build/tsan), the rates and fleet sums it derives, sign-in
// sessions and their limits, the routes' authorization and headers, and the HTTP request
// reader over a socket pair.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "control/protocol/http_request.h"
#include "control/protocol/server.h"
#include "control/sluiced/dashboard_auth.h"
#include "control/sluiced/dashboard_feed.h"
#include "control/sluiced/dashboard_server.h"

namespace sluice::control {
namespace {

using nlohmann::json;

std::string temp_path(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string("sluice-dash-") + name + "-" + std::to_string(::getpid())))
        .string();
}

std::string write_token(const std::string& text) {
    const std::string path = temp_path("token");
    std::ofstream(path) << text << "\n";
    return path;
}

// A dataplane that answers stats (its packet count grows 1000 a call), accounts.top and
// clusters.list.
struct FakeDataplane {
    ControlServer server;
    std::string path = temp_path("dp.sock");
    std::atomic<uint64_t> packets{0};
    FakeDataplane() {
        std::string err;
        EXPECT_TRUE(server.start_unix(
            path, {},
            [this](Request& r) {
                json res;
                if (r.cmd == "stats") {
                    const uint64_t p = packets.fetch_add(1000) + 1000;
                    res = {
                        {"engine",
                         {{"packets", p},
                          {"bytes", p * 100},
                          {"dropped_verdict", p / 100},
                          {"rules", {{"alerts", p / 10}, {"alerts_by_class", {{"bot-farm", 3}}}}},
                          {"http", {{"enforced_block", 2}, {"enforced_rate_limit", 1}}},
                          {"accounts", {{"flagged", 4}, {"clusters", 1}}}}},
                        {"elapsed_s", 1.0}};
                } else if (r.cmd == "accounts.top") {
                    res = {{"accounts",
                            {{{"account",
                               {{"id", "a1"},
                                {"hint", "sk-...AA"},
                                {"score", 10.0},
                                {"action", "pass"}}}},
                             {{"account",
                               {{"id", "a2"},
                                {"hint", "sk-...BB"},
                                {"score", 90.0},
                                {"action", "block"},
                                {"reasons", {"shared exits"}}}}}}}};
                } else if (r.cmd == "clusters.list") {
                    res = {{"clusters", {{{"id", 7}, {"size", 3}, {"action", "block"}}}}};
                }
                return Frame{ok_json(r.id, res), {}};
            },
            err))
            << err;
    }
};

FleetView view_of(const std::string& sock) {
    FleetView v;
    DataplaneLink l;
    l.name = "edge1";
    l.ep.unix_path = sock;
    l.up = true;
    v.links = {l};
    v.in_sync = {true};
    v.desired = {{"rules", 2}, {"policy", 1}};
    v.rules_meta = {{"version", 2}, {"sha256", "ab"}, {"rules", 17}};
    v.lists = {{"entries",
                {{{"list", "block"}, {"kind", "ip"}, {"value", "192.0.2.1"}, {"added_unix", 5}},
                 {{"list", "block"}, {"kind", "ip"}, {"value", "192.0.2.2"}, {"added_unix", 9}}}}};
    return v;
}

TEST(DashboardFeed, RatesSumsAndDecisionsWhileReadersCopy) {
    FakeDataplane dp;
    DashboardFeed feed([&] { return view_of(dp.path); }, FleetTimeouts{}, 100);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> reads{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i)
        readers.emplace_back([&] {
            while (!stop.load()) {
                const json s = feed.snapshot();
                if (s.contains("fleet")) reads.fetch_add(1);
            }
        });
    feed.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(450));
    feed.stop();
    stop.store(true);
    for (auto& t : readers) t.join();
    EXPECT_GT(reads.load(), 0u);

    const json s = feed.snapshot();
    const json& f = s["fleet"];
    EXPECT_EQ(f["up"], 1);
    EXPECT_EQ(f["in_sync"], 1);
    EXPECT_EQ(f["packets"], dp.packets.load());  // the last poll's count
    EXPECT_EQ(f["bytes"], dp.packets.load() * 100);
    EXPECT_EQ(f["enforced"], 3);
    EXPECT_EQ(f["flagged"], 4);
    EXPECT_GT(f["pps"].get<double>(), 0);  // 1000 packets a poll of 100 ms
    EXPECT_NEAR(f["bps"].get<double>(), 8 * 100 * f["pps"].get<double>(), 1e-6);
    EXPECT_GE(s["history"].size(), 3u);
    EXPECT_EQ(s["alerts_by_class"]["bot-farm"], 3);
    // The account under a decision first, whatever its place in the answer.
    ASSERT_EQ(s["accounts"].size(), 2u);
    EXPECT_EQ(s["accounts"][0]["account"]["id"], "a2");
    EXPECT_EQ(s["accounts"][0]["dataplane"], "edge1");
    EXPECT_EQ(s["clusters"][0]["id"], 7);
    // Decisions: the newest operator entry first, then the policy's block.
    ASSERT_EQ(s["decisions"].size(), 3u);
    EXPECT_EQ(s["decisions"][0]["subject"], "192.0.2.2");
    EXPECT_EQ(s["decisions"][2]["source"], "policy");
    EXPECT_EQ(s["decisions"][2]["action"], "block");
    EXPECT_EQ(s["versions"]["rules"]["version"], 2);
    EXPECT_TRUE(s["versions"]["policy"].is_null());
}

TEST(DashboardFeed, ADataplaneThatIsDownIsShownDown) {
    DashboardFeed feed([&] { return view_of(temp_path("nobody.sock")); }, FleetTimeouts{}, 100);
    feed.poll_once();
    const json s = feed.snapshot();
    EXPECT_EQ(s["fleet"]["up"], 0);
    EXPECT_EQ(s["dataplanes"][0]["up"], false);
    EXPECT_FALSE(s["dataplanes"][0]["error"].get<std::string>().empty());
}

TEST(DashboardAuth, TokenSessionsAndLimits) {
    DashboardAuth auth;
    std::string err;
    EXPECT_FALSE(auth.load_token(write_token("short"), err));
    EXPECT_NE(err.find("at least 32"), std::string::npos) << err;
    const std::string token(40, 'k');
    ASSERT_TRUE(auth.load_token(write_token(token), err)) << err;
    EXPECT_TRUE(auth.token_ok(token));
    EXPECT_FALSE(auth.token_ok(token + "x"));
    EXPECT_FALSE(auth.token_ok(""));

    const std::string id = auth.open_session();
    EXPECT_EQ(id.size(), 64u);
    EXPECT_TRUE(auth.session_ok(id));
    EXPECT_FALSE(auth.session_ok(std::string(64, '0')));
    auth.close_session(id);
    EXPECT_FALSE(auth.session_ok(id));
    const std::string gone = auth.open_session(std::chrono::seconds(0));
    EXPECT_FALSE(auth.session_ok(gone));  // expired at once

    // Bounded: the session expiring first makes room.
    const std::string first = auth.open_session(std::chrono::seconds(10));
    for (size_t i = 0; i < DashboardAuth::kMaxSessions; ++i) auth.open_session();
    EXPECT_EQ(auth.sessions(), DashboardAuth::kMaxSessions);
    EXPECT_FALSE(auth.session_ok(first));

    // Failures are limited per minute, for everyone together.
    for (int i = 0; i < DashboardAuth::kFailuresPerMinute; ++i) {
        EXPECT_TRUE(auth.may_try());
        auth.failed();
    }
    EXPECT_FALSE(auth.may_try());
}

TEST(DashboardAuth, SessionsFromManyThreads) {
    DashboardAuth auth;
    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                const std::string id = auth.open_session();
                good += auth.session_ok(id) ? 1 : 0;
                auth.close_session(id);
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(good.load(), 200);
    EXPECT_EQ(auth.sessions(), 0u);
}

std::string header(const HttpAnswer& a, const std::string& name) {
    for (const auto& [k, v] : a.headers)
        if (k == name) return v;
    return {};
}

TEST(DashboardServer, RoutesNeedTheReadRole) {
    FakeDataplane dp;
    DashboardFeed feed([&] { return view_of(dp.path); }, FleetTimeouts{}, 100);
    feed.poll_once();
    const std::string token(48, 't');
    DashboardOptions opt;
    opt.token_file = write_token(token);
    opt.chart_js = temp_path("no-chart.js");
    AccessPolicy access;
    std::string err;
    ASSERT_TRUE(access.add_flag("read=subject:CN=viewer", err)) << err;
    DashboardServer srv;
    ASSERT_TRUE(srv.configure(opt, access, feed, err)) << err;
    const Peer anyone;
    auto req = [](std::string method, std::string target, std::string body = {}) {
        HttpRequest r;
        r.method = std::move(method);
        r.target = r.path = std::move(target);
        r.body = std::move(body);
        return r;
    };

    HttpAnswer a = srv.handle(req("GET", "/"), anyone);
    EXPECT_EQ(a.status, 303);
    EXPECT_EQ(header(a, "Location"), "/login");
    EXPECT_NE(header(a, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(header(a, "Cache-Control"), "no-store");
    EXPECT_EQ(srv.handle(req("GET", "/api/state"), anyone).status, 401);
    EXPECT_EQ(srv.handle(req("GET", "/dashboard.js"), anyone).status, 303);
    a = srv.handle(req("GET", "/login"), anyone);
    EXPECT_EQ(a.status, 200);
    EXPECT_NE(a.body.find("name=\"token\""), std::string::npos);

    a = srv.handle(req("POST", "/login", "token=wrong"), anyone);
    EXPECT_EQ(header(a, "Location"), "/login?failed=1");
    EXPECT_TRUE(header(a, "Set-Cookie").empty());
    a = srv.handle(req("POST", "/login", "token=" + token), anyone);
    EXPECT_EQ(a.status, 303);
    const std::string cookie = header(a, "Set-Cookie");
    for (const char* attr : {"Secure", "HttpOnly", "SameSite=Strict"})
        EXPECT_NE(cookie.find(attr), std::string::npos) << cookie;
    HttpRequest with = req("GET", "/api/state");
    with.headers["cookie"] = "other=1; " + cookie.substr(0, cookie.find(';'));
    a = srv.handle(with, anyone);
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(json::parse(a.body)["fleet"]["up"], 1);
    with.path = "/chart.js";
    EXPECT_EQ(srv.handle(with, anyone).status, 404);  // not installed: no charts, no error
    with.path = "/";
    with.method = "DELETE";
    EXPECT_EQ(srv.handle(with, anyone).status, 405);

    HttpRequest bearer = req("GET", "/api/state");
    bearer.headers["authorization"] = "Bearer " + token;
    EXPECT_EQ(srv.handle(bearer, anyone).status, 200);
    bearer.path = "/";  // the token as a header is for the API only
    EXPECT_EQ(srv.handle(bearer, anyone).status, 303);

    Peer viewer;
    viewer.kind = Peer::Kind::Tls;
    viewer.subject = "CN=viewer";
    EXPECT_EQ(srv.handle(req("GET", "/"), viewer).status, 200);
    Peer stranger = viewer;
    stranger.subject = "CN=stranger";
    EXPECT_EQ(srv.handle(req("GET", "/api/state"), stranger).status, 401);

    // Signing out ends the session.
    HttpRequest out = req("POST", "/logout");
    out.headers["cookie"] = cookie.substr(0, cookie.find(';'));
    a = srv.handle(out, anyone);
    EXPECT_EQ(header(a, "Location"), "/login");
    EXPECT_NE(header(a, "Set-Cookie").find("Max-Age=0"), std::string::npos);
    out.method = "GET";
    out.path = "/api/state";
    EXPECT_EQ(srv.handle(out, anyone).status, 401);
}

// The request reader over a socket pair (a FdStream, as the plain endpoint serves).
int read_from(const std::string& bytes, HttpRequest& out, int deadline_ms = 500) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    set_nonblocking(sv[0]);
    std::thread writer(
        [&] { [[maybe_unused]] const ssize_t n = ::write(sv[1], bytes.data(), bytes.size()); });
    FdStream s(sv[0]);
    std::atomic<bool> stop{false};
    const int status = read_http_request(s, Deadline::in_ms(deadline_ms), stop, {}, out);
    writer.join();
    ::close(sv[1]);
    return status;
}

TEST(HttpRequestReader, ParsesBoundsAndTimesOut) {
    HttpRequest r;
    const std::string form = "token=a%2Bb+c&next=%2F&z=%";
    EXPECT_EQ(read_from("POST /login?x=1 HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\nCookie: b=2\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                            std::to_string(form.size()) + "\r\n\r\n" + form,
                        r),
              200);
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/login");
    EXPECT_EQ(r.query, "x=1");
    EXPECT_EQ(*r.header("cookie"), "a=1, b=2");
    EXPECT_EQ(form_value(r.body, "token"), "a+b c");
    EXPECT_EQ(form_value(r.body, "next"), "/");
    EXPECT_EQ(form_value(r.body, "z"), "%");
    EXPECT_EQ(form_value(r.body, "missing"), "");
    EXPECT_EQ(cookie_value("a=1; sluice_session=abc; c=3", "sluice_session"), "abc");
    EXPECT_EQ(cookie_value("a=1", "sluice_session"), "");

    HttpRequest big;
    EXPECT_EQ(read_from("GET / HTTP/1.1\r\nX: " + std::string(9000, 'x') + "\r\n\r\n", big), 431);
    HttpRequest body;
    EXPECT_EQ(
        read_from("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b'), body),
        413);
    HttpRequest bad;
    EXPECT_EQ(read_from("GET / HTTP/9\r\n\r\n", bad), 400);
    HttpRequest half;
    EXPECT_EQ(read_from("GET /metr", half, 200), 408);  // the deadline passes mid-request
    HttpRequest none;
    EXPECT_EQ(read_from("", none, 100), 0);  // nothing said: nothing answered
}

}  // namespace
}  // namespace sluice::control
