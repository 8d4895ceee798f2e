// Account correlation costs: correlator observations per second on one core (against a
// baseline that only counts requests per account, in the same invocation), memory for 1M
// accounts, and the decision-to-enforcement delay through the RCU-published table with worker
// threads reading it. Prints JSON (tools/bench/accounts.py makes the table).
//   sluice-bench-accounts [--observations N] [--accounts N] [--memory-accounts N]
//                         [--fleet HOST:PORT,...]
// With --fleet (a Redis, standalone or a cluster seed list), also the correlator with the fleet
// on against off (interleaved, same observations) and the Redis commands it costs.
#include <unistd.h>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "account/correlator.h"
#include "account/sketches.h"
#include "fleet/fleet_link.h"
#include "rules/rule_set.h"
#include "runtime/enforcement_rcu.h"

using namespace sluice;
using namespace sluice::account;

namespace {

uint64_t steady_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

size_t rss_bytes() {
    std::ifstream in("/proc/self/statm");
    size_t pages = 0, resident = 0;
    in >> pages >> resident;
    return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

std::shared_ptr<const Policy> shipped() {
    std::string err;
    auto p = Policy::load(rules::default_rules_dir() + "/policy/default.yaml", err);
    if (!p) {
        std::fprintf(stderr, "%s\n", err.c_str());
        std::exit(2);
    }
    return std::make_shared<const Policy>(std::move(*p));
}

std::array<char, 16> account_id(uint32_t i) {
    std::array<char, 16> a;
    char b[17];
    std::snprintf(b, sizeof b, "%016x", i * 2654435761u + 1);
    std::memcpy(a.data(), b, 16);
    return a;
}

// A population: customers on their own addresses, 5% of accounts in hydras rotating over
// a shared proxy pool with templated distillation prompts.
std::vector<Observation> population(uint32_t accounts, uint64_t n, uint32_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Observation> out;
    out.reserve(n);
    const uint64_t t0 = 1'767'225'600ull * 1'000'000'000ull;
    const uint64_t span = 3600ull * 1'000'000'000ull;
    const uint16_t dist = 1u << static_cast<unsigned>(RuleClass::Distillation);
    for (uint64_t k = 0; k < n; ++k) {
        const uint32_t a = static_cast<uint32_t>(rng() % accounts);
        const bool hydra = a % 20 == 0;
        Observation o;
        o.ts_ns = t0 + span * k / n;
        o.seq = k;
        o.account = account_id(a);
        o.hint_len = 0;
        std::array<uint8_t, 4> ip;
        if (hydra) {
            const uint32_t exit = static_cast<uint32_t>(rng() % 1000);
            ip = {100, 64, static_cast<uint8_t>(exit >> 8), static_cast<uint8_t>(exit)};
            o.hit_classes = dist;
            o.prompt_head = 0x1234567 | 1;
            o.prompt_tail = rng() | 1;
        } else {
            ip = {198, static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
                  static_cast<uint8_t>(a)};
        }
        o.src = IpAddress::v4(ip);
        o.ja4_hash = hydra ? 7 : 8 + a % 3;
        o.ua_hash = 11 + a % 5;
        o.prompt_simhash = rng();
        o.prompt_bytes = 400;
        o.request_bytes = 2000;
        o.response_bytes = 4000;
        o.input_tokens = 500;
        o.output_tokens = 300;
        out.push_back(o);
    }
    return out;
}

struct CountSink final : EventSink {
    uint64_t n = 0;
    bool emit(EveOrder, std::string_view) override {
        ++n;
        return true;
    }
};

}  // namespace

int main(int argc, char** argv) {
    uint64_t observations = 2'000'000;
    uint32_t accounts = 100'000, memory_accounts = 1'000'000;
    std::string fleet_seeds;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--observations"))
            observations = std::strtoull(argv[++i], nullptr, 10);
        else if (!std::strcmp(argv[i], "--accounts"))
            accounts = static_cast<uint32_t>(std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--memory-accounts"))
            memory_accounts = static_cast<uint32_t>(std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--fleet"))
            fleet_seeds = argv[++i];
    }
    const auto policy = shipped();
    std::printf("{");

    // 1. Throughput on one core.
    {
        const auto obs = population(accounts, observations, 7);
        // Baseline: requests counted per account id, the least state a per-account limiter keeps.
        std::unordered_map<std::string, uint64_t> counts;
        auto t0 = std::chrono::steady_clock::now();
        for (const Observation& o : obs) ++counts[std::string(o.account.data(), 16)];
        const double base =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CountSink sink;
        Correlator c(policy, &sink, 0);
        t0 = std::chrono::steady_clock::now();
        for (const Observation& o : obs) c.observe(o);
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf(
            "\"throughput\":{\"observations\":%llu,\"accounts\":%u,\"seconds\":%.3f,"
            "\"per_second\":%.0f,\"baseline_per_second\":%.0f,\"ratio\":%.3f,"
            "\"records\":%llu,\"flagged\":%llu,\"clusters\":%llu},",
            (unsigned long long)observations, accounts, s, double(observations) / s,
            double(observations) / base, base / s, (unsigned long long)sink.n,
            (unsigned long long)c.counters().flagged, (unsigned long long)c.counters().clusters);
    }

    // 1b. The fleet on against off: every observation's evidence published (the fleet thread
    // waits for none: offline-style blocking queue, so nothing is dropped and the time includes
    // the last batch), interleaved runs over the same observations.
    if (!fleet_seeds.empty()) {
        fleet::FleetOptions fo;
        fo.enabled = true;
        fo.key_prefix = "bench" + std::to_string(::getpid()) + ":";
        for (size_t at = 0; at <= fleet_seeds.size();) {
            const size_t comma = std::min(fleet_seeds.find(',', at), fleet_seeds.size());
            fleet::Endpoint e;
            if (!fleet::parse_endpoint(fleet_seeds.substr(at, comma - at), e)) {
                std::fprintf(stderr, "--fleet: expected host:port[,host:port...]\n");
                return 2;
            }
            fo.seeds.push_back(e);
            at = comma + 1;
        }
        const auto obs = population(accounts, observations, 11);
        const std::string secret = "bench-secret-0123456789abcdef";
        double off_s = 1e300, on_s = 1e300;
        fleet::FleetStats st;
        for (int rep = 0; rep < 3; ++rep) {
            {
                CountSink sink;
                Correlator c(policy, &sink, 0);
                const auto t0 = std::chrono::steady_clock::now();
                for (const Observation& o : obs) c.observe(o);
                off_s = std::min(
                    off_s,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            {
                fo.key_prefix =
                    "bench" + std::to_string(::getpid()) + "-" + std::to_string(rep) + ":";
                fleet::FleetLink link(fo, as_bytes(secret), /*offline=*/true);
                CountSink sink;
                Correlator c(policy, &sink, 0);
                c.set_fleet(&link, fo.read_fraction,
                            uint64_t{fo.read_interval_s} * 1'000'000'000ull,
                            /*live_reads=*/true);
                link.start();
                const auto t0 = std::chrono::steady_clock::now();
                account::FleetView v;
                for (const Observation& o : obs) {
                    c.observe(o);
                    while (link.take(v)) c.apply_fleet(v, o.seq);
                }
                link.stop();
                const double s =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                if (s < on_s) {
                    on_s = s;
                    st = link.stats();
                }
            }
        }
        std::printf(
            "\"fleet\":{\"observations\":%llu,\"off_per_second\":%.0f,\"on_per_second\":%.0f,"
            "\"ratio\":%.3f,\"published\":%llu,\"publish_failed\":%llu,\"batches\":%llu,"
            "\"reads\":%llu,\"redis_commands\":%llu,\"commands_per_observation\":%.3f,"
            "\"commands_per_second\":%.0f,\"mode\":\"%s\",\"masters\":%zu},",
            (unsigned long long)observations, double(observations) / off_s,
            double(observations) / on_s, off_s / on_s,
            (unsigned long long)st.get(fleet::FleetCtr::Published),
            (unsigned long long)st.get(fleet::FleetCtr::PublishFailed),
            (unsigned long long)st.get(fleet::FleetCtr::Batches),
            (unsigned long long)st.get(fleet::FleetCtr::Reads),
            (unsigned long long)st.get(fleet::FleetCtr::RedisCommands),
            double(st.get(fleet::FleetCtr::RedisCommands)) / double(observations),
            double(st.get(fleet::FleetCtr::RedisCommands)) / on_s,
            st.standalone ? "standalone" : "cluster", st.masters);
    }

    // 2. Memory after a flood of distinct credentials within one window, against the policy's
    // capacity and memory budget (the shipped policy: 200,000 accounts, 1 GiB).
    {
        const size_t before = rss_bytes();
        auto c = std::make_unique<Correlator>(policy, nullptr, 0);
        const uint64_t t0 = 1'767'225'600ull * 1'000'000'000ull;
        for (uint32_t a = 0; a < memory_accounts; ++a) {
            Observation o;
            o.ts_ns = t0 + uint64_t(a) * 100'000;  // 1M accounts within 100 s
            o.account = account_id(a);
            o.src = IpAddress::v4(std::array<uint8_t, 4>{10, static_cast<uint8_t>(a >> 16),
                                                         static_cast<uint8_t>(a >> 8),
                                                         static_cast<uint8_t>(a)});
            o.ja4_hash = 9;
            o.ua_hash = 3;
            c->observe(o);
        }
        const size_t after = rss_bytes();
        const auto& k = c->counters();
        std::printf(
            "\"memory\":{\"accounts\":%u,\"rss_bytes\":%zu,\"bytes_per_account\":%.0f,"
            "\"estimate_bytes\":%zu,\"sketch_bytes_per_account\":%zu,\"budget_bytes\":%zu,"
            "\"capacity\":%llu,\"tracked\":%llu,\"evicted\":%llu,\"evictions\":%llu},",
            memory_accounts, after - before,
            double(after - before) / double(std::max<uint64_t>(k.tracked, 1)), c->memory_bytes(),
            AccountState::bytes_per_account(), size_t{policy->capacity().memory_mb} << 20,
            (unsigned long long)k.capacity, (unsigned long long)k.tracked,
            (unsigned long long)k.evicted, (unsigned long long)k.evictions);
    }

    // 3. Decision-to-enforcement delay: two worker threads read the table between "bursts"
    // (a short pause, as an idle worker backs off); the correlator decides, publishes,
    // and the RCU check says when every worker sees the new snapshot.
    {
        constexpr unsigned kWorkers = 2;
        RcuEnforcement rcu(kWorkers);
        std::string err;
        auto strict = Policy::parse(
            "rules:\n  - {name: d, signal: hits.distillation, above: 0, score: 100}\n"
            "actions:\n  - {score: 100, action: block}\n",
            "bench.yaml", err);
        Correlator c(std::make_shared<const Policy>(std::move(*strict)), nullptr, 0);
        c.set_publisher(&rcu);
        std::atomic<bool> stop{false};
        std::atomic<uint64_t> target{0}, decided_at{0};
        std::vector<uint64_t> seen_delay_us;
        std::vector<std::thread> workers;
        std::atomic<uint64_t> seen{0};
        for (unsigned w = 0; w < kWorkers; ++w)
            workers.emplace_back([&, w] {
                rcu.online(w);
                uint64_t last_target = 0;
                while (!stop.load(std::memory_order_relaxed)) {
                    rcu.quiescent(w);
                    const EnforcementTable* t = rcu.slot().current();
                    const uint64_t k = target.load(std::memory_order_acquire);
                    if (t != nullptr && k != 0 && k != last_target &&
                        t->find(k, IpAddress{}, 0, 0) != nullptr) {
                        last_target = k;
                        if (w == 0) {
                            const uint64_t d = steady_ns() - decided_at.load();
                            seen_delay_us.push_back(d / 1000);
                        }
                        seen.fetch_add(1);
                    }
                    std::this_thread::sleep_for(std::chrono::microseconds(20));
                }
                rcu.offline(w);
            });
        const int decisions = 200;
        const uint64_t t0 = 1'767'225'600ull * 1'000'000'000ull;
        for (int i = 0; i < decisions; ++i) {
            Observation o;
            o.ts_ns = t0 + uint64_t(i) * 1'000'000;
            o.account = account_id(5'000'000 + i);
            o.src = IpAddress::v4(std::array<uint8_t, 4>{10, 1, 2, 3});
            o.hit_classes = 1u << static_cast<unsigned>(RuleClass::Distillation);
            o.pushed_ns = steady_ns();
            decided_at.store(o.pushed_ns);
            target.store(account_key({o.account.data(), 16}), std::memory_order_release);
            c.observe(o);
            c.flush();
            while (rcu.pending()) {
                rcu.reclaim();
                std::this_thread::sleep_for(std::chrono::microseconds(10));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        stop.store(true);
        for (auto& t : workers) t.join();
        std::sort(seen_delay_us.begin(), seen_delay_us.end());
        const EnforcementDelay d = rcu.delay();
        auto pct = [&](double p) {
            return seen_delay_us.empty()
                       ? 0
                       : seen_delay_us[std::min(seen_delay_us.size() - 1,
                                                size_t(p * seen_delay_us.size()))];
        };
        std::printf(
            "\"delay\":{\"decisions\":%d,\"all_workers_us\":{\"p50\":%llu,\"p99\":%llu,"
            "\"max\":%llu},\"first_lookup_us\":{\"p50\":%llu,\"p99\":%llu}}",
            decisions, (unsigned long long)d.p50_us, (unsigned long long)d.p99_us,
            (unsigned long long)d.max_us, (unsigned long long)pct(0.5),
            (unsigned long long)pct(0.99));
    }
    std::printf("}\n");
    return 0;
}
