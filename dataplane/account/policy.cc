#include "account/policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sluice::account {

namespace {

struct Named {
    std::string_view name;
    Signal s;
};
constexpr Named kSignals[] = {
    {"requests", Signal::Requests},
    {"distinct_ips", Signal::DistinctIps},
    {"distinct_prefixes", Signal::DistinctPrefixes},
    {"distinct_ja4", Signal::DistinctJa4},
    {"distinct_user_agents", Signal::DistinctUserAgents},
    {"input_tokens", Signal::InputTokens},
    {"output_tokens", Signal::OutputTokens},
    {"bytes", Signal::Bytes},
    {"claim_mismatches", Signal::ClaimMismatches},
    {"interarrival_cv", Signal::InterarrivalCv},
    {"cluster_size", Signal::ClusterSize},
    {"cluster_requests", Signal::ClusterRequests},
    {"ip_accounts", Signal::IpAccounts},
    {"prefix_accounts", Signal::PrefixAccounts},
    {"ja4_accounts", Signal::Ja4Accounts},
    {"distinct_asns", Signal::DistinctAsns},
    {"prefix_new_accounts", Signal::PrefixNewAccounts},
    {"distinct_h2_fingerprints", Signal::DistinctH2Fingerprints},
    {"distinct_quic_ja4", Signal::DistinctQuicJa4},
    {"fleet.requests", Signal::FleetRequests},
    {"fleet.input_tokens", Signal::FleetInputTokens},
    {"fleet.output_tokens", Signal::FleetOutputTokens},
    {"fleet.distinct_ips", Signal::FleetDistinctIps},
    {"fleet.distinct_prefixes", Signal::FleetDistinctPrefixes},
    {"fleet.distinct_asns", Signal::FleetDistinctAsns},
    {"fleet.distinct_ja4", Signal::FleetDistinctJa4},
    {"fleet.template_accounts", Signal::FleetTemplateAccounts},
};

// Each fleet signal and the local signal it is the fleet-wide version of.
struct FleetCounterpart {
    Signal fleet, local;
};
constexpr FleetCounterpart kFleetCounterparts[] = {
    {Signal::FleetRequests, Signal::Requests},
    {Signal::FleetInputTokens, Signal::InputTokens},
    {Signal::FleetOutputTokens, Signal::OutputTokens},
    {Signal::FleetDistinctIps, Signal::DistinctIps},
    {Signal::FleetDistinctPrefixes, Signal::DistinctPrefixes},
    {Signal::FleetDistinctAsns, Signal::DistinctAsns},
    {Signal::FleetDistinctJa4, Signal::DistinctJa4},
};

bool is_fleet_signal(Signal s) {
    return s >= Signal::FleetRequests && s <= Signal::FleetTemplateAccounts;
}

const FleetCounterpart* fleet_counterpart(Signal s) {
    for (const FleetCounterpart& c : kFleetCounterparts)
        if (c.fleet == s) return &c;
    return nullptr;
}

std::string known_signals() {
    std::string s;
    for (const Named& n : kSignals) s += (s.empty() ? "" : ", ") + std::string(n.name);
    return s + ", hits.CLASS, cluster_hits.CLASS, cluster_share.CLASS";
}

struct Fail {
    std::string text;
};

double signal_value(Signal signal, RuleClass cls, const AccountSignals& s) {
    switch (signal) {
        case Signal::Requests:
            return s.requests;
        case Signal::DistinctIps:
            return s.distinct_ips;
        case Signal::DistinctPrefixes:
            return s.distinct_prefixes;
        case Signal::DistinctJa4:
            return s.distinct_ja4;
        case Signal::DistinctUserAgents:
            return s.distinct_user_agents;
        case Signal::InputTokens:
            return s.input_tokens;
        case Signal::OutputTokens:
            return s.output_tokens;
        case Signal::Bytes:
            return s.bytes;
        case Signal::ClaimMismatches:
            return s.claim_mismatches;
        case Signal::InterarrivalCv:
            return s.interarrival_cv;
        case Signal::Hits:
            return s.hits[static_cast<size_t>(cls)];
        case Signal::ClusterSize:
            return s.cluster_size;
        case Signal::ClusterHits:
            return s.cluster_hits[static_cast<size_t>(cls)];
        case Signal::ClusterRequests:
            return s.cluster_requests;
        case Signal::ClusterShare:
            return s.cluster_requests > 0
                       ? s.cluster_hits[static_cast<size_t>(cls)] / s.cluster_requests
                       : 0;
        case Signal::IpAccounts:
            return s.ip_accounts;
        case Signal::PrefixAccounts:
            return s.prefix_accounts;
        case Signal::Ja4Accounts:
            return s.ja4_accounts;
        case Signal::DistinctAsns:
            return s.distinct_asns;
        case Signal::PrefixNewAccounts:
            return s.prefix_new_accounts;
        case Signal::DistinctH2Fingerprints:
            return s.distinct_h2_fingerprints;
        case Signal::DistinctQuicJa4:
            return s.distinct_quic_ja4;
        case Signal::FleetRequests:
            return s.fleet.requests;
        case Signal::FleetInputTokens:
            return s.fleet.input_tokens;
        case Signal::FleetOutputTokens:
            return s.fleet.output_tokens;
        case Signal::FleetDistinctIps:
            return s.fleet.distinct_ips;
        case Signal::FleetDistinctPrefixes:
            return s.fleet.distinct_prefixes;
        case Signal::FleetDistinctAsns:
            return s.fleet.distinct_asns;
        case Signal::FleetDistinctJa4:
            return s.fleet.distinct_ja4;
        case Signal::FleetTemplateAccounts:
            return s.fleet.template_accounts;
    }
    return 0;
}

double value_of(const PolicyRule& r, const AccountSignals& s) {
    return signal_value(r.signal, r.hit_class, s);
}

// The capacity section, next to its options struct (policy.h).
template <typename Fail>
void parse_capacity(const YAML::Node& v, CapacityOptions& c, const Fail& fail) {
    struct Key {
        std::string_view name;
        uint32_t CapacityOptions::*field;
        uint32_t min, max;
    };
    static constexpr Key kKeys[] = {
        {"accounts", &CapacityOptions::accounts, 64, 50'000'000},
        {"enforced", &CapacityOptions::enforced, 16, 10'000'000},
        {"keys", &CapacityOptions::keys, 256, 100'000'000},
        {"memory_mb", &CapacityOptions::memory_mb, 16, 1'048'576},
    };
    if (!v.IsMap()) fail(v, "capacity is a mapping (accounts, enforced, keys, memory_mb)");
    for (const auto& f : v) {
        const std::string k = f.first.as<std::string>();
        const Key* key = nullptr;
        for (const Key& x : kKeys)
            if (x.name == k) key = &x;
        if (key == nullptr)
            fail(f.first,
                 "unknown key '" + k + "' in capacity (accounts, enforced, keys, memory_mb)");
        const auto n = f.second.as<int64_t>();
        if (n < key->min || n > key->max)
            fail(f.second, "capacity." + k + " is " + std::to_string(key->min) + ".." +
                               std::to_string(key->max));
        c.*(key->field) = static_cast<uint32_t>(n);
    }
    if (c.enforced > c.accounts / 2)
        fail(v, "capacity.enforced is at most half of capacity.accounts");
}

}  // namespace

