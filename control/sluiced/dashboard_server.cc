#include "control/sluiced/dashboard_server.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

#include "control/sluiced/dashboard_assets.h"

namespace sluice::control {

namespace {
constexpr const char* kCookie = "sluice_session";

// Every answer: never cached, never framed, scripts and styles from this origin only.
void secure(HttpAnswer& a) {
    a.headers.emplace_back("Cache-Control", "no-store");
    a.headers.emplace_back("X-Content-Type-Options", "nosniff");
    a.headers.emplace_back("X-Frame-Options", "DENY");
    a.headers.emplace_back("Referrer-Policy", "no-referrer");
    a.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
    a.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'self'; style-src 'self'; img-src "
                           "'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                           "form-action 'self'; base-uri 'none'");
}

HttpAnswer redirect(const std::string& to) {
    HttpAnswer a{303, "text/plain", "see " + to + "\n", {}};
    a.headers.emplace_back("Location", to);
    return a;
}

HttpAnswer asset(std::string_view name, const char* type) {
    return HttpAnswer{200, type, std::string(dashboard_asset(name)), {}};
}
}  // namespace

bool parse_dashboard(const YAML::Node& node, DashboardOptions& out, std::string& error) {
    static constexpr std::array<std::pair<const char*, std::string DashboardOptions::*>, 3> kStr = {
        {
            {"listen", &DashboardOptions::listen},
            {"token_file", &DashboardOptions::token_file},
            {"chart_js", &DashboardOptions::chart_js},
        }};
    static constexpr std::array<std::pair<const char*, std::string TlsFiles::*>, 3> kTls = {{
        {"cert", &TlsFiles::cert},
        {"key", &TlsFiles::key},
        {"ca", &TlsFiles::ca},
    }};
    auto where = [](const YAML::Node& n) {
        return std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1);
    };
    if (!node.IsMap()) {
        error = where(node) + ": dashboard is a map";
        return false;
    }
    for (const auto& kv : node) {
        const std::string k = kv.first.as<std::string>();
        if (!kv.second.IsScalar()) {
            error = where(kv.second) + ": dashboard." + k + " is a scalar";
            return false;
        }
        const std::string v = kv.second.as<std::string>();
        if (auto s = std::find_if(kStr.begin(), kStr.end(), [&](auto& e) { return k == e.first; });
            s != kStr.end()) {
            out.*(s->second) = v;
        } else if (auto t = std::find_if(kTls.begin(), kTls.end(),
                                         [&](auto& e) { return k == e.first; });
                   t != kTls.end()) {
            out.tls.*(t->second) = v;
        } else if (k == "poll_ms") {
            int ms = 0;
            if (!YAML::convert<int>::decode(kv.second, ms) || ms < 100 || ms > 60000) {
                error = where(kv.second) + ": dashboard.poll_ms is 100 to 60000";
                return false;
            }
            out.poll_ms = ms;
        } else {
            error = where(kv.first) + ": unknown key 'dashboard." + k +
                    "' (listen, cert, key, ca, token_file, chart_js, poll_ms)";
            return false;
        }
    }
    return true;
}

bool DashboardServer::configure(const DashboardOptions& opt, const AccessPolicy& access,
                                DashboardFeed& feed, std::string& error) {
    access_ = access;
    feed_ = &feed;
    if (!opt.token_file.empty() && !auth_.load_token(opt.token_file, error)) return false;
    if (!auth_.has_token() && opt.tls.ca.empty()) {
        error = "the dashboard needs a token file, or a CA for client certificates";
        return false;
    }
    // Chart.js is optional: without it the page shows its figures and tables, no charts.
    if (std::ifstream js(opt.chart_js); js) {
        std::stringstream text;
        text << js.rdbuf();
        chart_js_ = text.str();
    }
    return true;
}

bool DashboardServer::start(const DashboardOptions& opt, const AccessPolicy& access,
                            DashboardFeed& feed, std::string& error) {
    if (!configure(opt, access, feed, error)) return false;
    auto ctx = make_tls_server_context_optional_clients(opt.tls, error);
    if (!ctx) return false;
    return http_.start_tls(
        opt.listen, ctx, [this](const HttpRequest& r, const Peer& p) { return handle(r, p); },
        error);
}

bool DashboardServer::authorized(const HttpRequest& req, const Peer& peer, bool bearer_ok) {
    if (!peer.subject.empty() && access_.role_of(peer) >= Role::Read) return true;
    if (const std::string* c = req.header("cookie"))
        if (auth_.session_ok(cookie_value(*c, kCookie))) return true;
    if (bearer_ok)
        if (const std::string* h = req.header("authorization"); h && h->rfind("Bearer ", 0) == 0)
            return auth_.token_ok(std::string_view(*h).substr(7));
    return false;
}

HttpAnswer DashboardServer::handle(const HttpRequest& req, const Peer& peer) {
    HttpAnswer a;
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (req.path == "/login" && get) {
        a = asset("login.html", "text/html; charset=utf-8");
    } else if (req.path == "/login" && req.method == "POST") {
        if (!auth_.may_try()) {
            a = {429, "text/plain", "too many failed sign-ins: wait a minute\n", {}};
        } else if (auth_.token_ok(form_value(req.body, "token"))) {
            a = redirect("/");
            a.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=" + auth_.open_session() +
                                                     "; Path=/; Secure; HttpOnly; "
                                                     "SameSite=Strict; Max-Age=43200");
        } else {
            auth_.failed();
            a = redirect("/login?failed=1");
        }
    } else if (req.path == "/dashboard.css" && get) {
        a = asset("dashboard.css", "text/css; charset=utf-8");
    } else if (!authorized(req, peer, req.path == "/api/state")) {
        a = req.path == "/api/state"
                ? HttpAnswer{401, "application/json", "{\"error\":\"unauthorized\"}\n", {}}
                : redirect("/login");
    } else if (req.path == "/logout" && req.method == "POST") {
        if (const std::string* c = req.header("cookie"))
            auth_.close_session(cookie_value(*c, kCookie));
        a = redirect("/login");
        a.headers.emplace_back("Set-Cookie", std::string(kCookie) +
                                                 "=; Path=/; Secure; HttpOnly; "
                                                 "SameSite=Strict; Max-Age=0");
    } else if (!get) {
        a = {405, "text/plain", "GET only\n", {}};
    } else if (req.path == "/" || req.path == "/index.html") {
        a = asset("index.html", "text/html; charset=utf-8");
    } else if (req.path == "/dashboard.js") {
        a = asset("dashboard.js", "text/javascript; charset=utf-8");
    } else if (req.path == "/chart.js") {
        a = chart_js_.empty() ? HttpAnswer{404, "text/plain", "Chart.js is not installed\n", {}}
                              : HttpAnswer{200, "text/javascript; charset=utf-8", chart_js_, {}};
    } else if (req.path == "/api/state") {
        a = {200, "application/json", feed_->snapshot().dump() + "\n", {}};
    } else {
        a = {404, "text/plain", "not found\n", {}};
    }
    if (req.method == "HEAD") a.body.clear();
    secure(a);
    return a;
}

}  // namespace sluice::control
