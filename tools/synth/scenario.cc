#include "scenario.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

namespace sluice::synth {

namespace {
struct ClassName {
    AccountClass c;
    std::string_view n;
};
constexpr ClassName kClasses[] = {
    {AccountClass::Benign, "benign"},         {AccountClass::OfficeNat, "office_nat"},
    {AccountClass::CiHeavy, "ci_heavy"},      {AccountClass::Traveller, "traveller"},
    {AccountClass::Enterprise, "enterprise"}, {AccountClass::Hydra, "hydra"},
    {AccountClass::Reseller, "reseller"},     {AccountClass::Farm, "farm"},
};
}  // namespace

std::string_view class_name(AccountClass c) {
    for (const auto& x : kClasses)
        if (x.c == c) return x.n;
    return "?";
}

std::optional<AccountClass> class_from_name(std::string_view n) {
    for (const auto& x : kClasses)
        if (x.n == n) return x.c;
    return std::nullopt;
}

bool is_attack(AccountClass c) {
    return c == AccountClass::Hydra || c == AccountClass::Reseller || c == AccountClass::Farm;
}

std::string_view timing_name(Timing t) {
    switch (t) {
        case Timing::Diurnal:
            return "diurnal";
        case Timing::Bursty:
            return "bursty";
        case Timing::Synchronized:
            return "synchronized";
        case Timing::Steady:
            return "steady";
    }
    return "?";
}

namespace {

Population pop(AccountClass c, uint32_t accounts, double sessions, uint32_t reqs, Timing t,
               uint32_t ips = 0, uint32_t clusters = 1) {
    Population p;
    p.cls = c;
    p.accounts = accounts;
    p.sessions_per_account = sessions;
    p.requests_per_session = reqs;
    p.timing = t;
    p.ips = ips;
    p.clusters = clusters;
    return p;
}

std::vector<Population> lookalikes() {
    return {pop(AccountClass::OfficeNat, 6, 2, 1, Timing::Diurnal),
            pop(AccountClass::CiHeavy, 1, 8, 3, Timing::Steady),
            pop(AccountClass::Traveller, 1, 4, 1, Timing::Diurnal, 3),
            pop(AccountClass::Enterprise, 5, 2, 1, Timing::Diurnal)};
}

}  // namespace

std::vector<std::string> builtin_scenarios() {
    return {"quickstart", "benign", "hydra", "reseller", "farm", "mixed"};
}

std::optional<Scenario> builtin_scenario(std::string_view name) {
    Scenario s;
    s.name = std::string(name);
    auto add = [&](std::vector<Population> v) {
        s.populations.insert(s.populations.end(), v.begin(), v.end());
    };
    if (name == "quickstart") {
        s.description = "small and mixed: a few customers, a CI job, a hydra, a relay, a farm";
        s.duration_s = 60;
        add({pop(AccountClass::Benign, 5, 1, 1, Timing::Diurnal),
             pop(AccountClass::CiHeavy, 1, 2, 2, Timing::Steady),
             pop(AccountClass::Hydra, 4, 1, 1, Timing::Synchronized, 4),
             pop(AccountClass::Reseller, 2, 2, 1, Timing::Bursty, 3),
             pop(AccountClass::Farm, 2, 1, 1, Timing::Bursty, 2)});
    } else if (name == "benign") {
        s.description = "customers only, including the look-alikes that make detection hard";
        s.duration_s = 600;
        add({pop(AccountClass::Benign, 40, 3, 2, Timing::Diurnal)});
        add(lookalikes());
    } else if (name == "hydra") {
        s.description = "a distillation campaign: synchronized accounts behind residential proxies";
        s.duration_s = 600;
        add({pop(AccountClass::Hydra, 30, 4, 2, Timing::Synchronized, 12, 2),
             pop(AccountClass::Benign, 15, 3, 1, Timing::Diurnal)});
    } else if (name == "reseller") {
        s.description = "relays reselling pooled keys and subscriptions from many addresses";
        s.duration_s = 600;
        add({pop(AccountClass::Reseller, 4, 12, 2, Timing::Bursty, 20, 2),
             pop(AccountClass::Benign, 15, 3, 1, Timing::Diurnal)});
    } else if (name == "farm") {
        s.description = "signup and key-creation bots";
        s.duration_s = 300;
        add({pop(AccountClass::Farm, 25, 1, 2, Timing::Bursty, 8),
             pop(AccountClass::Benign, 10, 2, 1, Timing::Diurnal)});
    } else if (name == "mixed") {
        s.description = "everything at once: customers, look-alikes, hydras, relays, farms";
        s.duration_s = 900;
        add({pop(AccountClass::Benign, 60, 3, 2, Timing::Diurnal)});
        add(lookalikes());
        add({pop(AccountClass::Hydra, 24, 3, 2, Timing::Synchronized, 10, 2),
             pop(AccountClass::Reseller, 3, 10, 2, Timing::Bursty, 15, 1),
             pop(AccountClass::Farm, 12, 1, 2, Timing::Bursty, 6)});
    } else {
        return std::nullopt;
    }
    return s;
}

Scenario scaled(const Scenario& s, double scale) {
    Scenario out = s;
    out.duration_s = std::max(1.0, s.duration_s * std::max(scale, 0.01));
    for (Population& p : out.populations) {
        p.accounts = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(p.accounts * scale)));
        if (p.ips > 0)
            p.ips = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(p.ips * scale)));
    }
    return out;
}