std::string_view signal_name(Signal s) {
    for (const Named& n : kSignals)
        if (n.s == s) return n.name;
    if (s == Signal::ClusterShare) return "cluster_share";
    return s == Signal::ClusterHits ? "cluster_hits" : "hits";
}

std::optional<Policy> Policy::parse(const std::string& yaml, const std::string& file,
                                    std::string& error) {
    auto where = [&](const YAML::Node& n) {
        const auto m = n.Mark();
        return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
    };
    auto fail = [&](const YAML::Node& n, const std::string& what) { throw Fail{where(n) + what}; };
    try {
        const YAML::Node root = YAML::Load(yaml);
        Policy p;
        if (!root.IsMap()) fail(root, "a policy is a mapping with window, rules and actions");
        for (const auto& kv : root) {
            const std::string key = kv.first.as<std::string>();
            const YAML::Node& v = kv.second;
            if (key == "window") {
                p.window_s_ = v.as<double>();
                if (p.window_s_ <= 0) fail(v, "window must be a positive number of seconds");
            } else if (key == "rules") {
                if (!v.IsSequence()) fail(v, "rules must be a list");
                for (const auto& n : v) {
                    PolicyRule r;
                    bool have_signal = false;
                    for (const auto& f : n) {
                        const std::string k = f.first.as<std::string>();
                        const YAML::Node& x = f.second;
                        if (k == "name") {
                            r.name = x.as<std::string>();
                        } else if (k == "reason") {
                            r.reason = x.as<std::string>();
                        } else if (k == "signal") {
                            const std::string s = x.as<std::string>();
                            have_signal = true;
                            if (s.starts_with("hits.") || s.starts_with("cluster_hits.") ||
                                s.starts_with("cluster_share.")) {
                                const size_t dot = s.find('.');
                                const std::string kind = s.substr(0, dot);
                                r.signal = kind == "hits"           ? Signal::Hits
                                           : kind == "cluster_hits" ? Signal::ClusterHits
                                                                    : Signal::ClusterShare;
                                const std::string c = s.substr(dot + 1);
                                bool found = false;
                                for (size_t i = 0; i < static_cast<size_t>(RuleClass::Count); ++i)
                                    if (rule_class_name(static_cast<RuleClass>(i)) == c) {
                                        r.hit_class = static_cast<RuleClass>(i);
                                        found = true;
                                    }
                                if (!found)
                                    fail(x, "unknown rule class '" + c +
                                                "' (distillation, reseller, client_spoofing, "
                                                "bot_farm, recon, other)");
                            } else {
                                auto it =
                                    std::find_if(std::begin(kSignals), std::end(kSignals),
                                                 [&](const Named& nm) { return nm.name == s; });
                                if (it == std::end(kSignals))
                                    fail(x, "unknown signal '" + s + "' (" + known_signals() + ")");
                                r.signal = it->s;
                            }
                        } else if (k == "above") {
                            r.above = x.as<double>();
                        } else if (k == "below") {
                            r.below = x.as<double>();
                        } else if (k == "min_requests") {
                            r.min_requests = x.as<double>();
                        } else if (k == "min_cluster_size") {
                            r.min_cluster_size = x.as<double>();
                        } else if (k == "score") {
                            r.score = x.as<double>();
                        } else {
                            fail(f.first, "unknown key '" + k +
                                              "' in a rule (name, signal, above, below, "
                                              "min_requests, min_cluster_size, score, "
                                              "reason)");
                        }
                    }
                    if (r.name.empty()) fail(n, "a rule needs a name");
                    if (!have_signal) fail(n, "rule '" + r.name + "' needs a signal");
                    if (!r.above && !r.below) fail(n, "rule '" + r.name + "' needs above or below");
                    if (r.reason.empty()) r.reason = r.name;
                    if (is_fleet_signal(r.signal)) p.reads_fleet_ = true;
                    if (r.signal == Signal::FleetTemplateAccounts) p.reads_fleet_templates_ = true;
                    p.rules_.push_back(std::move(r));
                }
            } else if (key == "actions") {
                if (!v.IsSequence()) fail(v, "actions must be a list");
                for (const auto& n : v) {
                    PolicyAction a;
                    bool have = false;
                    for (const auto& f : n) {
                        const std::string k = f.first.as<std::string>();
                        if (k == "score") {
                            a.score = f.second.as<double>();
                        } else if (k == "action") {
                            const std::string name = f.second.as<std::string>();
                            auto vd = verdict_from_name(name);
                            if (!vd || *vd == Verdict::Pass || *vd == Verdict::Drop ||
                                *vd == Verdict::Reject)
                                fail(f.second, "action must be alert, tag, rate-limit or block");
                            a.verdict = *vd;
                            have = true;
                        } else if (k == "rate_per_minute") {
                            a.rate_per_minute = f.second.as<double>();
                        } else if (k == "hold") {
                            a.hold_s = f.second.as<double>();
                            if (a.hold_s < 0) fail(f.second, "hold is seconds, 0 or more");
                        } else if (k == "answer") {
                            const std::string m = f.second.as<std::string>();
                            if (m != "http" && m != "reset")
                                fail(f.second, "answer must be http or reset");
                            a.answer_reset = m == "reset";
                        } else if (k == "target") {
                            const auto t = enforce_target_from_name(f.second.as<std::string>());
                            if (!t)
                                fail(f.second, "target must be account, cluster, prefix or ja4");
                            a.target = *t;
                        } else {
                            fail(f.first, "unknown key '" + k +
                                              "' in an action (score, action, rate_per_minute, "
                                              "target, hold, answer)");
                        }
                    }
                    if (!have) fail(n, "an action entry needs 'action'");
                    if (a.verdict == Verdict::RateLimit && a.rate_per_minute <= 0)
                        fail(n, "rate-limit needs rate_per_minute");
                    p.actions_.push_back(a);
                }
            } else if (key == "allow") {
                for (const auto& f : v) {
                    if (f.first.as<std::string>() != "accounts")
                        fail(f.first, "allow supports 'accounts'");
                    for (const auto& a : f.second) p.allow_accounts_.insert(a.as<std::string>());
                }
            } else if (key == "clusters") {
                if (!v.IsMap())
                    fail(v,
                         "clusters is a mapping (link_by, template_distance, "
                         "template_min_bytes)");
                ClusterOptions& c = p.clusters_;
                for (const auto& f : v) {
                    const std::string k = f.first.as<std::string>();
                    if (k == "link_by") {
                        c.by_ip = c.by_prefix = c.by_ja4_ua = c.by_template = false;
                        if (!f.second.IsSequence()) fail(f.second, "link_by must be a list");
                        for (const auto& x : f.second) {
                            const std::string l = x.as<std::string>();
                            if (l == "ip")
                                c.by_ip = true;
                            else if (l == "prefix")
                                c.by_prefix = true;
                            else if (l == "ja4_ua")
                                c.by_ja4_ua = true;
                            else if (l == "template")
                                c.by_template = true;
                            else
                                fail(x, "link_by takes ip, prefix, ja4_ua and template");
                        }
                    } else if (k == "template_distance") {
                        c.template_distance = f.second.as<int>();
                        if (c.template_distance < 0 || c.template_distance > 32)
                            fail(f.second, "template_distance is 0..32 bits");
                    } else if (k == "template_min_bytes") {
                        c.template_min_bytes = f.second.as<uint32_t>();
                    } else if (k == "template_prompts") {
                        const std::string which = f.second.as<std::string>();
                        if (which != "flagged" && which != "all")
                            fail(f.second, "template_prompts is flagged or all");
                        c.template_flagged_only = which == "flagged";
                    } else {
                        fail(f.first, "unknown key '" + k +
                                          "' in clusters (link_by, template_distance, "
                                          "template_min_bytes, template_prompts)");
                    }
                }
            } else if (key == "capacity") {
                parse_capacity(v, p.capacity_, fail);
            } else if (key == "deny") {
                if (!v.IsMap()) fail(v, "deny is a mapping of accounts, prefixes and ja4 lists");
                for (const auto& f : v) {
                    const std::string kind = f.first.as<std::string>();
                    if (!f.second.IsSequence()) fail(f.second, "deny." + kind + " must be a list");
                    for (const auto& x : f.second) {
                        const std::string item = x.as<std::string>();
                        if (kind == "accounts") {
                            if (!is_account_id(item))
                                fail(x, "an account id is 16 lowercase hex characters");
                            p.deny_.accounts.push_back(item);
                        } else if (kind == "prefixes") {
                            auto pf = IpPrefix::parse(item);
                            if (!pf) fail(x, "not an IP prefix: '" + item + "'");
                            p.deny_.prefixes.push_back(*pf);
                        } else if (kind == "ja4") {
                            p.deny_.ja4.push_back(item);
                        } else {
                            fail(f.first, "deny supports accounts, prefixes and ja4");
                        }
                    }
                }
            } else {
                fail(kv.first, "unknown key '" + key +
                                   "' (window, rules, actions, allow, deny, clusters, capacity)");
            }
        }
        std::sort(p.actions_.begin(), p.actions_.end(),
                  [](const PolicyAction& a, const PolicyAction& b) { return a.score > b.score; });
        return p;
    } catch (const Fail& f) {
        error = f.text;
    } catch (const YAML::Exception& e) {
        error = file + ":" + std::to_string(e.mark.line + 1) + ":" +
                std::to_string(e.mark.column + 1) + ": " + e.msg;
    }
    return std::nullopt;
}

