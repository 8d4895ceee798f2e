// The correlator's thread with live producers (runtime/correlator_thread.h): workers push
// observations into their own queues and read the enforcement slot, while control threads read
// the published counters and run queries and policy swaps on the correlator's thread. Under
// ThreadSanitizer (build/tsan) any access to the correlator's state from another thread is a
// reported race; the counts below check nothing was lost on the way.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "account/policy.h"
#include "runtime/correlator_thread.h"
#include "tls/secret_feed.h"

namespace sluice {
namespace {

using account::Observation;
using account::Policy;

struct CountingSink final : EventSink {
    std::atomic<uint64_t> records{0};
    bool emit(EveOrder, std::string_view) override {
        records.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
};

std::shared_ptr<const Policy> policy_of(const std::string& yaml) {
    std::string err;
    auto p = Policy::parse(yaml, "test.yaml", err);
    EXPECT_TRUE(p) << err;
    return std::make_shared<const Policy>(std::move(*p));
}

constexpr const char* kPolicy = R"(
window: 600
rules:
  - {name: busy, signal: requests, above: 50, score: 100}
actions:
  - {score: 100, action: rate-limit, rate_per_minute: 30, target: account}
)";

Observation obs(unsigned worker, uint64_t i) {
    Observation o;
    char id[17];
    std::snprintf(id, sizeof id, "%08x%08x", worker + 1, static_cast<unsigned>(i % 97));
    std::memcpy(o.account.data(), id, 16);
    o.ts_ns = 1'700'000'000'000'000'000ull + i * 1'000'000ull;
    o.seq = i;
    o.src = *IpAddress::parse("192.0.2." + std::to_string(1 + i % 200));
    o.pushed_ns = 1;
    return o;
}

TEST(CorrelatorThread, LiveProducersControlQueriesAndPolicySwaps) {
    CountingSink sink;
    ProducerProgress own;
    CorrelatorThread ct(policy_of(kPolicy), sink, 9, own, /*ordered=*/false);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    ct.set_enforcement(&pub);
    constexpr unsigned kWorkers = 2;
    constexpr uint64_t kPerWorker = 20000;
    std::vector<std::unique_ptr<ObservationQueue>> queues;
    std::vector<std::unique_ptr<ProducerProgress>> progress;
    for (unsigned w = 0; w < kWorkers; ++w) {
        // Worker 0 waits when its queue is full (as offline), worker 1 drops and counts (live).
        queues.push_back(std::make_unique<ObservationQueue>(1024, /*block_when_full=*/w == 0));
        progress.push_back(std::make_unique<ProducerProgress>());
        ct.add_worker(*queues.back(), *progress.back());
    }
    ct.start();

    std::atomic<bool> producing{true};
    std::atomic<uint64_t> lookups{0};
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < kWorkers; ++w)
        workers.emplace_back([&, w] {
            for (uint64_t i = 0; i < kPerWorker; ++i) {
                queues[w]->observe(obs(w, i));
                // What a worker does per request: look the subject up in the snapshot.
                if (const EnforcementTable* t = slot.current()) {
                    t->find(0, obs(w, i).src, 0, 0);
                    lookups.fetch_add(1, std::memory_order_relaxed);
                }
                progress[w]->done.store(i, std::memory_order_release);
            }
            progress[w]->done.store(EveOrder::kFinalSeq, std::memory_order_release);
        });
    std::atomic<uint64_t> answered{0}, swapped{0};
    std::thread control([&] {
        // What status, accounts.top and policy.push do from control connections.
        // At least one round even if the workers finish first (two cores): the thread runs
        // until finish() either way.
        uint64_t last = 0;
        do {
            const auto c = ct.counters();
            EXPECT_GE(c.observations, last);
            last = c.observations;
            auto text = std::make_shared<std::string>();
            if (ct.call([text](account::Correlator& k) { *text = k.top_json(5); }, 5000)) {
                EXPECT_FALSE(text->empty());
                answered.fetch_add(1);
            }
            auto p = policy_of(kPolicy);
            if (ct.call([p](account::Correlator& k) { k.set_policy(p); }, 5000))
                swapped.fetch_add(1);
            (void)ct.memory_bytes();
        } while (producing.load());
    });
    for (auto& t : workers) t.join();
    producing.store(false);
    control.join();
    ct.finish();

    uint64_t dropped = 0;
    for (auto& q : queues) dropped += q->dropped();
    const auto c = ct.counters();
    EXPECT_EQ(c.observations + dropped, kWorkers * kPerWorker);
    EXPECT_GT(c.observations, 0u);
    EXPECT_GT(answered.load(), 0u);
    EXPECT_GT(swapped.load(), 0u);
    EXPECT_EQ(queues[0]->dropped(), 0u);
    EXPECT_GT(c.flagged, 0u) << "worker 0's 97 accounts at ~200 requests each cross 50; "
                             << c.observations << " observed, " << dropped << " dropped";
    EXPECT_GT(pub.published(), 0u);
    EXPECT_FALSE(ct.call([](account::Correlator&) {}, 100)) << "no call after finish()";
}

// A secret feed: one producer (the control thread), one consumer (the worker, between bursts).
TEST(SecretFeed, OneProducerOneConsumerLoseNothingButWhatIsRefused) {
    tls::SecretFeed feed(64);
    constexpr uint32_t kSecrets = 50000;
    std::atomic<bool> done{false};
    uint64_t refused = 0, seen = 0, sum = 0, want = 0;
    std::thread worker([&] {
        for (;;) {
            const bool last = done.load(std::memory_order_acquire);
            feed.drain([&](const tls::SecretUpdate& u) {
                ++seen;
                uint32_t v;
                std::memcpy(&v, u.client_random.data(), sizeof v);
                sum += v;
            });
            if (last && feed.empty()) break;
            std::this_thread::yield();
        }
    });
    for (uint32_t i = 1; i <= kSecrets; ++i) {
        tls::SecretUpdate u;
        std::memcpy(u.client_random.data(), &i, sizeof i);
        if (feed.push(u))
            want += i;
        else
            ++refused;
    }
    done.store(true, std::memory_order_release);
    worker.join();
    EXPECT_EQ(seen + refused, kSecrets);
    EXPECT_EQ(sum, want);
}

}  // namespace
}  // namespace sluice
