// sluiced: the sluice control daemon (docs/operations.md). Keeps versioned rule sets and
// policies, block/allow lists and the versions in force in a state directory, and brings
// every dataplane it manages to that state - on every change and after either side restarts.
// sluicectl talks to it on its socket with the same protocol as to a dataplane.
#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <set>
#include <thread>

#include "control/protocol/http_endpoint.h"
#include "control/protocol/server.h"
#include "control/sluiced/daemon.h"
#include "control/sluiced/dashboard_server.h"

using namespace sluice::control;

namespace {
std::atomic<bool> g_stop{false}, g_reload{false};
void on_signal(int s) {
    if (s == SIGHUP)
        g_reload.store(true);
    else
        g_stop.store(true);
}

struct Config {
    std::string state_dir = "/var/lib/sluice";
    std::string socket = "/run/sluice/sluiced.sock";
    std::string metrics;
    std::string listen;  // ADDR:PORT for remote sluicectl over mutual TLS
    std::string keylog;  // a key log to tail and forward (the TLS-secret feed)
    TlsFiles tls;        // the daemon's certificate, key and the CA of its clients
    std::vector<DataplaneLink> dataplanes;
    AccessPolicy access;                    // roles (access:, --grant)
    Limits limits;                          // connections and deadlines (limits:)
    FleetTimeouts fleet;                    // talking to dataplanes (fleet_timeouts:)
    std::string signing_key;                // Ed25519 private key (PEM) that signs shipped bundles
    std::vector<std::string> dataset_dirs;  // where pushed rules' datasets may be read
    DashboardOptions dashboard;             // the live dashboard over HTTPS (dashboard:)
};

// fleet_timeouts: {connect_ms, status_ms, push_ms, query_ms}, each in [1, 600000].
bool parse_fleet_timeouts(const YAML::Node& n, FleetTimeouts& t, std::string& error) {
    static constexpr std::array<std::pair<const char*, int FleetTimeouts::*>, 4> kFields = {{
        {"connect_ms", &FleetTimeouts::connect_ms},
        {"status_ms", &FleetTimeouts::status_ms},
        {"push_ms", &FleetTimeouts::push_ms},
        {"query_ms", &FleetTimeouts::query_ms},
    }};
    if (!n.IsMap()) {
        error = std::to_string(n.Mark().line + 1) + ": fleet_timeouts is a map";
        return false;
    }
    for (const auto& kv : n) {
        const std::string k = kv.first.as<std::string>();
        const auto* f = std::find_if(kFields.begin(), kFields.end(),
                                     [&](const auto& e) { return k == e.first; });
        int v = 0;
        if (f == kFields.end() || !YAML::convert<int>::decode(kv.second, v) || v < 1 ||
            v > 600000) {
            error = std::to_string(kv.first.Mark().line + 1) + ": fleet_timeouts: '" + k +
                    "' (connect_ms, status_ms, push_ms, query_ms: 1 to 600000)";
            return false;
        }
        t.*(f->second) = v;
    }
    return true;
}

// The config file (YAML): state_dir, socket, metrics, listen, cert, key, ca, keylog_follow,
// access (control/protocol/access.h), limits (listener.h), dataplanes:
// [{name, socket} | {name, address, cert, key, ca}].
bool load_config(const std::string& path, Config& c, std::string& error) {
    try {
        const YAML::Node root = YAML::LoadFile(path);
        if (root["state_dir"]) c.state_dir = root["state_dir"].as<std::string>();
        if (root["socket"]) c.socket = root["socket"].as<std::string>();
        if (root["metrics"]) c.metrics = root["metrics"].as<std::string>();
        if (root["listen"]) c.listen = root["listen"].as<std::string>();
        if (root["keylog_follow"]) c.keylog = root["keylog_follow"].as<std::string>();
        if (root["signing_key"]) c.signing_key = root["signing_key"].as<std::string>();
        if (root["dataset_dirs"])
            c.dataset_dirs = root["dataset_dirs"].as<std::vector<std::string>>();
        if (root["cert"]) c.tls.cert = root["cert"].as<std::string>();
        if (root["key"]) c.tls.key = root["key"].as<std::string>();
        if (root["ca"]) c.tls.ca = root["ca"].as<std::string>();
        if (root["access"]) {
            c.access = AccessPolicy{};
            if (!parse_access(root["access"], c.access, error)) {
                error = path + ":" + error;
                return false;
            }
        }
        if (root["fleet_timeouts"] &&
            !parse_fleet_timeouts(root["fleet_timeouts"], c.fleet, error)) {
            error = path + ":" + error;
            return false;
        }
        if (root["dashboard"] && !parse_dashboard(root["dashboard"], c.dashboard, error)) {
            error = path + ":" + error;
            return false;
        }
        if (root["limits"] && !parse_limits(root["limits"], c.limits, error)) {
            error = path + ":" + error;
            return false;
        }
        if (root["dataplanes"]) {
            c.dataplanes.clear();
            for (const auto& d : root["dataplanes"]) {
                DataplaneLink l;
                l.name = d["name"].as<std::string>();
                if (d["socket"]) l.ep.unix_path = d["socket"].as<std::string>();
                if (d["address"]) l.ep.tcp = d["address"].as<std::string>();
                if (d["cert"]) l.ep.tls.cert = d["cert"].as<std::string>();
                if (d["key"]) l.ep.tls.key = d["key"].as<std::string>();
                if (d["ca"]) l.ep.tls.ca = d["ca"].as<std::string>();
                if (l.ep.unix_path.empty() == l.ep.tcp.empty() ||
                    (!l.ep.tcp.empty() && !l.ep.tls.complete())) {
                    error = path + ":" + std::to_string(d.Mark().line + 1) + ": dataplane '" +
                            l.name + "' needs socket, or address with cert, key and ca";
                    return false;
                }
                c.dataplanes.push_back(l);
            }
        }
        for (const auto& kv : root) {
            const std::string k = kv.first.as<std::string>();
            static const std::set<std::string> kKeys = {
                "state_dir",     "socket",       "metrics",  "dataplanes",
                "listen",        "cert",         "key",      "ca",
                "keylog_follow", "access",       "limits",   "fleet_timeouts",
                "signing_key",   "dataset_dirs", "dashboard"};
            if (!kKeys.contains(k)) {
                error = path + ":" + std::to_string(kv.first.Mark().line + 1) + ": unknown key '" +
                        k +
                        "' (state_dir, socket, metrics, listen, cert, key, ca, keylog_follow, "
                        "access, limits, fleet_timeouts, signing_key, dataset_dirs, dashboard, "
                        "dataplanes)";
                return false;
            }
        }
        return true;
    } catch (const YAML::Exception& e) {
        error = path + ":" + std::to_string(e.mark.line + 1) + ":" +
                std::to_string(e.mark.column + 1) + ": " + e.msg;
        return false;
    }
}

bool parse_dataplanes(const std::vector<std::string>& specs, Config& c, std::string& error) {
    for (const std::string& s : specs) {
        const size_t eq = s.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) {
            error = "--dataplane takes NAME=SOCKET: '" + s + "'";
            return false;
        }
        DataplaneLink l;
        l.name = s.substr(0, eq);
        l.ep.unix_path = s.substr(eq + 1);
        c.dataplanes.push_back(l);
    }
    return true;
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "sluiced: keeps the desired state of sluice dataplanes (versioned rule sets and "
        "policies, block/allow lists) durably and pushes it to every dataplane, again "
        "after either side restarts. SIGHUP reloads the config file."};
    Config cfg;
    std::string config_file;
    std::vector<std::string> dp_specs;
    app.add_option("--config", config_file, "YAML: state_dir, socket, metrics, dataplanes")
        ->check(CLI::ExistingFile);
    app.add_option("--state-dir", cfg.state_dir, "Where desired state lives")
        ->capture_default_str();
    app.add_option("--socket", cfg.socket, "sluicectl connects here")->capture_default_str();
    app.add_option("--dataplane", dp_specs, "NAME=SOCKET of a dataplane's --control (repeatable)");
    app.add_option("--metrics", cfg.metrics, "Serve /metrics and /health on ADDR:PORT");
    std::string keylog;
    app.add_option("--keylog-follow", keylog,
                   "Tail this NSS key log (TLS terminators append to it) and forward new secrets "
                   "to every dataplane; memory only");
    app.add_option("--listen", cfg.listen,
                   "Also serve sluicectl on ADDR:PORT over mutual TLS (--cert, --key, --ca)");
    app.add_option("--cert", cfg.tls.cert, "The daemon's certificate (PEM)")
        ->check(CLI::ExistingFile);
    app.add_option("--key", cfg.tls.key, "Its private key")->check(CLI::ExistingFile);
    app.add_option("--ca", cfg.tls.ca, "CA that signs the clients allowed in")
        ->check(CLI::ExistingFile);
    std::string signing_key;
    app.add_option("--signing-key", signing_key,
                   "Ed25519 private key (PEM) that signs every rule bundle shipped; dataplanes "
                   "trusting its public key (--trusted-key) verify it before loading anything")
        ->check(CLI::ExistingFile);
    std::vector<std::string> dataset_dirs;
    app.add_option("--dataset-dir", dataset_dirs,
                   "A directory pushed rules' `dataset:… load PATH` may read from (repeatable; "
                   "paths resolve beneath it, no symlinks; none: pushed rules cannot load "
                   "datasets from this host)")
        ->check(CLI::ExistingDirectory);
    std::string dashboard_listen, dashboard_token;
    app.add_option("--dashboard", dashboard_listen,
                   "Serve the live dashboard over HTTPS on ADDR:PORT (the read role: a client "
                   "certificate granted it, or --dashboard-token-file; certificate and key from "
                   "the config's dashboard: section, else --cert/--key)");
    app.add_option("--dashboard-token-file", dashboard_token,
                   "The dashboard's sign-in token: the file's first line, 32 characters or more")
        ->check(CLI::ExistingFile);
    std::vector<std::string> grants;
    app.add_option("--grant", grants,
                   "Grant a role: ROLE=KIND:VALUE, ROLE read|operate|admin, KIND "
                   "uid|group|subject|san (repeatable, adds to the config's access; root and "
                   "sluiced's own uid are always admin on the socket; TLS clients need a grant)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    std::string err;
    if (!config_file.empty() && !load_config(config_file, cfg, err)) {
        std::fprintf(stderr, "sluiced: %s\n", err.c_str());
        return 2;
    }
    // Flags win over the file.
    if (!parse_dataplanes(dp_specs, cfg, err)) {
        std::fprintf(stderr, "sluiced: %s\n", err.c_str());
        return 2;
    }
    for (const std::string& g : grants)
        if (!cfg.access.add_flag(g, err)) {
            std::fprintf(stderr, "sluiced: %s\n", err.c_str());
            return 2;
        }
    std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up mid-answer is its own loss
    StateStore store;
    if (!store.open(cfg.state_dir, err)) {
        std::fprintf(stderr, "sluiced: state directory %s\n", err.c_str());
        return 2;
    }
    Daemon daemon(store);
    daemon.timeouts = cfg.fleet;
    for (const std::string& d : dataset_dirs) cfg.dataset_dirs.push_back(d);
    daemon.dataset_dirs = cfg.dataset_dirs;
    if (!signing_key.empty()) cfg.signing_key = signing_key;
    if (!cfg.signing_key.empty()) {
        daemon.signing_key = sluice::rules::SigningKey::load(cfg.signing_key, err);
        if (!daemon.signing_key) {
            std::fprintf(stderr, "sluiced: signing key %s\n", err.c_str());
            return 2;
        }
    }
    daemon.set_dataplanes(cfg.dataplanes);
    ServerOptions sopt;
    sopt.access = cfg.access;
    sopt.limits = cfg.limits;
    sopt.on_refusal = [&](const Refusal& r) { daemon.audit_refusal(r); };
    auto handler = [&](Request& r) { return daemon.handle(r); };
    ControlServer server;
    if (!server.start_unix(cfg.socket, sopt, handler, err)) {
        std::fprintf(stderr, "sluiced: socket %s\n", err.c_str());
        return 2;
    }
    ControlServer remote;
    if (!cfg.listen.empty() && !remote.start_tls(cfg.listen, cfg.tls, sopt, handler, err)) {
        std::fprintf(stderr, "sluiced: listen %s\n", err.c_str());
        return 2;
    }
    HttpEndpoint metrics;
    if (!cfg.metrics.empty() &&
        !metrics.start(
            cfg.metrics,
            [&](const std::string& path) {
                if (path == "/metrics")
                    return HttpAnswer{200, "text/plain; version=0.0.4", daemon.metrics_text()};
                if (path == "/health") return HttpAnswer{200, "text/plain", "ok\n"};
                return HttpAnswer{404, "text/plain", "/metrics or /health\n"};
            },
            err)) {
        std::fprintf(stderr, "sluiced: metrics %s\n", err.c_str());
        return 2;
    }
    if (!dashboard_listen.empty()) cfg.dashboard.listen = dashboard_listen;
    if (!dashboard_token.empty()) cfg.dashboard.token_file = dashboard_token;
    DashboardFeed feed([&] { return daemon.fleet_view(); }, cfg.fleet, cfg.dashboard.poll_ms);
    DashboardServer dashboard;
    if (!cfg.dashboard.listen.empty()) {
        DashboardOptions d = cfg.dashboard;
        if (d.tls.cert.empty()) d.tls.cert = cfg.tls.cert;
        if (d.tls.key.empty()) d.tls.key = cfg.tls.key;
        if (d.tls.ca.empty()) d.tls.ca = cfg.tls.ca;
        if (!dashboard.start(d, cfg.access, feed, err)) {
            std::fprintf(stderr, "sluiced: dashboard %s\n", err.c_str());
            return 2;
        }
        feed.start();
        std::fprintf(stderr, "sluiced: dashboard on https://%s/\n", d.listen.c_str());
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGHUP, on_signal);
    daemon.start();
    if (keylog.empty()) keylog = cfg.keylog;  // the flag wins over the file
    if (!keylog.empty()) daemon.follow_keylog(keylog);
    std::fprintf(stderr, "sluiced: state %s, socket %s, %zu dataplane(s)\n", cfg.state_dir.c_str(),
                 cfg.socket.c_str(), cfg.dataplanes.size());
    while (!g_stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (g_reload.exchange(false) && !config_file.empty()) {
            Config next = cfg;
            if (load_config(config_file, next, err) && parse_dataplanes(dp_specs, next, err)) {
                daemon.set_dataplanes(next.dataplanes);
                std::fprintf(stderr, "sluiced: reloaded %s: %zu dataplane(s)\n",
                             config_file.c_str(), next.dataplanes.size());
            } else {
                std::fprintf(stderr, "sluiced: reload refused, keeping the running config: %s\n",
                             err.c_str());
            }
        }
    }
    dashboard.stop();
    feed.stop();
    daemon.stop();
    server.stop();
    remote.stop();
    metrics.stop();
    return 0;
}