std::optional<Policy> Policy::load(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = path + ": cannot read policy";
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path, error);
}

uint64_t Policy::cluster_mask(const AccountSignals& s) const {
    uint64_t mask = 0;
    for (size_t i = 0; i < rules_.size(); ++i) {
        const PolicyRule& r = rules_[i];
        const bool cluster = r.signal == Signal::ClusterSize || r.signal == Signal::ClusterHits ||
                             r.signal == Signal::ClusterRequests ||
                             r.signal == Signal::ClusterShare;
        if (!cluster || s.cluster_size < r.min_cluster_size) continue;
        const double v = value_of(r, s);
        if ((r.above && v > *r.above) || (r.below && v < *r.below))
            mask |= uint64_t{1} << std::min<size_t>(i, 63);
    }
    return mask;
}

Decision Policy::decide(const std::array<char, 16>& account, const AccountSignals& s) const {
    Decision d;
    if (allow_accounts_.count(std::string_view(account.data(), account.size()))) {
        d.allowlisted = true;
        return d;
    }
    for (const PolicyRule& r : rules_) {
        // A fleet rule's evidence is the fleet's: its requests count toward min_requests.
        const double requests =
            is_fleet_signal(r.signal) ? std::max(s.requests, s.fleet.requests) : s.requests;
        if (requests < r.min_requests || s.cluster_size < r.min_cluster_size) continue;
        const double v = value_of(r, s);
        if (r.signal == Signal::InterarrivalCv && v < 0) continue;  // not known yet
        const bool hit = (r.above && v > *r.above) || (r.below && v < *r.below);
        if (!hit) continue;
        d.score += r.score;
        d.reasons.push_back(&r);
    }
    for (const PolicyAction& a : actions_)
        if (d.score >= a.score) {
            d.verdict = a.verdict;
            d.rate_per_minute = a.rate_per_minute;
            d.target = a.target;
            d.hold_s = a.hold_s;
            d.answer_reset = a.answer_reset;
            break;
        }
    return d;
}

bool Policy::fleet_candidate(const AccountSignals& local, double fraction) const {
    for (const PolicyRule& r : rules_) {
        const FleetCounterpart* c = fleet_counterpart(r.signal);
        if (c == nullptr || !r.above) continue;
        if (signal_value(c->local, r.hit_class, local) >= fraction * *r.above) return true;
    }
    return false;
}

}  // namespace sluice::account
