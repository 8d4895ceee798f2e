#include "control/sluiced/daemon.h"

#include <nlohmann/json.hpp>

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <system_error>

#include "account/policy.h"
#include "common/digest.h"
#include "control/protocol/args.h"
#include "control/protocol/client.h"
#include "control/protocol/server.h"
#include "control/protocol/wipe.h"
#include "rules/bundle.h"
#include "rules/rule_set.h"
#include "verdict/operator_lists.h"

namespace sluice::control {

using nlohmann::json;

namespace {

// TTLs beyond ten years are a typo (or an attack on the arithmetic), not a plan.
constexpr uint64_t kMaxTtlSeconds = 10ull * 366 * 86400;

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

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string l;
    while (std::getline(in, l)) out.push_back(l);
    return out;
}

// A set with skipped rules is taken only when the request says so (--allow-skipped): by
// default one bad rule rejects the push and the version in force stays.
void refuse_skipped(const rules::RuleSet& set, bool allow_skipped) {
    if (set.skipped.empty() || allow_skipped) return;
    throw Refused{"invalid", rules::skip_report(set.skipped) +
                                 "the set has rules it cannot load; nothing changed "
                                 "(allow_skipped / sluicectl --allow-skipped takes the rest)"};
}

// Compiles rule sources; throws Refused with every error as file:line:col.
std::shared_ptr<const rules::CompiledRules> compile(const std::vector<RuleFile>& files,
                                                    const std::vector<std::string>& dataset_dirs,
                                                    bool allow_skipped) {
    std::vector<rules::RuleSource> src;
    for (const RuleFile& f : files) src.push_back({f.name, f.text});
    // Pushed rules may read datasets only beneath the configured directories.
    rules::RuleSetOptions opts;
    opts.confine_datasets = true;
    opts.dataset_dirs = dataset_dirs;
    opts.skip_invalid = allow_skipped;
    auto rs = rules::build_rule_set(src, opts);
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
    for (const json& f : args["files"]) {
        if (!f.is_object()) throw Refused{"bad_request", "files[] holds {name, text} objects"};
        out.push_back({opt_str_arg(f, "name", "rules"), str_arg(f, "text")});
    }
    return out;
}

// One request to every dataplane at once (a thread each), answers in the links' order: the
// slowest costs its own timeout, not the sum.
std::vector<Response> broadcast(const std::vector<DataplaneLink>& links, const std::string& cmd,
                                const json& args, std::string_view blob, const FleetTimeouts& to) {
    std::vector<Response> out(links.size());
    std::vector<std::thread> senders;
    for (size_t i = 0; i < links.size(); ++i) {
        try {
            senders.emplace_back([&, i] {
                Client c;
                if (!c.connect(links[i].ep, out[i].error, to.connect_ms)) {
                    out[i].code = "unreachable";
                    return;
                }
                out[i] = c.request(cmd, args, blob, to.query_ms);
            });
        } catch (const std::system_error& e) {
            out[i].code = "busy";
            out[i].error = e.what();
        }
    }
    for (auto& t : senders) t.join();
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

FleetView Daemon::fleet_view() {
    std::lock_guard lock(mu_);
    FleetView v;
    v.links = links_;
    v.desired = store_.desired();
    for (const DataplaneLink& l : links_) v.in_sync.push_back(in_sync(l, v.desired));
    if (const uint64_t rv = v.desired.value("rules", uint64_t{0}); rv != 0)
        if (auto m = store_.rules_meta(rv)) v.rules_meta = std::move(*m);
    if (const uint64_t pv = v.desired.value("policy", uint64_t{0}); pv != 0)
        if (auto m = store_.policy_meta(pv)) v.policy_meta = std::move(*m);
    v.lists = store_.lists();
    return v;
}

std::vector<DataplaneLink> Daemon::links_copy() {
    std::lock_guard lock(mu_);
    return links_;
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
            if (f != nullptr) std::setvbuf(f, nullptr, _IONBF, 0);  // no stdio copy of secrets
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
                wipe(pending);
            }
        }
        if (f != nullptr) std::clearerr(f);
        if (batch.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
        }
        // To every dataplane at once, outside the lock: a hung one costs its own timeout only.
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<DataplaneLink> links = links_copy();
        const std::vector<Response> answers =
            broadcast(links, "secrets.push", json::object(), batch, timeouts);
        wipe(batch);
        std::lock_guard lock(mu_);
        bool any = false;
        for (const Response& r : answers) {
            any |= r.ok;
            if (r.ok) secrets_forwarded_ += r.result.value("secrets", uint64_t{0});
        }
        if (any && forward_us_.size() < 100000)
            forward_us_.push_back(
                static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - t0)
                                          .count()));
    }
    if (f != nullptr) std::fclose(f);
}

