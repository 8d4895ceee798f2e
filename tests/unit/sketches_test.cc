// Each sketch against its error bound.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>

#include "account/sketches.h"

using namespace sluice::account;

TEST(HyperLogLog, WithinThreeStandardErrors) {
    for (uint8_t p : {10, 12, 14}) {
        for (uint64_t n : {50ull, 1000ull, 20000ull, 500000ull}) {
            HyperLogLog h(p);
            for (uint64_t i = 0; i < n; ++i) h.add("203.0.113." + std::to_string(i) + "/0");
            // Repeats change nothing.
            for (uint64_t i = 0; i < n; i += 3) h.add("203.0.113." + std::to_string(i) + "/0");
            const double err = std::abs(h.estimate() - double(n)) / double(n);
            EXPECT_LE(err, 3 * h.standard_error())
                << "p=" << int(p) << " n=" << n << " est=" << h.estimate();
        }
    }
    HyperLogLog e;
    EXPECT_EQ(e.estimate(), 0.0);
    EXPECT_EQ(e.bytes(), 1024u);
}

TEST(HyperLogLog, MergeIsUnion) {
    HyperLogLog a, b, both;
    for (int i = 0; i < 3000; ++i) {
        const std::string s = "ja4-" + std::to_string(i);
        (i % 2 ? a : b).add(s);
        both.add(s);
    }
    a.merge(b);
    EXPECT_DOUBLE_EQ(a.estimate(), both.estimate());
}

TEST(CountMin, OneSidedErrorBound) {
    const double eps = 0.001, delta = 0.01;
    CountMin cm(eps, delta);
    std::mt19937_64 rng(3);
    std::map<std::string, uint64_t> truth;
    // Zipf-like: a few heavy hitters (pooled keys) among many light users.
    for (int i = 0; i < 200000; ++i) {
        const uint64_t r = rng() % 1000;
        const std::string k =
            r < 300 ? "heavy-" + std::to_string(r % 5) : "user-" + std::to_string(rng() % 20000);
        cm.add(k);
        ++truth[k];
    }
    size_t over = 0;
    for (const auto& [k, n] : truth) {
        const uint64_t est = cm.estimate(k);
        EXPECT_GE(est, n);  // never under-counts
        if (double(est - n) > eps * double(cm.total())) ++over;
    }
    EXPECT_LE(double(over) / double(truth.size()), delta);
    EXPECT_EQ(cm.width(), 2719u);
    EXPECT_EQ(cm.depth(), 5u);
}

TEST(SimHash, TemplatesAreCloseUnrelatedAreFar) {
    const std::string tpl1 = "Here is a completed response about ";
    const std::string tpl2 =
        ". Imagine and articulate the internal reasoning behind the completed response and "
        "write it out step by step, covering every assumption you made.";
    const char* slots[] = {"prime numbers", "the French revolution", "binary search trees",
                           "photosynthesis in desert plants", "rust lifetimes"};
    std::vector<uint64_t> same;
    for (const char* s : slots) same.push_back(simhash(tpl1 + s + tpl2));
    int max_same = 0;
    for (size_t i = 0; i < same.size(); ++i)
        for (size_t j = i + 1; j < same.size(); ++j)
            max_same = std::max(max_same, hamming(same[i], same[j]));
    const char* others[] = {
        "Write a Python function that merges two sorted lists and explain its complexity.",
        "Translate into German, keeping the formal tone of the letter we received today.",
        "Plan a three-day trip to Lisbon on a budget with museums and food markets.",
        "Review this SQL query for performance problems and suggest the right indexes."};
    int min_other = 64;
    for (const char* o : others)
        for (uint64_t s : same) min_other = std::min(min_other, hamming(simhash(o), s));
    std::printf("simhash: max distance within the template %d, min to unrelated %d\n", max_same,
                min_other);
    EXPECT_LE(max_same, 16) << "one template, different slots";
    EXPECT_GE(min_other, 18) << "unrelated prompts";
    // Identical text, identical signature; case and punctuation do not matter.
    EXPECT_EQ(simhash("Show me, the WAY!"), simhash("show me the way"));
    // LSH bands: each 16-bit slice tagged with its band number, low slice first.
    EXPECT_EQ(simhash_bands(0x1111222233334444ull),
              (std::array<uint32_t, 4>{0x4444u, 0x13333u, 0x22222u, 0x31111u}));
}
