// sluicectl: the operator's CLI for running dataplanes (docs/operations.md). Talks the control
// protocol (docs/control-protocol.md) over a dataplane's Unix socket. Tables for people,
// --json for scripts. Exit codes: 0 ok, 1 the dataplane refused (its error says why),
// 2 bad usage or input, 3 the dataplane is unreachable.
#include <openssl/crypto.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>

#include "account/identity.h"
#include "control/protocol/client.h"
#include "rules/bundle.h"
#include "rules/rule_set.h"

using nlohmann::json;
using sluice::control::Client;
using sluice::control::Response;

namespace {

constexpr int kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3;

struct Options {
    std::string socket;
    std::string host;  // HOST:PORT over mutual TLS instead of the socket
    sluice::control::TlsFiles tls;
    bool json_out = false;
    int timeout_s = 30;
};

// "90", "90s", "15m", "2h", "7d" -> seconds; false on anything else.
bool parse_duration(const std::string& text, uint64_t& out) {
    if (text.empty()) return false;
    size_t pos = 0;
    unsigned long long v = 0;
    try {
        v = std::stoull(text, &pos);
    } catch (...) {
        return false;
    }
    const std::string unit = text.substr(pos);
    const uint64_t mult = unit.empty() || unit == "s" ? 1
                          : unit == "m"               ? 60
                          : unit == "h"               ? 3600
                          : unit == "d"               ? 86400
                                                      : 0;
    if (mult == 0 || v > std::numeric_limits<uint64_t>::max() / mult) return false;
    out = v * mult;
    return true;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

int fail(int code, const std::string& msg) {
    std::fprintf(stderr, "sluicectl: %s\n", msg.c_str());
    return code;
}

// Sends one request; prints the error and returns the exit code on failure.
int call(const Options& o, const std::string& cmd, const json& args, json& result,
         std::string_view blob = {}) {
    Client c;
    std::string err;
    if (!o.host.empty()) {
        if (!o.tls.complete()) return fail(kUsage, "--host needs --cert, --key and --ca");
        // Unreadable or invalid TLS files are the caller's input to fix (2), not an
        // unreachable peer (3).
        if (!sluice::control::make_tls_context(false, o.tls, err)) return fail(kUsage, err);
        if (!c.connect_tls(o.host, o.tls, err)) return fail(kUnreachable, "cannot reach " + err);
    } else if (!c.connect_unix(o.socket, err)) {
        return fail(kUnreachable, "cannot reach the dataplane at " + err +
                                      " (is it running with --control? set --socket or "
                                      "SLUICE_SOCKET)");
    }
    Response r = c.request(cmd, args, blob, o.timeout_s * 1000);
    if (!r.ok) {
        if (r.code == "unreachable" || r.code == "protocol" || r.code == "timeout")
            return fail(kUnreachable, (o.host.empty() ? o.socket : o.host) + ": " + r.error);
        return fail(kRefused, r.error + " [" + r.code + "]");
    }
    result = std::move(r.result);
    return kOk;
}

std::string num(const json& j, const char* key) {
    if (!j.contains(key)) return "-";
    const json& v = j[key];
    if (v.is_number_float()) {
        char b[32];
        std::snprintf(b, sizeof b, "%.1f", v.get<double>());
        return b;
    }
    return v.is_string() ? v.get<std::string>() : v.dump();
}

void print_daemon_status(const json& s) {
    const json& d = s["desired"];
    std::printf("sluiced       state %s\n", s.value("state_dir", std::string()).c_str());
    std::printf("desired       rules v%s, policy v%s, %s list entries\n", num(d, "rules").c_str(),
                num(d, "policy").c_str(), num(s["lists"], "entries").c_str());
    for (const json& p : s["dataplanes"])
        std::printf("dataplane     %-12s %s%s%s\n", p["name"].get<std::string>().c_str(),
                    p["up"].get<bool>() ? "up" : "down",
                    p["in_sync"].get<bool>() ? ", in sync" : "",
                    p.contains("error") ? (": " + p["error"].get<std::string>()).c_str() : "");
}

void print_status(const json& s) {
    if (s.contains("control") && s["control"].value("role", std::string()) == "daemon")
        return print_daemon_status(s);
    const json& e = s.value("engine", json::object());
    std::printf("mode          %s, %s topology, %s workers, up %.0f s\n",
                s.value("mode", std::string("?")).c_str(),
                s.value("topology", std::string("?")).c_str(), num(s, "workers").c_str(),
                s.value("elapsed_s", 0.0));
    std::printf("packets       %s  forwarded %s  dropped (verdict) %s  rst injected %s\n",
                num(e, "packets").c_str(), num(e, "forwarded").c_str(),
                num(e, "dropped_verdict").c_str(), num(e, "rst_injected").c_str());
    const json& r = e.value("rules", json::object());
    std::printf("rules         %s loaded, %s skipped, sha256 %s, %s alerts\n",
                num(r, "loaded").c_str(), num(r, "skipped").c_str(),
                r.value("sha256", std::string("-")).substr(0, 16).c_str(),
                num(r, "alerts").c_str());
    const json& p = s.value("policy", json::object());
    std::printf("policy        %s (sha256 %s)\n", p.value("source", std::string("-")).c_str(),
                p.value("sha256", std::string("-")).substr(0, 16).c_str());
    const json& l = s.value("lists", json::object());
    std::printf("lists         block %s, allow %s\n", num(l, "block").c_str(),
                num(l, "allow").c_str());
    const json& a = e.value("accounts", json::object());
    if (a.contains("accounts")) {
        const json& en = a.value("enforcement", json::object());
        std::printf("accounts      %s seen, %s flagged, %s clusters; enforcement %s\n",
                    num(a, "accounts").c_str(), num(a, "flagged").c_str(),
                    num(a, "clusters").c_str(), en.value("mode", std::string("-")).c_str());
    }
    if (e.contains("fleet")) {
        const json& f = e["fleet"];
        std::printf(
            "fleet         %s, %s (%s masters), lag %s ms; published %s, failed %s; reads %s, "
            "failed %s; evidence dropped %s\n",
            f.value("connected", false) ? "connected" : "NOT CONNECTED",
            f.value("mode", std::string("-")).c_str(), num(f, "masters").c_str(),
            num(f, "lag_ms").c_str(), num(f, "published").c_str(), num(f, "publish_failed").c_str(),
            num(f, "reads").c_str(), num(f, "read_failed").c_str(),
            num(f, "evidence_dropped").c_str());
    }
}

int list_command(const Options& o, const std::string& list, const std::string& action,
                 const std::string& kind, const std::string& value, const std::string& ttl,
                 const std::string& reason) {
    json args = {{"list", list}};
    json result;
    if (action == "list") {
        if (int rc = call(o, "lists.show", args, result)) return rc;
        if (o.json_out) {
            std::cout << result.dump(2) << "\n";
            return kOk;
        }
        std::printf("%-8s %-40s %-10s %s\n", "KIND", "VALUE", "EXPIRES", "REASON");
        for (const json& e : result["entries"]) {
            const std::string exp = e.contains("expires_in_s")
                                        ? std::to_string(e["expires_in_s"].get<uint64_t>()) + "s"
                                        : "never";
            std::printf("%-8s %-40s %-10s %s\n", e["kind"].get<std::string>().c_str(),
                        e["value"].get<std::string>().c_str(), exp.c_str(),
                        e["reason"].get<std::string>().c_str());
        }
        return kOk;
    }
    if (kind.empty() || value.empty())
        return fail(kUsage, list + " " + action + " needs KIND (ip, account, ja4) and VALUE");
    args["kind"] = kind;
    args["value"] = value;
    if (action == "add") {
        uint64_t ttl_s = 0;
        // Ten years at most, as the servers check: longer is a typo, not a plan.
        if (!ttl.empty() && (!parse_duration(ttl, ttl_s) || ttl_s > 10ull * 366 * 86400))
            return fail(kUsage, "--ttl takes a duration like 90s, 15m, 2h or 7d, at most 3660d: '" +
                                    ttl + "'");
        args["ttl_s"] = ttl_s;
        args["reason"] = reason;
    }
    if (int rc = call(o, action == "add" ? "lists.add" : "lists.del", args, result)) return rc;
    if (o.json_out)
        std::cout << result.dump(2) << "\n";
    else
        std::printf("%s %s %s %s\n", action == "add" ? "added to" : "removed from",
                    (list + "list").c_str(), kind.c_str(), value.c_str());
    return kOk;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);  // a peer that hangs up is an error answer, not a death
    CLI::App app{
        "sluicectl: operate running sluice dataplanes (status, lists, policy, secrets, "
        "accounts). Exit codes: 0 ok, 1 refused by the dataplane, 2 bad usage or input, "
        "3 unreachable."};
    app.require_subcommand(1);
    Options o;
    const char* env = std::getenv("SLUICE_SOCKET");
    o.socket = env ? env : "/run/sluice/dataplane.sock";
    app.add_option("--socket", o.socket,
                   "The control socket of sluiced or a dataplane (env SLUICE_SOCKET)")
        ->capture_default_str();
    app.add_option("--host", o.host,
                   "HOST:PORT of a remote dataplane or sluiced, over mutual TLS (with --cert, "
                   "--key, --ca)");
    app.add_option("--cert", o.tls.cert, "Client certificate (PEM) for --host")
        ->check(CLI::ExistingFile);
    app.add_option("--key", o.tls.key, "Its private key")->check(CLI::ExistingFile);
    app.add_option("--ca", o.tls.ca, "CA that signed the server's certificate")
        ->check(CLI::ExistingFile);
    app.add_flag("--json", o.json_out, "Print JSON for scripts instead of tables");
    app.add_option("--timeout", o.timeout_s, "Seconds to wait for an answer")
        ->capture_default_str();

    auto* status = app.add_subcommand("status", "State, versions in force and counters");

    std::string list_action, kind, value, ttl, reason;
    auto add_list = [&](const char* name, const char* what) {
        auto* sc = app.add_subcommand(name, what);
        sc->require_subcommand(1);
        for (const char* action : {"add", "del", "list"}) {
            auto* a = sc->add_subcommand(action, std::string(action) == "list" ? "Show the entries"
                                                 : std::string(action) == "add"
                                                     ? "Add an entry (replaces the same one)"
                                                     : "Remove an entry");
            a->callback([&, action] { list_action = action; });
            if (std::string(action) != "list") {
                a->add_option("kind", kind, "ip (address or prefix), account (16-hex id) or ja4")
                    ->required()
                    ->check(CLI::IsMember({"ip", "account", "ja4"}));
                a->add_option("value", value, "The address/prefix, account id or JA4")->required();
            }
            if (std::string(action) == "add") {
                a->add_option("--ttl", ttl, "Expire after this long (90s, 15m, 2h, 7d)");
                a->add_option("--reason", reason, "Why (shown in lists and the audit trail)");
            }
        }
        return sc;
    };
    auto* blocklist = add_list("blocklist", "Subjects blocked whatever their signals");
    auto* allowlist = add_list("allowlist", "Subjects never stopped (overrides every decision)");

    auto* policy = app.add_subcommand("policy", "Detection policy (docs/detection.md)");
    policy->require_subcommand(1);
    std::string policy_file;
    auto* pv =
        policy->add_subcommand("validate", "Check a policy file with the dataplane's parser");
    pv->add_option("file", policy_file, "Policy YAML")->required()->check(CLI::ExistingFile);
    auto* pp = policy->add_subcommand("push", "Validate and apply a policy (state is kept)");
    pp->add_option("file", policy_file, "Policy YAML")->required()->check(CLI::ExistingFile);
    uint64_t policy_version = 0;
    auto* pr = policy->add_subcommand(
        "rollback", "Put an earlier policy back in force (default: the one before) (sluiced)");
    pr->add_option("version", policy_version, "The version to restore");

    auto* rules_cmd = app.add_subcommand("rules", "Rule sets (docs/rules.md)");
    rules_cmd->require_subcommand(1);
    std::vector<std::string> rule_files, rule_vars;
    std::string message;
    auto* rv = rules_cmd->add_subcommand(
        "validate", "Compile rule files here and have the dataplane validate the bundle");
    rv->add_option("files", rule_files, "Rule files or directories")
        ->required()
        ->check(CLI::ExistingPath);
    auto* rp = rules_cmd->add_subcommand(
        "push", "Compile here, ship the bundle, swap it in on every worker (no packet lost)");
    rp->add_option("files", rule_files, "Rule files or directories")
        ->required()
        ->check(CLI::ExistingPath);
    rp->add_option("--message", message, "What changed (kept with the version)");
    bool allow_skipped = false;
    for (auto* sc : {rv, rp}) {
        sc->add_flag("--allow-skipped", allow_skipped,
                     "Leave out unsupported or malformed rules (each one reported) and send the "
                     "rest; without it one bad rule rejects the set and nothing is sent");
        sc->add_option("--rule-var", rule_vars,
                       "NAME=VALUE rule variable, e.g. API_SERVERS=[10.0.0.0/8] (names ending in "
                       "_PORTS or _PORT are port groups); repeatable");
    }
    auto* rl = rules_cmd->add_subcommand("list", "Rule-set versions kept by sluiced");
    uint64_t from_v = 0, to_v = 0, version = 0;
    auto* rd = rules_cmd->add_subcommand("diff", "What changed between two versions (sluiced)");
    rd->add_option("v1", from_v, "From version")->required();
    rd->add_option("v2", to_v, "To version")->required();
    auto* rr = rules_cmd->add_subcommand(
        "rollback", "Put an earlier version back in force (default: the one before) (sluiced)");
    rr->add_option("version", version, "The version to restore");
    auto* clusters = app.add_subcommand("clusters", "Account clusters (shared exits, templates)");
    clusters->require_subcommand(1);
    size_t clusters_n = 20;
    auto* cl = clusters->add_subcommand("list", "The largest clusters and their decisions");
    cl->add_option("-n", clusters_n, "How many")->capture_default_str();
    auto* stats =
        app.add_subcommand("stats", "Counters: packets, drops, flows, rules, HTTP, TLS, accounts");
    auto* dataplanes = app.add_subcommand("dataplanes", "The fleet sluiced manages");
    dataplanes->require_subcommand(1);
    auto* dl = dataplanes->add_subcommand("list", "Each dataplane, whether it is up and in sync");

    auto* secrets = app.add_subcommand("secrets", "TLS session secrets (memory only)");
    secrets->require_subcommand(1);
    std::string keylog;
    auto* sp = secrets->add_subcommand("push", "Send NSS key log lines to every worker");
    sp->add_option("file", keylog, "Key log file ('-' for standard input)")->required();

    auto* accounts = app.add_subcommand("accounts", "Accounts the correlator tracks");
    accounts->require_subcommand(1);
    size_t top_n = 20;
    std::string account, secret_file;
    bool key_stdin = false;
    auto* at = accounts->add_subcommand("top", "Accounts with the strongest action and score");
    at->add_option("-n", top_n, "How many")->capture_default_str();
    auto* as = accounts->add_subcommand("show", "One account's standing and signals");
    as->add_option("id", account, "Account id (16 hex)")->required();
    auto* ai = accounts->add_subcommand(
        "id", "The account id of an API key, computed here: the key never leaves this process");
    ai->add_flag("--key-stdin", key_stdin, "Read the key from standard input")->required();
    ai->add_option("--secret-file", secret_file,
                   "The dataplane's account secret (default: the built-in public default)")
        ->check(CLI::ExistingFile);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? kOk : kUsage;
    }

