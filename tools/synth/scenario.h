// Populations and scenarios: who sends what, from where, when. A scenario is a list of
// populations (an account class with counts and rates) over a duration; built-in scenarios
// cover the quickstart, benign traffic with its hard look-alikes, distillation hydras,
// reseller relays and signup farms. Custom scenarios come from YAML (docs/synth.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::synth {

enum class AccountClass : uint8_t {
    Benign,      // ordinary customers
    OfficeNat,   // many accounts behind one NAT address (look-alike)
    CiHeavy,     // one key, repetitive prompts at a high rate (look-alike)
    Traveller,   // one account from several networks (look-alike)
    Enterprise,  // many keys of one organisation from one prefix (look-alike)
    Hydra,       // distillation accounts through residential proxies, synchronized
    Reseller,    // pooled keys and resold subscriptions relayed from many IPs
    Farm,        // signup and key-creation bots
};
std::string_view class_name(AccountClass c);
std::optional<AccountClass> class_from_name(std::string_view n);
bool is_attack(AccountClass c);

enum class Timing : uint8_t { Diurnal, Bursty, Synchronized, Steady };
std::string_view timing_name(Timing t);

struct Population {
    AccountClass cls = AccountClass::Benign;
    uint32_t accounts = 1;
    double sessions_per_account = 3;  // connections per account over the scenario
    uint32_t requests_per_session = 1;
    uint32_t ips = 0;       // address pool size (0: the class default)
    uint32_t clusters = 1;  // hydras/resellers: independent groups
    Timing timing = Timing::Diurnal;
    std::string profile;  // TLS profile override ("" = class default)
};

struct Scenario {
    std::string name;
    std::string description;
    double duration_s = 300;
    std::vector<Population> populations;
};

std::vector<std::string> builtin_scenarios();
std::optional<Scenario> builtin_scenario(std::string_view name);
// Loads a YAML scenario; on error returns nullopt and sets `error` (file:line:col: what).
std::optional<Scenario> load_scenario_file(const std::string& path, std::string& error);
// Multiplies accounts and duration (sessions per account stay).
Scenario scaled(const Scenario& s, double scale);

}  // namespace sluice::synth
