#include "runtime/control_service.h"

#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <sstream>

#include "common/digest.h"
#include "rules/bundle.h"
#include "runtime/dataplane.h"

namespace sluice {

namespace {
using nlohmann::json;

uint64_t wall_now() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

struct BadRequest {
    std::string code, message;
};

std::string str_arg(const json& args, const char* name) {
    if (!args.contains(name) || !args[name].is_string())
        throw BadRequest{"bad_request", std::string("missing string argument '") + name + "'"};
    return args[name].get<std::string>();
}
}  // namespace

bool ControlService::start(const std::string& path, std::string& error) {
    return server_.start(
        path, [this](const control::Frame& f, uint32_t) { return handle(f); }, error);
}

bool ControlService::start_tls(const std::string& listen, const control::TlsFiles& files,
                               std::string& error) {
    return tls_.start(
        listen, files, [this](const control::Frame& f, uint32_t) { return handle(f); }, error);
}

control::Frame ControlService::handle(const control::Frame& req) {
    const json r = json::parse(req.json, nullptr, false);
    uint64_t id = 0;
    control::Frame out;
    try {
        if (r.is_discarded() || !r.is_object() || !r.contains("cmd") || !r["cmd"].is_string())
            throw BadRequest{"bad_request", "a request is a JSON object with 'cmd'"};
        id = r.value("id", uint64_t{0});
        const std::string cmd = r["cmd"];
        const json args = r.value("args", json::object());
        json result = json::object();
        Dataplane& dp = dp_;
        if (cmd == "status") {
            result = dp.summary();
            result["control"] = {{"protocol", control::kVersion},
                                 {"role", "dataplane"},
                                 {"started_unix", dp.started_unix_}};
            result["policy"] = {{"sha256", dp.policy_digest_},
                                {"source", dp.policy_source_},
                                {"applied", dp.policy_applied_}};
            const auto entries = dp.lists_.entries(wall_now());
            size_t block = 0, allow = 0;
            for (const auto& e : entries) (e.allow ? allow : block) += 1;
            result["lists"] = {{"block", block}, {"allow", allow}};
        } else if (cmd == "lists.replace") {
            // The whole desired state at once (sluiced after a restart of either side).
            if (!dp.correlator_)
                throw BadRequest{"unavailable", "account correlation is off (--no-accounts)"};
            if (!args.contains("entries") || !args["entries"].is_array())
                throw BadRequest{"bad_request", "lists.replace takes entries[]"};
            std::vector<ListEntry> wanted;
            for (const json& x : args["entries"]) {
                ListEntry e;
                e.allow = x.value("list", std::string("block")) == "allow";
                const auto k = list_kind_from_name(x.value("kind", std::string()));
                if (!k) throw BadRequest{"bad_request", "kind is ip, account or ja4"};
                e.kind = *k;
                e.value = x.value("value", std::string());
                e.reason = x.value("reason", std::string());
                e.expires_ns = x.value("expires_unix", uint64_t{0}) * 1'000'000'000ull;
                wanted.push_back(std::move(e));
            }
            std::string err;
            if (!dp.lists_.replace(wanted, wall_now(), err)) throw BadRequest{"invalid", err};
            result["version"] = dp.lists_.version();
        } else if (cmd == "lists.add" || cmd == "lists.del" || cmd == "lists.show") {
            const std::string list = str_arg(args, "list");
            if (list != "block" && list != "allow")
                throw BadRequest{"bad_request", "list is block or allow"};
            const bool allow = list == "allow";
            if (!dp.correlator_)
                throw BadRequest{"unavailable",
                                 "account correlation is off (--no-accounts): lists need it"};
            if (cmd == "lists.show") {
                json rows = json::array();
                for (const auto& e : dp.lists_.entries(wall_now())) {
                    if (e.allow != allow) continue;
                    json row = {{"kind", list_kind_name(e.kind)},
                                {"value", e.value},
                                {"reason", e.reason},
                                {"added_unix", e.added_ns / 1'000'000'000ull}};
                    if (e.expires_ns)
                        row["expires_in_s"] =
                            (e.expires_ns - std::min(e.expires_ns, wall_now())) / 1'000'000'000ull;
                    rows.push_back(row);
                }
                result["entries"] = rows;
            } else {
                const auto kind = list_kind_from_name(str_arg(args, "kind"));
                if (!kind) throw BadRequest{"bad_request", "kind is ip, account or ja4"};
                const std::string value = str_arg(args, "value");
                if (cmd == "lists.add") {
                    std::string err;
                    const uint64_t ttl = args.value("ttl_s", uint64_t{0});
                    if (!dp.lists_.add(allow, *kind, value, ttl,
                                       args.value("reason", std::string()), wall_now(), err))
                        throw BadRequest{"invalid", err};
                } else if (!dp.lists_.remove(allow, *kind, value)) {
                    throw BadRequest{"not_found", "no " + list + "list entry " +
                                                      std::string(list_kind_name(*kind)) + " " +
                                                      value};
                }
                result["version"] = dp.lists_.version();
            }
        } else if (cmd == "policy.validate" || cmd == "policy.apply" || cmd == "policy.push") {
            const std::string text = str_arg(args, "text");
            const std::string name = args.value("name", std::string("policy.yaml"));
            std::string err;
            auto p = account::Policy::parse(text, name, err);
            if (!p) throw BadRequest{"invalid", err};
            result = {{"rules", p->rules().size()}, {"window_s", p->window_s()}};
            if (cmd != "policy.validate") {
                if (!dp.correlator_)
                    throw BadRequest{"unavailable", "account correlation is off (--no-accounts)"};
                auto policy = std::make_shared<const account::Policy>(std::move(*p));
                auto applied = std::make_shared<std::atomic<bool>>(false);
                dp.correlator_->call([policy, applied](account::Correlator& c) {
                    c.set_policy(policy);
                    applied->store(true);
                });
                if (!applied->load())
                    throw BadRequest{"unavailable", "the correlator did not take the policy"};
                const auto d = sha256(as_bytes(text));
                char hex[64];
                to_hex(d, hex);
                dp.policy_digest_.assign(hex, sizeof hex);
                dp.policy_source_ = name;
                dp.policy_applied_ = wall_now() / 1'000'000'000ull;
                result["sha256"] = dp.policy_digest_;
            }
        } else if (cmd == "rules.validate" || cmd == "rules.apply" || cmd == "rules.push") {
            // The blob is a rule bundle (rules/bundle.h): rebuilt and validated here; a set
            // with an error changes nothing.
            if (req.blob.empty()) throw BadRequest{"bad_request", "no rule bundle in the request"};
            auto loaded = rules::read_bundle(
                {reinterpret_cast<const uint8_t*>(req.blob.data()), req.blob.size()});
            if (!loaded.compiled.rules) {
                std::string all;
                for (const auto& e : loaded.compiled.errors) all += e.format() + "\n";
                throw BadRequest{"invalid", all.empty() ? "the bundle does not load" : all};
            }
            const auto& set = loaded.compiled.rules->set();
            result = {{"rules", set.rules.size()}, {"sha256", set.digest}};
            if (!loaded.compiled.recompile_reason.empty())
                result["recompiled"] = loaded.compiled.recompile_reason;
            if (cmd != "rules.validate") {
                if (dp.offline()) throw BadRequest{"unavailable", "rule sets swap in live mode"};
                double wait_ms = 0;
                const std::string err = dp.apply_rules(loaded.compiled.rules, wait_ms);
                if (!err.empty()) throw BadRequest{"unavailable", err};
                result["generation"] = dp.rules_generation_;
                result["adopted_ms"] = wait_ms;
                dp.rules_label_ = args.value("message", std::string());
            }
        } else if (cmd == "secrets.push") {
            std::string text = str_arg(args, "text");
            std::istringstream in(text);
            std::string line;
            size_t added = 0, ignored = 0, full = 0;
            {
                std::lock_guard lock(dp.feed_mu_);
                while (std::getline(in, line)) {
                    tls::SecretUpdate u;
                    if (tls::SecretStore::parse_line(line + "\n", u) ==
                        tls::SecretStore::LineResult::Added) {
                        ++added;
                        for (auto& w : dp.workers_)
                            if (!w->feed || !w->feed->push(u)) ++full;
                    } else {
                        ++ignored;
                    }
                    OPENSSL_cleanse(&u, sizeof u);
                    OPENSSL_cleanse(line.data(), line.size());
                }
            }
            OPENSSL_cleanse(text.data(), text.size());  // secrets in memory only, briefly
            dp.secrets_pushed_.fetch_add(added, std::memory_order_relaxed);
            result = {{"secrets", added}, {"ignored_lines", ignored}, {"feed_full", full}};
        } else if (cmd == "stats") {
            // Counters only (the engine section of the summary), for dashboards and sluicectl.
            const json summary = dp.summary();
            result = {{"engine", summary["engine"]},
                      {"eve", summary.value("eve", json::object())},
                      {"elapsed_s", summary.value("elapsed_s", 0.0)}};
        } else if (cmd == "clusters.list") {
            if (!dp.correlator_)
                throw BadRequest{"unavailable", "account correlation is off (--no-accounts)"};
            auto text = std::make_shared<std::string>();
            const size_t n = args.value("n", size_t{20});
            dp.correlator_->call([n, text](account::Correlator& c) { *text = c.clusters_json(n); });
            if (text->empty()) throw BadRequest{"unavailable", "the correlator did not answer"};
            result = {{"clusters", json::parse(*text)}};
        } else if (cmd == "accounts.top" || cmd == "accounts.show") {
            if (!dp.correlator_)
                throw BadRequest{"unavailable", "account correlation is off (--no-accounts)"};
            auto text = std::make_shared<std::string>();
            auto ran = std::make_shared<std::atomic<bool>>(false);
            if (cmd == "accounts.top") {
                const size_t n = args.value("n", size_t{20});
                dp.correlator_->call([n, text, ran](account::Correlator& c) {
                    *text = c.top_json(n);
                    ran->store(true);
                });
            } else {
                const std::string account = str_arg(args, "id");
                dp.correlator_->call([account, text, ran](account::Correlator& c) {
                    *text = c.show_json(account);
                    ran->store(true);
                });
            }
            if (!ran->load()) throw BadRequest{"unavailable", "the correlator did not answer"};
            if (text->empty()) throw BadRequest{"not_found", "no such account"};
            result = json::parse(*text);
            if (cmd == "accounts.top") result = {{"accounts", result}};
        } else {
            throw BadRequest{"unknown_command", "unknown command '" + cmd + "'"};
        }
        out.json = json{{"id", id}, {"ok", true}, {"result", result}}.dump();
    } catch (const BadRequest& b) {
        out.json = control::error_json(id, b.code, b.message);
    } catch (const json::exception& e) {
        out.json = control::error_json(id, "bad_request", e.what());
    }
    return out;
}

}  // namespace sluice
