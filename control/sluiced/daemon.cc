#include "control/sluiced/daemon.h"

#include <nlohmann/json.hpp>

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "account/policy.h"
#include "common/digest.h"
#include "control/protocol/client.h"
#include "control/protocol/server.h"
#include "rules/bundle.h"
#include "rules/rule_set.h"
#include "verdict/operator_lists.h"

namespace sluice::control {

using nlohmann::json;

namespace {

uint64_t now_unix() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

std::string sha256_hex(std::string_view data) {
    const auto d = sha256(as_bytes(data));
    char hex[64];
    to_hex(d, hex);
    return {hex, sizeof hex};
}

struct Refused {
    std::string code, message;
};

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string l;
    while (std::getline(in, l)) out.push_back(l);
    return out;
}

// Compiles rule sources; throws Refused with every error as file:line:col.
std::shared_ptr<const rules::CompiledRules> compile(const std::vector<RuleFile>& files) {
    std::vector<rules::RuleSource> src;
    for (const RuleFile& f : files) src.push_back({f.name, f.text});
    auto rs = rules::build_rule_set(src, rules::RuleSetOptions{});
    std::string errs;
    for (const auto& e : rs.errors) errs += e.format() + "\n";
    if (!rs.set) throw Refused{"invalid", errs.empty() ? "the rule set is empty" : errs};
    auto c =
        rules::CompiledRules::compile(std::shared_ptr<const rules::RuleSet>(std::move(rs.set)));
    for (const auto& e : c.errors) errs += e.format() + "\n";
    if (!c.rules) throw Refused{"invalid", errs};
    return c.rules;
}

std::vector<RuleFile> files_arg(const json& args) {
    if (!args.contains("files") || !args["files"].is_array() || args["files"].empty())
        throw Refused{"bad_request", "rules need files[] of {name, text}"};
    std::vector<RuleFile> out;
    for (const json& f : args["files"])
        out.push_back({f.value("name", std::string("rules")), f.value("text", std::string())});
    return out;
}

}  // namespace

std::string line_diff(const std::string& a, const std::string& b) {
    const auto x = lines_of(a), y = lines_of(b);
    const size_t n = x.size(), m = y.size();
    if (n * m > 25'000'000) return "(files too large to diff here)\n";
    // Longest common subsequence table, then a walk that emits the edit script.
    std::vector<std::vector<uint32_t>> L(n + 1, std::vector<uint32_t>(m + 1, 0));
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            L[i][j] = x[i] == y[j] ? L[i + 1][j + 1] + 1 : std::max(L[i + 1][j], L[i][j + 1]);
    std::vector<std::string> out;
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && x[i] == y[j]) {
            out.push_back(" " + x[i]);
            ++i, ++j;
        } else if (j < m && (i == n || L[i][j + 1] >= L[i + 1][j])) {
            out.push_back("+" + y[j++]);
        } else {
            out.push_back("-" + x[i++]);
        }
    }
    // Elide long unchanged runs.
    std::string s;
    for (size_t k = 0; k < out.size();) {
        size_t e = k;
        while (e < out.size() && out[e][0] == ' ') ++e;
        if (e - k > 6) {
            for (size_t q = k; q < k + 3; ++q) s += out[q] + "\n";
            s += "@@ " + std::to_string(e - k - 6) + " unchanged lines @@\n";
            for (size_t q = e - 3; q < e; ++q) s += out[q] + "\n";
        } else {
            for (size_t q = k; q < e; ++q) s += out[q] + "\n";
        }
        if (e < out.size()) s += out[e++] + "\n";
        k = e;
    }
    return s;
}

void Daemon::set_dataplanes(std::vector<DataplaneLink> links) {
    std::lock_guard lock(mu_);
    for (DataplaneLink& n : links)
        for (const DataplaneLink& o : links_)
            if (o.name == n.name && o.ep.describe() == n.ep.describe()) {
                const Endpoint ep = n.ep;  // keep what we know of it (certificates may change)
                n = o;
                n.ep = ep;
            }
    links_ = std::move(links);
    kick();
}

void Daemon::start() {
    sync_ = std::thread([this] { sync_loop(); });
}

void Daemon::stop() {
    stop_.store(true);
    kick();
    if (sync_.joinable()) sync_.join();
    if (follower_.joinable()) follower_.join();
}

void Daemon::follow_keylog(const std::string& path) {
    keylog_ = path;
    follower_ = std::thread([this] { follow_loop(); });
}