    json result;
    if (status->parsed()) {
        if (int rc = call(o, "status", json::object(), result)) return rc;
        if (o.json_out)
            std::cout << result.dump(2) << "\n";
        else
            print_status(result);
        return kOk;
    }
    if (cl->parsed()) {
        if (int rc = call(o, "clusters.list", {{"n", clusters_n}}, result)) return rc;
        if (o.json_out) {
            std::cout << result.dump(2) << "\n";
            return kOk;
        }
        std::printf("%-16s %5s %8s %-10s %7s  %s\n", "CLUSTER", "SIZE", "REQUESTS", "ACTION",
                    "FLAGGED", "HITS");
        for (const json& c : result["clusters"])
            std::printf("%-16s %5s %8s %-10s %7s  %s\n", c["id"].get<std::string>().c_str(),
                        num(c, "size").c_str(), num(c, "requests").c_str(),
                        c["action"].get<std::string>().c_str(), num(c, "flagged_members").c_str(),
                        c["hits"].dump().c_str());
        return kOk;
    }
    if (stats->parsed()) {
        if (int rc = call(o, "stats", json::object(), result)) return rc;
        if (o.json_out) {
            std::cout << result.dump(2) << "\n";
            return kOk;
        }
        // Every counter, one per line, section.name value: greppable and diffable.
        std::function<void(const std::string&, const json&)> walk = [&](const std::string& prefix,
                                                                        const json& j) {
            for (auto it = j.begin(); it != j.end(); ++it) {
                const std::string k = prefix.empty() ? it.key() : prefix + "." + it.key();
                if (it->is_object())
                    walk(k, *it);
                else if (it->is_number())
                    std::printf("%-48s %s\n", k.c_str(), it->dump().c_str());
            }
        };
        walk("", result);
        return kOk;
    }
    if (blocklist->parsed() || allowlist->parsed())
        return list_command(o, blocklist->parsed() ? "block" : "allow", list_action, kind, value,
                            ttl, reason);
    if (policy->parsed() && !pr->parsed()) {
        std::string text;
        if (!read_file(policy_file, text)) return fail(kUsage, policy_file + ": cannot read");
        const bool push = pp->parsed();
        if (int rc = call(o, push ? "policy.push" : "policy.validate",
                          {{"text", text}, {"name", policy_file}}, result))
            return rc;
        if (o.json_out)
            std::cout << result.dump(2) << "\n";
        else
            std::printf("%s: %s rules, window %s s%s\n", policy_file.c_str(),
                        num(result, "rules").c_str(), num(result, "window_s").c_str(),
                        push ? ", applied" : ", valid");
        return kOk;
    }
    if (rl->parsed() || rd->parsed() || rr->parsed() || pr->parsed() || dl->parsed()) {
        const std::string cmd = rl->parsed()   ? "rules.list"
                                : rd->parsed() ? "rules.diff"
                                : rr->parsed() ? "rules.rollback"
                                : pr->parsed() ? "policy.rollback"
                                               : "dataplanes.list";
        json args = json::object();
        if (rd->parsed()) args = {{"from", from_v}, {"to", to_v}};
        if (rr->parsed() && version) args = {{"version", version}};
        if (pr->parsed() && policy_version) args = {{"version", policy_version}};
        if (int rc = call(o, cmd, args, result)) {
            if (rc == kRefused)
                std::fprintf(stderr,
                             "sluicectl: (versions, rollback and the fleet live in sluiced: point "
                             "--socket at it)\n");
            return rc;
        }
        if (o.json_out) {
            std::cout << result.dump(2) << "\n";
        } else if (rl->parsed()) {
            std::printf("%-8s %-16s %6s %-20s %s\n", "VERSION", "SHA256", "RULES", "WHEN",
                        "MESSAGE");
            for (const json& v : result["versions"]) {
                const std::time_t t = static_cast<std::time_t>(v.value("time", uint64_t{0}));
                char when[32];
                std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
                std::printf("%-8s %-16s %6s %-20s %s%s\n", num(v, "version").c_str(),
                            v.value("sha256", std::string()).substr(0, 16).c_str(),
                            num(v, "rules").c_str(), when,
                            v.value("message", std::string()).c_str(),
                            v.value("in_force", false) ? "  (in force)" : "");
            }
        } else if (rd->parsed()) {
            std::fputs(result["diff"].get<std::string>().c_str(), stdout);
        } else if (dl->parsed()) {
            std::printf("%-12s %-5s %-7s %-16s %s\n", "NAME", "UP", "IN SYNC", "RULES", "NOTE");
            for (const json& d : result["dataplanes"])
                std::printf("%-12s %-5s %-7s %-16s %s\n", d["name"].get<std::string>().c_str(),
                            d["up"].get<bool>() ? "yes" : "no",
                            d["in_sync"].get<bool>() ? "yes" : "no",
                            d.value("rules_sha256", std::string()).substr(0, 16).c_str(),
                            d.value("error", d.value("note", std::string())).c_str());
        } else {
            std::printf("version %s in force (was %s)\n", num(result, "version").c_str(),
                        num(result, "previous").c_str());
        }
        return kOk;
    }
    if (rules_cmd->parsed()) {
        // Compiled once here; the dataplane rebuilds and checks the bundle before swapping.
        sluice::rules::RuleSetOptions ro;
        for (const std::string& v : rule_vars) {
            const size_t eq = v.find('=');
            if (eq == std::string::npos || eq == 0)
                return fail(kUsage, "--rule-var takes NAME=VALUE: '" + v + "'");
            const std::string name = v.substr(0, eq);
            const bool port = name.ends_with("_PORTS") || name.ends_with("_PORT");
            (port ? ro.vars.ports : ro.vars.addresses)[name] = v.substr(eq + 1);
        }
        ro.skip_invalid = allow_skipped;
        auto rs = sluice::rules::load_rule_files(rule_files, ro);
        if (!rs.errors.empty()) {
            for (const auto& e : rs.errors) std::fprintf(stderr, "%s\n", e.format().c_str());
            return fail(kUsage, std::string("the rule set was rejected; nothing was sent") +
                                    (allow_skipped ? ""
                                                   : " (--allow-skipped sends the valid rules "
                                                     "and reports the others)"));
        }
        std::fputs(sluice::rules::skip_report(rs.set->skipped).c_str(), stderr);
        auto compiled = sluice::rules::CompiledRules::compile(
            std::shared_ptr<const sluice::rules::RuleSet>(std::move(rs.set)));
        if (!compiled.rules) {
            for (const auto& e : compiled.errors) std::fprintf(stderr, "%s\n", e.format().c_str());
            return fail(kUsage, "the rule set does not compile; nothing was sent");
        }
        const auto bundle = sluice::rules::write_bundle(*compiled.rules);
        const bool push = rp->parsed();
        // Both the sources (sluiced versions them) and the bundle (a dataplane loads it).
        json files = json::array();
        for (const auto& src : compiled.rules->set().sources)
            files.push_back({{"name", src.name}, {"text", src.text}});
        if (int rc =
                call(o, push ? "rules.push" : "rules.validate",
                     {{"message", message}, {"files", files}, {"allow_skipped", allow_skipped}},
                     result, {reinterpret_cast<const char*>(bundle.data()), bundle.size()}))
            return rc;
        if (o.json_out) {
            std::cout << result.dump(2) << "\n";
        } else {
            std::string what = push ? ", pushed" : ", valid";
            if (result.contains("version")) what += " as version " + num(result, "version");
            if (result.contains("generation"))
                what += ", in force on every worker (generation " + num(result, "generation") +
                        ", adopted in " + num(result, "adopted_ms") + " ms)";
            if (result.value("skipped", uint64_t{0}) > 0)
                what += ", " + num(result, "skipped") + " skipped";
            std::printf("%s rules, sha256 %s%s\n", num(result, "rules").c_str(),
                        result.value("sha256", std::string()).substr(0, 16).c_str(), what.c_str());
        }
        return kOk;
    }
    if (secrets->parsed()) {
        std::string text;
        if (keylog == "-") {
            std::stringstream ss;
            ss << std::cin.rdbuf();
            text = ss.str();
        } else if (!read_file(keylog, text)) {
            return fail(kUsage, keylog + ": cannot read");
        }
        // In the blob, not the JSON: secrets never pass through a JSON parser's buffers.
        const int rc = call(o, "secrets.push", json::object(), result, text);
        OPENSSL_cleanse(text.data(), text.size());
        if (rc) return rc;
        if (o.json_out)
            std::cout << result.dump(2) << "\n";
        else
            std::printf("pushed %s secrets (%s lines ignored)\n", num(result, "secrets").c_str(),
                        num(result, "ignored_lines").c_str());
        return kOk;
    }
    if (accounts->parsed()) {
        if (ai->parsed()) {
            std::string key;
            std::getline(std::cin, key);
            while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
            if (key.empty()) return fail(kUsage, "no key on standard input");
            sluice::account::IdentityOptions io;
            if (!secret_file.empty() && !read_file(secret_file, io.secret))
                return fail(kUsage, secret_file + ": cannot read");
            while (!io.secret.empty() && (io.secret.back() == '\n' || io.secret.back() == '\r'))
                io.secret.pop_back();
            const sluice::account::Identifier id(io);
            const auto a = id.id_of(key);
            char hint[48];
            const size_t hl = sluice::account::make_hint(key, hint);
            OPENSSL_cleanse(key.data(), key.size());
            const std::string sid(a.data(), a.size()), shint(hint, hl);
            if (o.json_out)
                std::cout << json{{"id", sid}, {"hint", shint}}.dump() << "\n";
            else
                std::printf("%s  %s\n", sid.c_str(), shint.c_str());
            return kOk;
        }
        const bool top = at->parsed();
        if (int rc = call(o, top ? "accounts.top" : "accounts.show",
                          top ? json{{"n", top_n}} : json{{"id", account}}, result))
            return rc;
        if (o.json_out) {
            std::cout << result.dump(2) << "\n";
            return kOk;
        }
        const json rows = top ? result["accounts"] : json::array({result});
        std::printf("%-16s %-24s %-10s %6s %-16s %5s  %s\n", "ID", "HINT", "ACTION", "SCORE",
                    "CLUSTER", "SIZE", "REASONS");
        for (const json& row : rows) {
            const json& a = row["account"];
            std::string reasons;
            for (const json& r : a["reasons"])
                reasons += (reasons.empty() ? "" : "; ") + r.get<std::string>();
            std::printf("%-16s %-24s %-10s %6.0f %-16s %5s  %s\n",
                        a["id"].get<std::string>().c_str(), a["hint"].get<std::string>().c_str(),
                        a["action"].get<std::string>().c_str(), a["score"].get<double>(),
                        a["cluster"]["id"].get<std::string>().c_str(),
                        num(a["cluster"], "size").c_str(), reasons.c_str());
        }
        if (!top) std::printf("signals: %s\n", result["account"]["signals"].dump().c_str());
        return kOk;
    }
    return kUsage;
}
