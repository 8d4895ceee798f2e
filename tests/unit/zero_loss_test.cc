// The zero-loss search against simulated devices under test.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "zero_loss.h"

using namespace sluice::pktgen;

namespace {
// A DUT that forwards everything up to `capacity` pps and drops the excess.
TrialResult dut(double rate, double capacity, double trial_s = 1.0) {
    TrialResult r;
    r.sent = static_cast<uint64_t>(rate * trial_s);
    r.received = static_cast<uint64_t>(std::min(rate, capacity) * trial_s);
    r.offered_pps = rate;
    r.received_pps = std::min(rate, capacity);
    return r;
}
}  // namespace

TEST(ZeroLoss, FindsCapacityWithinResolution) {
    for (double cap : {1500.0, 12345.0, 250000.0, 777777.0}) {
        SearchOptions o;
        o.max_pps = 1e6;
        o.min_pps = 1000;
        o.resolution = 0.01;
        const SearchResult r = zero_loss_search(o, [&](double rate) { return dut(rate, cap); });
        EXPECT_LE(r.ndr_pps, cap) << cap;
        EXPECT_GE(r.ndr_pps, cap - o.resolution * o.max_pps) << cap;
        EXPECT_EQ(r.at_ndr.loss_ratio(), 0.0);
        EXPECT_LE(r.steps.size(), static_cast<size_t>(o.max_trials));
        // Every trial above the answer lost packets, every one at or below passed.
        for (const SearchStep& s : r.steps) EXPECT_EQ(s.passed, s.rate_pps <= cap) << s.rate_pps;
    }
}

TEST(ZeroLoss, LineRateNeedsOneTrialAndHopelessDutNone) {
    SearchOptions o;
    o.max_pps = 5e5;
    SearchResult r = zero_loss_search(o, [&](double rate) { return dut(rate, 1e9); });
    EXPECT_EQ(r.ndr_pps, 5e5);
    EXPECT_EQ(r.steps.size(), 1u);
    r = zero_loss_search(o, [&](double rate) { return dut(rate, 10); });
    EXPECT_EQ(r.ndr_pps, 0.0);
    EXPECT_EQ(r.steps.size(), 2u);  // the top, then the floor
}

TEST(ZeroLoss, ToleranceAcceptsSmallLoss) {
    // 0.1% loss at every rate below 200k, heavy loss above.
    auto lossy = [](double rate) {
        TrialResult r;
        r.sent = static_cast<uint64_t>(rate);
        r.received = rate <= 200000 ? static_cast<uint64_t>(rate * 0.999)
                                    : static_cast<uint64_t>(rate * 0.5);
        return r;
    };
    SearchOptions o;
    o.max_pps = 1e6;
    EXPECT_EQ(zero_loss_search(o, lossy).ndr_pps, 0.0);  // zero tolerance: nothing passes
    o.loss_tolerance = 0.002;
    const double ndr = zero_loss_search(o, lossy).ndr_pps;
    EXPECT_LE(ndr, 200000.0);
    EXPECT_GE(ndr, 200000.0 - 0.01 * 1e6);
}

TEST(ZeroLoss, NoisyDutStillBracketsTheCapacity) {
    // Capacity wanders by +-2% from trial to trial, as on a shared VM.
    std::mt19937 rng(5);
    SearchOptions o;
    o.max_pps = 1e6;
    const SearchResult r = zero_loss_search(o, [&](double rate) {
        const double cap = 400000 * (0.98 + 0.04 * std::uniform_real_distribution<>(0, 1)(rng));
        return dut(rate, cap);
    });
    EXPECT_GE(r.ndr_pps, 380000.0);
    EXPECT_LE(r.ndr_pps, 408000.0);
}