void Daemon::follow_loop() {
    // Like tail -F: reopens when the file is replaced or truncated; forwards whole lines.
    std::FILE* f = nullptr;
    ino_t inode = 0;
    std::string pending;
    char buf[4096];
    while (!stop_.load()) {
        struct stat st {};
        if (::stat(keylog_.c_str(), &st) == 0 &&
            (f == nullptr || st.st_ino != inode || st.st_size < std::ftell(f))) {
            if (f != nullptr) std::fclose(f);
            f = std::fopen(keylog_.c_str(), "r");
            inode = st.st_ino;
            pending.clear();
            // Secrets already in the file when we start are old sessions' too: forward them.
        }
        std::string batch;
        while (f != nullptr && std::fgets(buf, sizeof buf, f) != nullptr) {
            pending += buf;
            OPENSSL_cleanse(buf, sizeof buf);
            if (!pending.empty() && pending.back() == '\n') {
                batch += pending;
                OPENSSL_cleanse(pending.data(), pending.size());
                pending.clear();
            }
        }
        if (f != nullptr) std::clearerr(f);
        if (batch.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
        }
        const auto t0 = std::chrono::steady_clock::now();
        std::lock_guard lock(mu_);
        size_t delivered = 0;
        for (const DataplaneLink& l : links_) {
            Client c;
            std::string err;
            if (!c.connect(l.ep, err)) continue;
            Response r = c.request("secrets.push", {{"text", batch}});
            if (r.ok) {
                ++delivered;
                secrets_forwarded_ += r.result.value("secrets", uint64_t{0});
            }
        }
        OPENSSL_cleanse(batch.data(), batch.size());
        if (delivered > 0 && forward_us_.size() < 100000)
            forward_us_.push_back(
                static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - t0)
                                          .count()));
    }
    if (f != nullptr) std::fclose(f);
}

void Daemon::sync_loop() {
    std::unique_lock lock(mu_);
    while (!stop_.load()) {
        for (DataplaneLink& l : links_) sync_one(l);
        kick_.wait_for(lock, std::chrono::milliseconds(500));
    }
}

void Daemon::sync_one(DataplaneLink& l) {
    // Brings one dataplane to the desired state; called with mu_ held (the store and the
    // lists generation stay put meanwhile).
    Client c;
    std::string err;
    auto down = [&](const std::string& why) {
        l.up = false;
        l.last_error = why;
    };
    if (!c.connect(l.ep, err)) return down(err);
    Response st = c.request("status", json::object(), {}, 5000);
    if (!st.ok) return down(st.error);
    const json& ctl = st.result.value("control", json::object());
    const uint64_t started = ctl.value("started_unix", uint64_t{0});
    if (!l.up || started != l.started_unix) {
        // A dataplane we had not seen, or one that restarted: push everything.
        if (l.started_unix != 0) ++l.resyncs;
        l.lists_synced = 0;
        l.started_unix = started;
    }
    l.up = true;
    l.last_error.clear();
    l.rules_sha = st.result["engine"]["rules"].value("sha256", std::string());
    l.policy_sha = st.result["policy"].value("sha256", std::string());
    const json d = store_.desired();
    if (const uint64_t rv = d.value("rules", uint64_t{0}); rv != 0) {
        const auto meta = store_.rules_meta(rv);
        std::string bundle;
        if (meta && (*meta)["sha256"] != l.rules_sha && store_.rules_bundle(rv, bundle)) {
            Response r = c.request(
                "rules.apply", {{"message", meta->value("message", std::string())}}, bundle, 60000);
            if (!r.ok) return down("rules v" + std::to_string(rv) + ": " + r.error);
            l.rules_sha = r.result.value("sha256", std::string());
            l.note = r.result.contains("recompiled")
                         ? "recompiled locally: " + r.result["recompiled"].get<std::string>()
                         : "";
            ++l.pushes;
        }
    }
    if (const uint64_t pv = d.value("policy", uint64_t{0}); pv != 0) {
        std::string text;
        if (store_.policy_text(pv, text) && sha256_hex(text) != l.policy_sha) {
            Response r =
                c.request("policy.apply",
                          {{"text", text}, {"name", "sluiced policy v" + std::to_string(pv)}});
            if (!r.ok) return down("policy v" + std::to_string(pv) + ": " + r.error);
            l.policy_sha = r.result.value("sha256", std::string());
            ++l.pushes;
        }
    }
    if (l.lists_synced != lists_gen_) {
        Response r = c.request("lists.replace", {{"entries", store_.lists()["entries"]}});
        if (!r.ok && r.code != "unavailable") return down("lists: " + r.error);
        l.lists_synced = lists_gen_;
        ++l.pushes;
    }
}