std::optional<Scenario> load_scenario_file(const std::string& path, std::string& error) {
    auto at = [&](const YAML::Node& n) {
        const auto m = n.Mark();
        return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
    };
    try {
        const YAML::Node root = YAML::LoadFile(path);
        Scenario s;
        s.name = root["name"] ? root["name"].as<std::string>() : path;
        if (root["description"]) s.description = root["description"].as<std::string>();
        if (root["duration"]) s.duration_s = root["duration"].as<double>();
        if (s.duration_s <= 0) {
            error = at(root["duration"]) + "duration must be positive (seconds)";
            return std::nullopt;
        }
        if (!root["populations"] || !root["populations"].IsSequence()) {
            error = at(root) + "expected 'populations:' with a list of populations";
            return std::nullopt;
        }
        for (const auto& n : root["populations"]) {
            Population p;
            for (const auto& kv : n) {
                const auto k = kv.first.as<std::string>();
                const YAML::Node& v = kv.second;
                if (k == "class") {
                    auto c = class_from_name(v.as<std::string>());
                    if (!c) {
                        error = at(v) + "unknown class '" + v.as<std::string>() +
                                "' (benign, office_nat, ci_heavy, traveller, enterprise, hydra, "
                                "reseller, farm)";
                        return std::nullopt;
                    }
                    p.cls = *c;
                } else if (k == "accounts") {
                    p.accounts = v.as<uint32_t>();
                } else if (k == "sessions_per_account") {
                    p.sessions_per_account = v.as<double>();
                } else if (k == "requests_per_session") {
                    p.requests_per_session = std::max<uint32_t>(1, v.as<uint32_t>());
                } else if (k == "ips") {
                    p.ips = v.as<uint32_t>();
                } else if (k == "clusters") {
                    p.clusters = std::max<uint32_t>(1, v.as<uint32_t>());
                } else if (k == "timing") {
                    const auto t = v.as<std::string>();
                    if (t == "diurnal")
                        p.timing = Timing::Diurnal;
                    else if (t == "bursty")
                        p.timing = Timing::Bursty;
                    else if (t == "synchronized")
                        p.timing = Timing::Synchronized;
                    else if (t == "steady")
                        p.timing = Timing::Steady;
                    else {
                        error = at(v) + "timing must be diurnal, bursty, synchronized or steady";
                        return std::nullopt;
                    }
                } else if (k == "profile") {
                    p.profile = v.as<std::string>();
                } else {
                    error = at(kv.first) + "unknown key '" + k + "' in a population";
                    return std::nullopt;
                }
            }
            s.populations.push_back(p);
        }
        return s;
    } catch (const YAML::Exception& e) {
        error = path + ":" + std::to_string(e.mark.line + 1) + ":" +
                std::to_string(e.mark.column + 1) + ": " + e.msg;
        return std::nullopt;
    }
}

}  // namespace sluice::synth