void Daemon::sync_loop() {
    struct Running {
        std::thread thread;
        std::atomic<bool> done{false};
    };
    std::map<std::string, std::unique_ptr<Running>> running;
    while (!stop_.load()) {
        for (auto it = running.begin(); it != running.end();) {
            if (it->second->done.load()) {
                it->second->thread.join();
                it = running.erase(it);
            } else {
                ++it;
            }
        }
        for (const DataplaneLink& l : links_copy()) {
            if (running.contains(l.name)) continue;  // still busy with this one (maybe hung)
            auto r = std::make_unique<Running>();
            Running* raw = r.get();
            try {
                r->thread = std::thread([this, raw, name = l.name] {
                    sync_one(name);
                    raw->done.store(true);
                });
            } catch (const std::system_error&) {
                continue;  // no thread now: the next round tries again
            }
            running.emplace(l.name, std::move(r));
        }
        std::unique_lock lock(mu_);
        kick_.wait_for(lock, std::chrono::milliseconds(500));
    }
    for (auto& [name, r] : running) r->thread.join();  // bounded by the fleet timeouts
}

void Daemon::sync_one(const std::string& name) {
    // Brings one dataplane to the desired state. The lock is taken to read what to push and to
    // record the outcome, never while talking to the dataplane.
    DataplaneLink l;
    {
        std::lock_guard lock(mu_);
        auto it = std::find_if(links_.begin(), links_.end(),
                               [&](const DataplaneLink& x) { return x.name == name; });
        if (it == links_.end()) return;
        l = *it;
    }
    auto record = [&] {
        std::lock_guard lock(mu_);
        for (DataplaneLink& x : links_)
            if (x.name == l.name && x.ep.describe() == l.ep.describe()) {
                const Endpoint ep = x.ep;
                x = l;
                x.ep = ep;
            }
    };
    auto down = [&](const std::string& why) {
        l.up = false;
        l.last_error = why;
        record();
    };
    Client c;
    std::string err;
    if (!c.connect(l.ep, err, timeouts.connect_ms)) return down(err);
    Response st = c.request("status", json::object(), {}, timeouts.status_ms);
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
    l.rules_sha = st.result.value("engine", json::object())
                      .value("rules", json::object())
                      .value("sha256", std::string());
    l.policy_sha = st.result.value("policy", json::object()).value("sha256", std::string());
    // What to push, read under the lock.
    uint64_t rv = 0, pv = 0, gen = 0, generation = 0;
    std::string bundle, policy, rules_message;
    json entries;
    {
        std::lock_guard lock(mu_);
        const json d = store_.desired();
        rv = d.value("rules", uint64_t{0});
        pv = d.value("policy", uint64_t{0});
        generation = d.value("generation", uint64_t{0});
        if (rv != 0) {
            const auto meta = store_.rules_meta(rv);
            if (!(meta && (*meta)["sha256"] != l.rules_sha && store_.rules_bundle(rv, bundle)))
                bundle.clear();
            else
                rules_message = meta->value("message", std::string());
        }
        if (pv != 0 && !(store_.policy_text(pv, policy) && sha256_hex(policy) != l.policy_sha))
            policy.clear();
        gen = lists_gen_;
        if (l.lists_synced != gen) entries = store_.lists()["entries"];
    }
    if (!bundle.empty()) {
        if (signing_key) {
            // Signed per push with the desired state's generation: a rollback to an older
            // version is still newer than what it replaces.
            const auto env = signing_key->sign(
                {reinterpret_cast<const uint8_t*>(bundle.data()), bundle.size()}, rv, generation);
            if (env.empty()) return down("signing the bundle failed");
            bundle.assign(reinterpret_cast<const char*>(env.data()), env.size());
        }
        crash_point("while_pushing");
        Response r =
            // Skipped rules (if any) were accepted when the version was pushed.
            c.request("rules.apply", {{"message", rules_message}, {"allow_skipped", true}}, bundle,
                      timeouts.push_ms);
        if (!r.ok) return down("rules v" + std::to_string(rv) + ": " + r.error);
        l.rules_sha = r.result.value("sha256", std::string());
        l.note = r.result.contains("recompiled")
                     ? "recompiled locally: " + r.result.value("recompiled", std::string())
                     : "";
        ++l.pushes;
    }
    if (!policy.empty()) {
        Response r = c.request(
            "policy.apply", {{"text", policy}, {"name", "sluiced policy v" + std::to_string(pv)}},
            {}, timeouts.query_ms);
        if (!r.ok) return down("policy v" + std::to_string(pv) + ": " + r.error);
        l.policy_sha = r.result.value("sha256", std::string());
        ++l.pushes;
    }
    if (l.lists_synced != gen) {
        Response r = c.request("lists.replace", {{"entries", entries}}, {}, timeouts.query_ms);
        if (!r.ok && r.code != "unavailable") return down("lists: " + r.error);
        l.lists_synced = gen;
        ++l.pushes;
    }
    record();
}