Frame Daemon::handle(const Frame& req, uint32_t uid) {
    const json r = json::parse(req.json, nullptr, false);
    uint64_t id = 0;
    Frame out;
    std::string cmd;
    try {
        if (r.is_discarded() || !r.is_object() || !r.contains("cmd") || !r["cmd"].is_string())
            throw Refused{"bad_request", "a request is a JSON object with 'cmd'"};
        id = r.value("id", uint64_t{0});
        cmd = r["cmd"].get<std::string>();
        const json args = r.value("args", json::object());
        json result = json::object();
        std::unique_lock lock(mu_);
        json d = store_.desired();
        std::string err;
        auto audit = [&](const json& what) {
            json a = {{"time", now_unix()}, {"uid", uid}, {"cmd", cmd}};
            a.update(what);
            store_.audit(a);
            ++changes_;
        };
        auto commit_desired = [&] {
            if (!store_.set_desired(d, err)) throw Refused{"storage", err};
            kick();
        };
        if (cmd == "status" || cmd == "dataplanes.list") {
            json fleet = json::array();
            for (const DataplaneLink& l : links_) {
                json x = {{"name", l.name},
                          {"endpoint", l.ep.describe()},
                          {"up", l.up},
                          {"rules_sha256", l.rules_sha},
                          {"policy_sha256", l.policy_sha},
                          {"resyncs", l.resyncs},
                          {"pushes", l.pushes}};
                if (!l.last_error.empty()) x["error"] = l.last_error;
                if (!l.note.empty()) x["note"] = l.note;
                x["in_sync"] = l.up && l.lists_synced == lists_gen_;
                if (const uint64_t rv = d.value("rules", uint64_t{0}); rv != 0)
                    if (auto m = store_.rules_meta(rv))
                        x["in_sync"] = x["in_sync"].get<bool>() && (*m)["sha256"] == l.rules_sha;
                fleet.push_back(x);
            }
            json secrets = {{"forwarded", secrets_forwarded_}};
            if (!keylog_.empty()) secrets["keylog"] = keylog_;
            if (!forward_us_.empty()) {
                std::vector<uint64_t> v = forward_us_;
                std::sort(v.begin(), v.end());
                secrets["forward_us"] = {
                    {"batches", v.size()}, {"p50", v[v.size() / 2]}, {"max", v.back()}};
            }
            result = {{"control", {{"protocol", kVersion}, {"role", "daemon"}}},
                      {"secrets", secrets},
                      {"state_dir", store_.dir()},
                      {"desired", d},
                      {"lists", {{"entries", store_.lists()["entries"].size()}}},
                      {"dataplanes", fleet}};
        } else if (cmd == "rules.validate" || cmd == "rules.push") {
            // A bundle from sluicectl carries its sources and datasets: rebuilt and checked
            // here; plain sources are compiled here.
            std::shared_ptr<const rules::CompiledRules> compiled;
            std::vector<RuleFile> files;
            if (!req.blob.empty()) {
                auto loaded = rules::read_bundle(
                    {reinterpret_cast<const uint8_t*>(req.blob.data()), req.blob.size()});
                std::string errs;
                for (const auto& e : loaded.compiled.errors) errs += e.format() + "\n";
                if (!loaded.compiled.rules)
                    throw Refused{"invalid", errs.empty() ? "the bundle does not load" : errs};
                compiled = loaded.compiled.rules;
                for (const auto& src : compiled->set().sources)
                    files.push_back({src.name, src.text});
            } else {
                files = files_arg(args);
                compiled = compile(files);
            }
            const std::string sha = compiled->set().digest;
            result = {{"rules", compiled->set().rules.size()}, {"sha256", sha}};
            if (cmd == "rules.push") {
                const auto bundle = rules::write_bundle(*compiled);  // this host's databases
                json meta = {{"sha256", sha},
                             {"rules", compiled->set().rules.size()},
                             {"author_uid", uid},
                             {"time", now_unix()},
                             {"message", args.value("message", std::string())}};
                const uint64_t v = store_.add_rules(
                    files, {reinterpret_cast<const char*>(bundle.data()), bundle.size()}, meta,
                    err);
                if (v == 0) throw Refused{"storage", err};
                d["rules"] = v;
                commit_desired();
                audit({{"version", v}, {"sha256", sha}, {"message", meta["message"]}});
                result["version"] = v;
            }
        } else if (cmd == "rules.list") {
            json rows = json::array();
            for (json m : store_.list_rules()) {
                m["in_force"] = m["version"] == d.value("rules", uint64_t{0});
                rows.push_back(m);
            }
            result["versions"] = rows;
        } else if (cmd == "rules.diff") {
            const uint64_t a = args.value("from", uint64_t{0}), b = args.value("to", uint64_t{0});
            std::vector<RuleFile> fa, fb;
            if (!store_.rules_sources(a, fa) || !store_.rules_sources(b, fb))
                throw Refused{"not_found", "no such rule-set version"};
            std::string text;
            auto join = [](const std::vector<RuleFile>& fs) {
                std::string s;
                for (const RuleFile& f : fs)
                    s += "### " + f.name + "\n" + f.text + (f.text.ends_with("\n") ? "" : "\n");
                return s;
            };
            result = {{"from", a}, {"to", b}, {"diff", line_diff(join(fa), join(fb))}};
        } else if (cmd == "rules.rollback" || cmd == "policy.rollback") {
            const bool is_rules = cmd == "rules.rollback";
            const char* key = is_rules ? "rules" : "policy";
            const uint64_t cur = d.value(key, uint64_t{0});
            uint64_t to = args.value("version", uint64_t{0});
            const auto versions = is_rules ? store_.list_rules() : store_.list_policies();
            if (to == 0) {  // the version before the one in force
                for (const json& m : versions)
                    if (m["version"].get<uint64_t>() < cur) to = m["version"].get<uint64_t>();
                if (to == 0)
                    throw Refused{"not_found", std::string("no earlier ") + key + " version"};
            }
            if (std::none_of(versions.begin(), versions.end(),
                             [&](const json& m) { return m["version"].get<uint64_t>() == to; }))
                throw Refused{"not_found", "no such version " + std::to_string(to)};
            d[key] = to;
            commit_desired();
            audit({{"from", cur}, {"to", to}});
            result = {{"version", to}, {"previous", cur}};
        } else if (cmd == "policy.validate" || cmd == "policy.push") {
            if (!args.contains("text") || !args["text"].is_string())
                throw Refused{"bad_request", "missing string argument 'text'"};
            const std::string text = args["text"],
                              name = args.value("name", std::string("policy.yaml"));
            auto p = account::Policy::parse(text, name, err);
            if (!p) throw Refused{"invalid", err};
            result = {{"rules", p->rules().size()},
                      {"window_s", p->window_s()},
                      {"sha256", sha256_hex(text)}};
            if (cmd == "policy.push") {
                const uint64_t v = store_.add_policy(text,
                                                     {{"sha256", sha256_hex(text)},
                                                      {"source", name},
                                                      {"author_uid", uid},
                                                      {"time", now_unix()}},
                                                     err);
                if (v == 0) throw Refused{"storage", err};
                d["policy"] = v;
                commit_desired();
                audit({{"version", v}, {"sha256", sha256_hex(text)}, {"source", name}});
                result["version"] = v;
            }
        } else if (cmd == "policy.list") {
            result["versions"] = store_.list_policies();
        } else if (cmd == "lists.add" || cmd == "lists.del" || cmd == "lists.show") {
            const std::string list = args.value("list", std::string());
            if (list != "block" && list != "allow")
                throw Refused{"bad_request", "list is block or allow"};
            json l = store_.lists();
            json& entries = l["entries"];
            const uint64_t now = now_unix();
            // Expired entries leave the durable state too.
            json live = json::array();
            for (const json& e : entries)
                if (e.value("expires_unix", uint64_t{0}) == 0 ||
                    e["expires_unix"].get<uint64_t>() > now)
                    live.push_back(e);
            entries = live;
            if (cmd == "lists.show") {
                json rows = json::array();
                for (const json& e : entries)
                    if (e["list"] == list) {
                        json row = e;
                        if (e.value("expires_unix", uint64_t{0}) != 0)
                            row["expires_in_s"] = e["expires_unix"].get<uint64_t>() - now;
                        rows.push_back(row);
                    }
                result["entries"] = rows;
            } else {
                const auto kind = list_kind_from_name(args.value("kind", std::string()));
                if (!kind) throw Refused{"bad_request", "kind is ip, account or ja4"};
                // The dataplane's own validation and normalisation.
                OperatorLists check;
                const std::string value = args.value("value", std::string());
                if (!check.add(list == "allow", *kind, value, 0, "", 1, err))
                    throw Refused{"invalid", err};
                const std::string normal = check.entries(1)[0].value;
                const size_t before = entries.size();
                json kept = json::array();
                for (const json& e : entries)
                    if (!(e["list"] == list && e["kind"] == args["kind"] && e["value"] == normal))
                        kept.push_back(e);
                if (cmd == "lists.del" && kept.size() == before)
                    throw Refused{"not_found", "no " + list + "list entry " +
                                                   args["kind"].get<std::string>() + " " + value};
                if (cmd == "lists.add") {
                    const uint64_t ttl = args.value("ttl_s", uint64_t{0});
                    kept.push_back({{"list", list},
                                    {"kind", args["kind"]},
                                    {"value", normal},
                                    {"reason", args.value("reason", std::string())},
                                    {"added_unix", now},
                                    {"expires_unix", ttl ? now + ttl : 0}});
                }
                entries = kept;
                ++lists_gen_;
                audit({{"list", list},
                       {"kind", args["kind"]},
                       {"value", normal},
                       {"reason", args.value("reason", std::string())}});
                kick();
            }
            if (!store_.set_lists(l, err)) throw Refused{"storage", err};
        } else if (cmd == "secrets.push" || cmd == "accounts.top" || cmd == "accounts.show" ||
                   cmd == "clusters.list" || cmd == "stats") {
            // Forwarded: secrets to every dataplane (memory only), queries to the first up (or
            // the one named in args.dataplane).
            const std::string only = args.value("dataplane", std::string());
            json per = json::object();
            bool any = false;
            for (const DataplaneLink& l : links_) {
                if (!only.empty() && l.name != only) continue;
                Client c;
                if (!c.connect(l.ep, err)) {
                    per[l.name] = {{"error", err}};
                    continue;
                }
                Response rr = c.request(cmd, args);
                if (!rr.ok) {
                    per[l.name] = {{"error", rr.error}};
                    if (cmd != "secrets.push") throw Refused{rr.code, l.name + ": " + rr.error};
                    continue;
                }
                any = true;
                if (cmd != "secrets.push") {
                    result = rr.result;
                    result["dataplane"] = l.name;
                    break;
                }
                per[l.name] = rr.result;
            }
            if (!any) throw Refused{"unavailable", "no dataplane reachable"};
            if (cmd == "secrets.push") result = {{"dataplanes", per}};
        } else {
            throw Refused{"unknown_command", "unknown command '" + cmd + "'"};
        }
        out.json = json{{"id", id}, {"ok", true}, {"result", result}}.dump();
    } catch (const Refused& e) {
        out.json = error_json(id, e.code, e.message);
    } catch (const json::exception& e) {
        out.json = error_json(id, "bad_request", e.what());
    }
    return out;
}

