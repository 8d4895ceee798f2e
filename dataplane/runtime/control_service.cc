#include "runtime/control_service.h"

#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

#include "common/digest.h"
#include "control/protocol/args.h"
#include "control/protocol/wipe.h"
#include "rules/bundle_signature.h"
#include "runtime/correlator_thread.h"

namespace sluice {

namespace {
using nlohmann::json;

uint64_t wall_now() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

using control::opt_bool_arg;
using control::opt_str_arg;
using control::str_arg;
using control::uint_arg;
using BadRequest = control::Refused;
constexpr uint64_t kMaxTtlSeconds = 10ull * 366 * 86400;  // as sluiced: longer is a typo
constexpr uint64_t kMaxRows = 100000;
}  // namespace

ControlService::ControlService(ControlTarget& target, ControlSettings settings)
    : target_(target),
      settings_(std::move(settings)),
      policy_digest_(settings_.policy_sha256),
      policy_source_(settings_.policy_source) {}

control::ServerOptions ControlService::options() {
    control::ServerOptions o;
    o.access = settings_.access;
    o.limits = settings_.limits;
    // Refusals go to the log as one JSON line each (the dataplane keeps no audit file; sluiced
    // audits what it forwards).
    o.on_refusal = [](const control::Refusal& r) {
        const std::string line = json{
            {"principal", r.principal},
            {"role", r.role},
            {"cmd", r.cmd},
            {"code", r.code},
            {"error", r.message}}.dump(-1, ' ', false, json::error_handler_t::replace);
        std::fprintf(stderr, "sluice-dataplane: control refused %s\n", line.c_str());
    };
    return o;
}

bool ControlService::start(const std::string& path, std::string& error) {
    return server_.start_unix(
        path, options(), [this](control::Request& r) { return handle(r); }, error);
}

bool ControlService::start_tls(const std::string& listen, const control::TlsFiles& files,
                               std::string& error) {
    return tls_.start_tls(
        listen, files, options(), [this](control::Request& r) { return handle(r); }, error);
}

control::Frame ControlService::handle(control::Request& req) {
    std::lock_guard lock(mu_);
    const uint64_t id = req.id;
    control::Frame out;
    try {
        const std::string& cmd = req.cmd;
        const json& args = req.args;
        json result = json::object();
        CorrelatorThread* const correlator = target_.correlator();
        OperatorLists& lists = target_.lists();
        if (cmd == "status") {
            result = target_.summary();
            result["control"] = {{"protocol", control::kVersion},
                                 {"role", "dataplane"},
                                 {"caller_role", control::role_name(req.role)},
                                 {"principal", req.peer.principal()},
                                 {"refused", refused()},
                                 {"tls_handshakes_failed", handshakes_failed()},
                                 {"started_unix", settings_.started_unix},
                                 {"secrets_pushed", secrets_pushed_}};
            {
                const auto& sig = rules_signature_;
                json trust = {{"trusted_keys", settings_.trusted_keys
                                                   ? settings_.trusted_keys->key_ids()
                                                   : std::vector<std::string>{}}};
                if (sig)
                    trust.update({{"key_id", sig->key_id},
                                  {"version", sig->version},
                                  {"generation", sig->generation}});
                result["engine"]["rules"]["signature"] = trust;
            }
            if (rules_generation_ != 0)
                result["engine"]["rules"]["last_push"] = {{"generation", rules_generation_},
                                                          {"message", rules_label_}};
            result["policy"] = {{"sha256", policy_digest_},
                                {"source", policy_source_},
                                {"applied", policy_applied_}};
            const auto entries = lists.entries(wall_now());
            size_t block = 0, allow = 0;
            for (const auto& e : entries) (e.allow ? allow : block) += 1;
            result["lists"] = {{"block", block}, {"allow", allow}};
        } else if (cmd == "lists.replace") {
            // The whole desired state at once (sluiced after a restart of either side).
            if (!correlator)
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
                // Seconds since the epoch, checked before scaling (no wrap into the past).
                e.expires_ns =
                    uint_arg(x, "expires_unix", 0, 0, 100'000'000'000ull) * 1'000'000'000ull;
                wanted.push_back(std::move(e));
            }
            std::string err;
            if (!lists.replace(wanted, wall_now(), err)) throw BadRequest{"invalid", err};
            result["version"] = lists.version();
        } else if (cmd == "lists.add" || cmd == "lists.del" || cmd == "lists.show") {
            const std::string list = str_arg(args, "list");
            if (list != "block" && list != "allow")
                throw BadRequest{"bad_request", "list is block or allow"};
            const bool allow = list == "allow";
            if (!correlator)
                throw BadRequest{"unavailable",
                                 "account correlation is off (--no-accounts): lists need it"};
            if (cmd == "lists.show") {
                json rows = json::array();
                for (const auto& e : lists.entries(wall_now())) {
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
                    const uint64_t ttl = uint_arg(args, "ttl_s", 0, 0, kMaxTtlSeconds);
                    if (!lists.add(allow, *kind, value, ttl, opt_str_arg(args, "reason"),
                                   wall_now(), err))
                        throw BadRequest{"invalid", err};
                } else if (!lists.remove(allow, *kind, value)) {
                    throw BadRequest{"not_found", "no " + list + "list entry " +
                                                      std::string(list_kind_name(*kind)) + " " +
                                                      value};
                }
                result["version"] = lists.version();
            }
        } else if (cmd == "policy.validate" || cmd == "policy.apply" || cmd == "policy.push") {
            const std::string text = str_arg(args, "text");
            const std::string name = opt_str_arg(args, "name", "policy.yaml");
            std::string err;
            auto p = account::Policy::parse(text, name, err);
            if (!p) throw BadRequest{"invalid", err};
            result = {{"rules", p->rules().size()}, {"window_s", p->window_s()}};
            if (cmd != "policy.validate") {
                if (!correlator)
                    throw BadRequest{"unavailable", "account correlation is off (--no-accounts)"};
                auto policy = std::make_shared<const account::Policy>(std::move(*p));
                if (!correlator->call([policy](account::Correlator& c) { c.set_policy(policy); }))
                    throw BadRequest{"unavailable", "the correlator did not take the policy"};
                const auto d = sha256(as_bytes(text));
                char hex[64];
                to_hex(d, hex);
                policy_digest_.assign(hex, sizeof hex);
                policy_source_ = name;
                policy_applied_ = wall_now() / 1'000'000'000ull;
                result["sha256"] = policy_digest_;
            }
        } else if (cmd == "rules.validate" || cmd == "rules.apply" || cmd == "rules.push") {
            // The blob is a rule bundle (rules/bundle.h), signed by sluiced when this dataplane
            // trusts keys (verified before anything in it is parsed; older generations are
            // replays); rebuilt and validated here; a set with an error changes nothing.
            if (req.blob.empty()) throw BadRequest{"bad_request", "no rule bundle in the request"};
            auto trusted = rules::load_bundle(
                {reinterpret_cast<const uint8_t*>(req.blob.data()), req.blob.size()},
                settings_.trusted_keys.get(), rules_signature_ ? rules_signature_->generation : 0);
            auto& loaded = trusted.load;
            if (!loaded.compiled.rules) {
                std::string all;
                for (const auto& e : loaded.compiled.errors) all += e.format() + "\n";
                throw BadRequest{"invalid", all.empty() ? "the bundle does not load" : all};
            }
            const auto& set = loaded.compiled.rules->set();
            // Rules the bundle's set leaves out: only when the sender says it knows.
            if (!set.skipped.empty() && !opt_bool_arg(args, "allow_skipped"))
                throw BadRequest{"invalid", rules::skip_report(set.skipped) +
                                                "the set has rules it cannot load; nothing changed "
                                                "(allow_skipped takes the rest)"};
            result = {{"rules", set.rules.size()},
                      {"skipped", set.skipped.size()},
                      {"sha256", set.digest}};
            if (!loaded.compiled.recompile_reason.empty())
                result["recompiled"] = loaded.compiled.recompile_reason;
            if (cmd != "rules.validate") {
                if (!target_.live()) throw BadRequest{"unavailable", "rule sets swap in live mode"};
                const std::string message = opt_str_arg(args, "message");
                double wait_ms = 0;
                uint8_t generation = 0;
                const std::string err =
                    target_.apply_rules(loaded.compiled.rules, wait_ms, generation);
                if (!err.empty()) throw BadRequest{"unavailable", err};
                rules_generation_ = generation;
                result["generation"] = generation;
                result["adopted_ms"] = wait_ms;
                rules_label_ = message;
                rules_signature_ = trusted.signature;
            }
            if (trusted.signature) {
                result["key_id"] = trusted.signature->key_id;
                result["signed_generation"] = trusted.signature->generation;
            }
        } else if (cmd == "secrets.push") {
            // The key log is the blob (or, from older clients, args.text), parsed in place; the
            // server wipes the request afterwards: no copy of a secret outlives this handler.
            if (req.blob.empty() && !(args.contains("text") && args["text"].is_string()))
                throw BadRequest{"bad_request", "secrets.push takes the key log as its blob"};
            const std::string& text =
                req.blob.empty() ? args["text"].get_ref<const std::string&>() : req.blob;
            std::string line;
            line.reserve(512);
            size_t added = 0, ignored = 0, full = 0;
            {
                for (size_t pos = 0; pos < text.size();) {
                    size_t nl = text.find('\n', pos);
                    if (nl == std::string::npos) nl = text.size();
                    line.assign(text, pos, nl - pos);
                    line.push_back('\n');
                    pos = nl + 1;
                    tls::SecretUpdate u;
                    if (tls::SecretStore::parse_line(line, u) ==
                        tls::SecretStore::LineResult::Added) {
                        ++added;
                        full += target_.push_secret(u);
                    } else {
                        ++ignored;
                    }
                    OPENSSL_cleanse(&u, sizeof u);
                    control::wipe(line);
                }
            }
            secrets_pushed_ += added;
            result = {{"secrets", added}, {"ignored_lines", ignored}, {"feed_full", full}};
        } else if (cmd == "stats") {
            // Counters only (the engine section of the summary), for dashboards and sluicectl.
            const json summary = target_.summary();
            result = {{"engine", summary["engine"]},
                      {"eve", summary.value("eve", json::object())},
                      {"elapsed_s", summary.value("elapsed_s", 0.0)}};
        } else if (cmd == "clusters.list") {
            if (!correlator)
                throw BadRequest{"unavailable", "account correlation is off (--no-accounts)"};
            auto text = std::make_shared<std::string>();
            const size_t n = uint_arg(args, "n", 20, 1, kMaxRows);
            // The text is read only once call() says the correlator ran the query: a late run
            // after a timeout writes a string nobody reads.
            if (!correlator->call(
                    [n, text](account::Correlator& c) { *text = c.clusters_json(n); }))
                throw BadRequest{"unavailable", "the correlator did not answer"};
            result = {{"clusters", json::parse(*text)}};
        } else if (cmd == "accounts.top" || cmd == "accounts.show") {
            if (!correlator)
                throw BadRequest{"unavailable", "account correlation is off (--no-accounts)"};
            auto text = std::make_shared<std::string>();
            bool ran = false;
            if (cmd == "accounts.top") {
                const size_t n = uint_arg(args, "n", 20, 1, kMaxRows);
                ran =
                    correlator->call([n, text](account::Correlator& c) { *text = c.top_json(n); });
            } else {
                const std::string account = str_arg(args, "id");
                ran = correlator->call(
                    [account, text](account::Correlator& c) { *text = c.show_json(account); });
            }
            if (!ran) throw BadRequest{"unavailable", "the correlator did not answer"};
            if (text->empty()) throw BadRequest{"not_found", "no such account"};
            result = json::parse(*text);
            if (cmd == "accounts.top") result = {{"accounts", result}};
        } else {
            throw BadRequest{"unknown_command", "unknown command '" + cmd + "'"};
        }
        out.json = control::ok_json(id, result);
    } catch (const BadRequest& b) {
        out.json = control::error_json(id, b.code, b.message);
    } catch (const json::exception& e) {
        out.json = control::error_json(id, "bad_request", e.what());
    }
    return out;
}

}  // namespace sluice