void Daemon::audit_refusal(const Refusal& r) {
    std::lock_guard lock(mu_);
    ++refusals_;
    std::string err;
    // Best effort: a refusal changes nothing, so a failed audit write cannot undo anything.
    store_.audit({{"time", now_unix()},
                  {"principal", r.principal},
                  {"role", r.role},
                  {"cmd", r.cmd},
                  {"outcome", "refused"},
                  {"code", r.code},
                  {"error", r.message}},
                 err);
}

Frame Daemon::handle(Request& req) {
    const uint64_t id = req.id;
    const std::string& cmd = req.cmd;
    const json& args = req.args;
    const std::string principal = req.peer.principal();
    Frame out;
    try {
        json result = json::object();
        std::string err;
        // Records the change first: a change that cannot be audited is not made.
        auto audit = [&](const json& what) {
            json a = {{"time", now_unix()},
                      {"principal", principal},
                      {"role", role_name(req.role)},
                      {"cmd", cmd},
                      {"outcome", "accepted"}};
            a.update(what);
            crash_point("before_audit");
            if (!store_.audit(a, err))
                throw Refused{"storage", "the change was not made: the audit log failed: " + err};
            ++changes_;
        };
        auto commit_desired = [&](json d) {
            // Every change of what is in force gets a new generation (signed bundles carry
            // it; dataplanes refuse older ones).
            d["generation"] = d.value("generation", uint64_t{0}) + 1;
            if (!store_.set_desired(d, err)) throw Refused{"storage", err};
            kick();
        };
        if (cmd == "status" || cmd == "dataplanes.list") {
            std::lock_guard lock(mu_);
            const json d = store_.desired();
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
                x["in_sync"] = in_sync(l, d);
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
            result = {{"control",
                       {{"protocol", kVersion},
                        {"role", "daemon"},
                        {"caller_role", role_name(req.role)},
                        {"principal", principal},
                        {"refused", refusals_},
                        {"signing_key", signing_key ? signing_key->key_id() : std::string()}}},
                      {"secrets", secrets},
                      {"state_dir", store_.dir()},
                      {"desired", d},
                      {"lists", {{"entries", store_.lists()["entries"].size()}}},
                      {"dataplanes", fleet}};
        } else if (cmd == "rules.validate" || cmd == "rules.push") {
            // A bundle from sluicectl carries its sources and datasets: rebuilt and checked
            // here; plain sources are compiled here. Compiling takes no lock.
            std::shared_ptr<const rules::CompiledRules> compiled;
            std::vector<RuleFile> files;
            const bool allow_skipped = opt_bool_arg(args, "allow_skipped");
            if (!req.blob.empty()) {
                // The client's databases are never used: sluiced compiles its own from the
                // bundle's sources (and signs what it ships).
                auto loaded = rules::read_bundle(
                    {reinterpret_cast<const uint8_t*>(req.blob.data()), req.blob.size()},
                    rules::DatabaseTrust::Rebuild);
                std::string errs;
                for (const auto& e : loaded.compiled.errors) errs += e.format() + "\n";
                if (!loaded.compiled.rules)
                    throw Refused{"invalid", errs.empty() ? "the bundle does not load" : errs};
                compiled = loaded.compiled.rules;
                for (const auto& src : compiled->set().sources)
                    files.push_back({src.name, src.text});
            } else {
                files = files_arg(args);
                compiled = compile(files, dataset_dirs, allow_skipped);
            }
            refuse_skipped(compiled->set(), allow_skipped);
            const std::string sha = compiled->set().digest;
            result = {{"rules", compiled->set().rules.size()},
                      {"skipped", compiled->set().skipped.size()},
                      {"sha256", sha}};
            if (cmd == "rules.push") {
                const std::string message = opt_str_arg(args, "message");
                const auto bundle = rules::write_bundle(*compiled);  // this host's databases
                json meta = {{"sha256", sha},
                             {"rules", compiled->set().rules.size()},
                             {"skipped", compiled->set().skipped.size()},
                             {"author", principal},
                             {"time", now_unix()},
                             {"message", message}};
                std::lock_guard lock(mu_);
                json d = store_.desired();
                const uint64_t v = store_.add_rules(
                    files, {reinterpret_cast<const char*>(bundle.data()), bundle.size()}, meta,
                    err);
                if (v == 0) throw Refused{"storage", err};
                audit({{"version", v}, {"sha256", sha}, {"message", message}});
                d["rules"] = v;
                commit_desired(d);
                result["version"] = v;
            }
        } else if (cmd == "rules.list") {
            std::lock_guard lock(mu_);
            const uint64_t in_force = store_.desired().value("rules", uint64_t{0});
            json rows = json::array();
            for (json m : store_.list_rules()) {
                m["in_force"] = m["version"] == in_force;
                rows.push_back(m);
            }
            result["versions"] = rows;
        } else if (cmd == "rules.diff") {
            const uint64_t a = uint_arg(args, "from", 0, 0, UINT32_MAX),
                           b = uint_arg(args, "to", 0, 0, UINT32_MAX);
            std::vector<RuleFile> fa, fb;
            {
                std::lock_guard lock(mu_);
                if (!store_.rules_sources(a, fa) || !store_.rules_sources(b, fb))
                    throw Refused{"not_found", "no such rule-set version"};
            }
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
            std::lock_guard lock(mu_);
            json d = store_.desired();
            const uint64_t cur = d.value(key, uint64_t{0});
            uint64_t to = uint_arg(args, "version", 0, 0, UINT32_MAX);
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
            audit({{"from", cur}, {"to", to}});
            d[key] = to;
            commit_desired(d);
            result = {{"version", to}, {"previous", cur}};
        } else if (cmd == "policy.validate" || cmd == "policy.push") {
            const std::string& text = str_arg(args, "text");
            const std::string name = opt_str_arg(args, "name", "policy.yaml");
            auto p = account::Policy::parse(text, name, err);
            if (!p) throw Refused{"invalid", err};
            result = {{"rules", p->rules().size()},
                      {"window_s", p->window_s()},
                      {"sha256", sha256_hex(text)}};
            if (cmd == "policy.push") {
                std::lock_guard lock(mu_);
                json d = store_.desired();
                const uint64_t v = store_.add_policy(text,
                                                     {{"sha256", sha256_hex(text)},
                                                      {"source", name},
                                                      {"author", principal},
                                                      {"time", now_unix()}},
                                                     err);
                if (v == 0) throw Refused{"storage", err};
                audit({{"version", v}, {"sha256", sha256_hex(text)}, {"source", name}});
                d["policy"] = v;
                commit_desired(d);
                result["version"] = v;
            }
        } else if (cmd == "policy.list") {
            std::lock_guard lock(mu_);
            result["versions"] = store_.list_policies();
        } else if (cmd == "lists.add" || cmd == "lists.del" || cmd == "lists.show") {
            const std::string& list = str_arg(args, "list");
            if (list != "block" && list != "allow")
                throw Refused{"bad_request", "list is block or allow"};
            std::lock_guard lock(mu_);
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
                const std::string& kind_name = str_arg(args, "kind");
                const auto kind = list_kind_from_name(kind_name);
                if (!kind) throw Refused{"bad_request", "kind is ip, account or ja4"};
                const std::string& value = str_arg(args, "value");
                const std::string reason = opt_str_arg(args, "reason");
                const uint64_t ttl = uint_arg(args, "ttl_s", 0, 0, kMaxTtlSeconds);
                // The dataplane's own validation and normalisation.
                OperatorLists check;
                if (!check.add(list == "allow", *kind, value, 0, "", 1, err))
                    throw Refused{"invalid", err};
                const std::string normal = check.entries(1)[0].value;
                const size_t before = entries.size();
                json kept = json::array();
                for (const json& e : entries)
                    if (!(e["list"] == list && e["kind"] == kind_name && e["value"] == normal))
                        kept.push_back(e);
                if (cmd == "lists.del" && kept.size() == before)
                    throw Refused{"not_found",
                                  "no " + list + "list entry " + kind_name + " " + value};
                if (cmd == "lists.add")
                    kept.push_back({{"list", list},
                                    {"kind", kind_name},
                                    {"value", normal},
                                    {"reason", reason},
                                    {"added_unix", now},
                                    {"expires_unix", ttl ? now + ttl : 0}});
                entries = kept;
                audit({{"list", list},
                       {"kind", kind_name},
                       {"value", normal},
                       {"ttl_s", ttl},
                       {"reason", reason}});
            }
            if (!store_.set_lists(l, err)) throw Refused{"storage", err};
            if (cmd != "lists.show") {
                ++lists_gen_;
                kick();
            }
        } else if (cmd == "secrets.push" || cmd == "accounts.top" || cmd == "accounts.show" ||
                   cmd == "clusters.list" || cmd == "stats") {
            // Forwarded (authorized here: the caller's role was checked for `cmd`): secrets
            // to every dataplane (memory only), queries to the first up (or the one named in
            // args.dataplane). No lock is held while the dataplanes answer.
            const std::string only = opt_str_arg(args, "dataplane");
            std::vector<DataplaneLink> links = links_copy();
            std::erase_if(links,
                          [&](const DataplaneLink& x) { return !only.empty() && x.name != only; });
            if (cmd == "secrets.push") {
                // The key log travels as the blob (older clients: args.text), never kept.
                const std::vector<Response> answers =
                    req.blob.empty() ? broadcast(links, cmd, args, {}, timeouts)
                                     : broadcast(links, cmd, json::object(), req.blob, timeouts);
                json per = json::object();
                bool any = false;
                for (size_t i = 0; i < links.size(); ++i) {
                    any |= answers[i].ok;
                    per[links[i].name] =
                        answers[i].ok ? answers[i].result : json{{"error", answers[i].error}};
                }
                if (!any) throw Refused{"unavailable", "no dataplane reachable"};
                result = {{"dataplanes", per}};
            } else {
                // Dataplanes last seen up first: a down or hung one is asked only if no other
                // answers.
                std::stable_partition(links.begin(), links.end(),
                                      [](const DataplaneLink& x) { return x.up; });
                bool any = false;
                for (const DataplaneLink& l : links) {
                    Client c;
                    if (!c.connect(l.ep, err, timeouts.connect_ms)) continue;
                    Response rr = c.request(cmd, args, {}, timeouts.query_ms);
                    if (!rr.ok) {
                        if (rr.code != "unreachable" && rr.code != "timeout")
                            throw Refused{rr.code, l.name + ": " + rr.error};
                        continue;
                    }
                    result = rr.result;
                    result["dataplane"] = l.name;
                    any = true;
                    break;
                }
                if (!any) throw Refused{"unavailable", "no dataplane reachable"};
            }
        } else {
            throw Refused{"unknown_command", "unknown command '" + cmd + "'"};
        }
        out.json = ok_json(id, result);
    } catch (const Refused& e) {
        out.json = error_json(id, e.code, e.message);
    } catch (const json::exception& e) {
        out.json = error_json(id, "bad_request", e.what());
    }
    return out;
}

