#include "control/sluiced/dashboard_feed.h"

#include <algorithm>
#include <array>
#include <chrono>

#include "control/protocol/client.h"

namespace sluice::control {

using nlohmann::json;

namespace {
constexpr size_t kHistory = 300;  // points kept for the charts (5 minutes at 1 s)
// The drop reasons of the engine's counters that mean a packet was not forwarded.
constexpr std::array<const char*, 5> kDropped = {"dropped_verdict", "dropped_malformed",
                                                 "dropped_fragment", "dropped_normalized",
                                                 "dropped_held"};

uint64_t u64(const json& j, const char* k) {
    return j.is_object() && j.contains(k) && j[k].is_number_unsigned() ? j[k].get<uint64_t>() : 0;
}

double now_s() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A rate from two samples; 0 until two exist or when a counter went back (a restart).
double rate(uint64_t now, uint64_t before, double dt) {
    return dt > 0 && now >= before ? double(now - before) / dt : 0.0;
}

int action_rank(const std::string& a) {
    return a == "block" ? 0 : a == "rate-limit" ? 1 : a == "alert" || a == "tag" ? 2 : 3;
}
}  // namespace

void DashboardFeed::start() {
    stop_.store(false);
    thread_ = std::thread([this] { loop(); });
}

void DashboardFeed::stop() {
    stop_.store(true);
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

json DashboardFeed::snapshot() const {
    std::lock_guard lock(mu_);
    return snapshot_;
}

void DashboardFeed::loop() {
    while (!stop_.load()) {
        poll_once();
        std::unique_lock lock(wake_mu_);
        wake_.wait_for(lock, std::chrono::milliseconds(poll_ms_), [this] { return stop_.load(); });
    }
}

void DashboardFeed::poll_once() {
    const FleetView v = view_();
    const double t = now_s();
    json planes = json::array(), accounts = json::array(), clusters = json::array();
    json fleet = {{"dataplanes", v.links.size()},
                  {"up", 0},
                  {"in_sync", 0},
                  {"packets", 0},
                  {"bytes", 0},
                  {"dropped", 0},
                  {"alerts", 0},
                  {"enforced", 0},
                  {"flagged", 0},
                  {"clusters", 0},
                  {"pps", 0.0},
                  {"bps", 0.0},
                  {"drops_ps", 0.0},
                  {"alerts_ps", 0.0}};
    json alerts_by_class = json::object();
    for (size_t i = 0; i < v.links.size(); ++i) {
        const DataplaneLink& l = v.links[i];
        json p = {{"name", l.name},
                  {"endpoint", l.ep.describe()},
                  {"up", false},
                  {"in_sync", i < v.in_sync.size() && v.in_sync[i]},
                  {"rules_sha256", l.rules_sha},
                  {"policy_sha256", l.policy_sha}};
        Client c;
        std::string err;
        if (!stop_.load() && c.connect(l.ep, err, timeouts_.connect_ms)) {
            const Response st = c.request("stats", json::object(), {}, timeouts_.status_ms);
            if (st.ok) {
                const json& e = st.result.contains("engine") ? st.result["engine"] : json();
                Sample s;
                s.t = t;
                s.packets = u64(e, "packets");
                s.bytes = u64(e, "bytes");
                for (const char* k : kDropped) s.dropped += u64(e, k);
                const json& r = e.contains("rules") ? e["rules"] : json();
                s.alerts = u64(r, "alerts");
                const json& h = e.contains("http") ? e["http"] : json();
                s.enforced = u64(h, "enforced_block") + u64(h, "enforced_rate_limit");
                const json& a = e.contains("accounts") ? e["accounts"] : json();
                p["up"] = true;
                p["packets"] = s.packets;
                p["bytes"] = s.bytes;
                p["dropped"] = s.dropped;
                p["alerts"] = s.alerts;
                p["enforced"] = s.enforced;
                p["flagged"] = u64(a, "flagged");
                p["clusters"] = u64(a, "clusters");
                p["elapsed_s"] = st.result.value("elapsed_s", 0.0);
                const auto prev = last_.find(l.name);
                const bool have = prev != last_.end();
                const double dt = have ? t - prev->second.t : 0;
                p["pps"] = have ? rate(s.packets, prev->second.packets, dt) : 0.0;
                p["bps"] = have ? 8 * rate(s.bytes, prev->second.bytes, dt) : 0.0;
                p["drops_ps"] = have ? rate(s.dropped, prev->second.dropped, dt) : 0.0;
                p["alerts_ps"] = have ? rate(s.alerts, prev->second.alerts, dt) : 0.0;
                last_[l.name] = s;
                if (r.contains("alerts_by_class") && r["alerts_by_class"].is_object())
                    for (const auto& [k, n] : r["alerts_by_class"].items())
                        alerts_by_class[k] = alerts_by_class.value(k, uint64_t{0}) +
                                             (n.is_number_unsigned() ? n.get<uint64_t>() : 0);
                for (const char* k :
                     {"packets", "bytes", "dropped", "alerts", "enforced", "flagged", "clusters"})
                    fleet[k] = fleet[k].get<uint64_t>() + p[k].get<uint64_t>();
                for (const char* k : {"pps", "bps", "drops_ps", "alerts_ps"})
                    fleet[k] = fleet[k].get<double>() + p[k].get<double>();
                // Accounts and clusters on the same connection, each bounded by the query
                // timeout, each entry tagged with its dataplane.
                auto collect = [&](const char* cmd, const char* key, json& into) {
                    const Response got = c.request(cmd, {{"n", top_n_}}, {}, timeouts_.query_ms);
                    if (got.ok && got.result.contains(key))
                        for (json entry : got.result[key]) {
                            entry["dataplane"] = l.name;
                            into.push_back(std::move(entry));
                        }
                };
                collect("accounts.top", "accounts", accounts);
                collect("clusters.list", "clusters", clusters);
            } else {
                p["error"] = st.error;
            }
        } else {
            p["error"] = err;
            last_.erase(l.name);
        }
        fleet["up"] = fleet["up"].get<uint64_t>() + (p["up"].get<bool>() ? 1 : 0);
        fleet["in_sync"] = fleet["in_sync"].get<uint64_t>() + (p["in_sync"].get<bool>() ? 1 : 0);
        planes.push_back(std::move(p));
    }
    // The accounts under a decision first (block, rate-limit, alert), then by score.
    auto account_of = [](const json& a) -> const json& {
        static const json none = json::object();
        return a.contains("account") ? a["account"] : none;
    };
    std::stable_sort(accounts.begin(), accounts.end(), [&](const json& x, const json& y) {
        const json &a = account_of(x), &b = account_of(y);
        const int ra = action_rank(a.value("action", std::string())),
                  rb = action_rank(b.value("action", std::string()));
        if (ra != rb) return ra < rb;
        return a.value("score", 0.0) > b.value("score", 0.0);
    });
    if (accounts.size() > top_n_) accounts.erase(accounts.begin() + long(top_n_), accounts.end());
    std::stable_sort(clusters.begin(), clusters.end(), [](const json& x, const json& y) {
        return x.value("size", uint64_t{0}) > y.value("size", uint64_t{0});
    });
    if (clusters.size() > top_n_) clusters.erase(clusters.begin() + long(top_n_), clusters.end());

    // Recent decisions: operators' list entries (newest first) and the policy's decisions on
    // the accounts shown.
    json decisions = json::array();
    if (v.lists.contains("entries") && v.lists["entries"].is_array()) {
        std::vector<json> entries(v.lists["entries"].begin(), v.lists["entries"].end());
        std::stable_sort(entries.begin(), entries.end(), [](const json& a, const json& b) {
            return a.value("added_unix", uint64_t{0}) > b.value("added_unix", uint64_t{0});
        });
        for (const json& e : entries) {
            if (decisions.size() >= top_n_) break;
            decisions.push_back({{"source", "operator"},
                                 {"list", e.value("list", std::string())},
                                 {"kind", e.value("kind", std::string())},
                                 {"subject", e.value("value", std::string())},
                                 {"reason", e.value("reason", std::string())},
                                 {"added_unix", e.value("added_unix", uint64_t{0})},
                                 {"expires_unix", e.value("expires_unix", uint64_t{0})}});
        }
    }
    for (const json& x : accounts) {
        const json& a = account_of(x);
        const std::string act = a.value("action", std::string());
        if (act != "block" && act != "rate-limit") continue;
        json reasons = a.contains("reasons") ? a["reasons"] : json::array();
        decisions.push_back({{"source", "policy"},
                             {"dataplane", x.value("dataplane", std::string())},
                             {"kind", "account"},
                             {"subject", a.value("hint", a.value("id", std::string()))},
                             {"action", act},
                             {"reasons", reasons}});
    }

    json point = {{"t", t},
                  {"pps", fleet["pps"]},
                  {"bps", fleet["bps"]},
                  {"drops_ps", fleet["drops_ps"]},
                  {"alerts_ps", fleet["alerts_ps"]}};
    history_.push_back(point);
    while (history_.size() > kHistory) history_.pop_front();
    json history = json::array();
    for (const json& h : history_) history.push_back(h);
    json snap = {
        {"updated_unix", t},
        {"poll_ms", poll_ms_},
        {"fleet", fleet},
        {"alerts_by_class", alerts_by_class},
        {"dataplanes", planes},
        {"accounts", accounts},
        {"clusters", clusters},
        {"decisions", decisions},
        {"versions",
         {{"desired", v.desired},
          {"rules", v.rules_meta.is_null()
                        ? json(nullptr)
                        : json{{"version", v.rules_meta.value("version", uint64_t{0})},
                               {"sha256", v.rules_meta.value("sha256", std::string())},
                               {"message", v.rules_meta.value("message", std::string())},
                               {"rules", v.rules_meta.value("rules", uint64_t{0})}}},
          {"policy", v.policy_meta.is_null()
                         ? json(nullptr)
                         : json{{"version", v.policy_meta.value("version", uint64_t{0})},
                                {"sha256", v.policy_meta.value("sha256", std::string())}}}}},
        {"history", std::move(history)}};
    std::lock_guard lock(mu_);
    snapshot_ = std::move(snap);
}

}  // namespace sluice::control