std::string Daemon::metrics_text() {
    std::lock_guard lock(mu_);
    const json d = store_.desired();
    size_t up = 0;
    for (const DataplaneLink& l : links_) up += l.up;
    std::ostringstream s;
    s << "# HELP sluiced_dataplanes Dataplanes managed, by state\n# TYPE sluiced_dataplanes gauge\n"
      << "sluiced_dataplanes{state=\"up\"} " << up << "\nsluiced_dataplanes{state=\"down\"} "
      << links_.size() - up << "\n"
      << "# HELP sluiced_rules_version Rule-set version in force\n# TYPE sluiced_rules_version "
         "gauge\n"
      << "sluiced_rules_version " << d.value("rules", uint64_t{0}) << "\n"
      << "# HELP sluiced_policy_version Policy version in force\n# TYPE sluiced_policy_version "
         "gauge\n"
      << "sluiced_policy_version " << d.value("policy", uint64_t{0}) << "\n"
      << "# HELP sluiced_changes_total Changes accepted (audited)\n# TYPE sluiced_changes_total "
         "counter\n"
      << "sluiced_changes_total " << changes_ << "\n";
    uint64_t pushes = 0, resyncs = 0;
    for (const DataplaneLink& l : links_) pushes += l.pushes, resyncs += l.resyncs;
    s << "# HELP sluiced_pushes_total Pushes to dataplanes\n# TYPE sluiced_pushes_total counter\n"
      << "sluiced_pushes_total " << pushes << "\n"
      << "# HELP sluiced_resyncs_total Full resyncs after a dataplane restart\n# TYPE "
         "sluiced_resyncs_total counter\n"
      << "sluiced_resyncs_total " << resyncs << "\n";
    return s.str();
}

}  // namespace sluice::control