bool Daemon::in_sync(const DataplaneLink& l, const json& desired) const {
    if (!l.up || l.lists_synced != lists_gen_) return false;
    if (const uint64_t rv = desired.value("rules", uint64_t{0}); rv != 0)
        if (auto m = store_.rules_meta(rv)) return (*m)["sha256"] == l.rules_sha;
    return true;
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
      << "sluiced_changes_total " << changes_ << "\n"
      << "# HELP sluiced_refusals_total Control requests refused (forbidden, busy, too_large, "
         "timeout)\n# TYPE sluiced_refusals_total counter\n"
      << "sluiced_refusals_total " << refusals_ << "\n";
    uint64_t pushes = 0, resyncs = 0;
    for (const DataplaneLink& l : links_) pushes += l.pushes, resyncs += l.resyncs;
    s << "# HELP sluiced_pushes_total Pushes to dataplanes\n# TYPE sluiced_pushes_total counter\n"
      << "sluiced_pushes_total " << pushes << "\n"
      << "# HELP sluiced_resyncs_total Full resyncs after a dataplane restart\n# TYPE "
         "sluiced_resyncs_total counter\n"
      << "sluiced_resyncs_total " << resyncs << "\n";
    // Per dataplane, for alerting on one that is down or lags the desired state.
    s << "# HELP sluiced_dataplane_up Whether sluiced reaches the dataplane\n# TYPE "
         "sluiced_dataplane_up gauge\n";
    for (const DataplaneLink& l : links_)
        s << "sluiced_dataplane_up{dataplane=\"" << l.name << "\"} " << (l.up ? 1 : 0) << "\n";
    s << "# HELP sluiced_dataplane_in_sync Whether the dataplane runs the desired rules, policy "
         "and lists\n# TYPE sluiced_dataplane_in_sync gauge\n";
    for (const DataplaneLink& l : links_)
        s << "sluiced_dataplane_in_sync{dataplane=\"" << l.name << "\"} " << (in_sync(l, d) ? 1 : 0)
          << "\n";
    return s.str();
}

}  // namespace sluice::control
