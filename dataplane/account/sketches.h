// Bounded-memory sketches for per-account signals (the account correlator keeps one set per
// account, so memory per account is fixed whatever the traffic):
//   HyperLogLog  distinct counts (source addresses, prefixes, JA4s, user agents): standard
//                error 1.04/sqrt(m) for m registers (m = 1024: 3.25%, 1 KiB).
//   CountMin     frequencies with one-sided error: estimate - true <= eps * N with
//                probability >= 1 - delta, for width ceil(e/eps) and depth ceil(ln 1/delta).
//   SimHash      64-bit near-duplicate signature of a prompt (word 3-shingles): prompts from
//                one template with different slot values differ in few bits (measured: at
//                most 14 of 64 for a 30-word template with 2-5 word slots, against at least 27
//                for unrelated prompts; tests/unit/sketches_test.cc); 4 bands of 16 bits give
//                LSH candidates for near-exact copies (distance <= 3).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace sluice::account {

class HyperLogLog {
  public:
    explicit HyperLogLog(uint8_t precision = 10);  // m = 2^precision registers, 4..16
    void add(uint64_t hash);
    void add(std::string_view item);
    double estimate() const;
    void merge(const HyperLogLog& other);  // same precision
    // The estimate of a ∪ b without building the merged sketch (same precision).
    static double estimate_union(const HyperLogLog& a, const HyperLogLog& b);
    void clear();
    size_t bytes() const { return regs_.size(); }
    double standard_error() const;

  private:
    uint8_t p_;
    std::vector<uint8_t> regs_;
};

// Register operations shared by HyperLogLog and FixedHyperLogLog.
void hll_add(std::span<uint8_t> regs, unsigned precision, uint64_t hash);
double hll_estimate(std::span<const uint8_t> regs);
double hll_estimate_union(std::span<const uint8_t> a, std::span<const uint8_t> b);

// A HyperLogLog with its registers inline (no allocation): what per-account state uses, so
// an account's sketches are one block of memory.
template <unsigned P>
class FixedHyperLogLog {
  public:
    static_assert(P >= 4 && P <= 12);
    void add(uint64_t hash) { hll_add(regs_, P, hash); }
    double estimate() const { return hll_estimate(regs_); }
    static double estimate_union(const FixedHyperLogLog& a, const FixedHyperLogLog& b) {
        return hll_estimate_union(a.regs_, b.regs_);
    }
    void clear() { regs_.fill(0); }
    static constexpr size_t bytes() { return size_t{1} << P; }
    static double standard_error() {
        return 1.04 / (P % 2 ? 1.4142135623730951 : 1.0) / double(1u << (P / 2));
    }

  private:
    std::array<uint8_t, size_t{1} << P> regs_{};
};

class CountMin {
  public:
    CountMin(double epsilon, double delta);
    void add(uint64_t hash, uint64_t count = 1);
    void add(std::string_view item, uint64_t count = 1);
    uint64_t estimate(uint64_t hash) const;
    uint64_t estimate(std::string_view item) const;
    uint64_t total() const { return total_; }
    size_t width() const { return w_; }
    size_t depth() const { return d_; }
    size_t bytes() const { return table_.size() * sizeof(uint64_t); }

  private:
    size_t w_, d_;
    std::vector<uint64_t> table_;
    uint64_t total_ = 0;
};

// 64-bit SimHash of normalised text: lower-cased word tokens (letters and digits), shingles of
// three consecutive tokens, each hashed and voted into 64 bit counters.
uint64_t simhash(std::string_view text);
inline int hamming(uint64_t a, uint64_t b) {
    return __builtin_popcountll(a ^ b);
}
// A prompt's frame: hashes of its first and last 8 tokens (lower-cased, digit runs folded),
// where templates keep their fixed instructions around the varying content. 0: the prompt
// is too short (under 16 tokens) to tell frame from content.
struct PromptFrame {
    uint64_t head = 0, tail = 0;
};
PromptFrame prompt_frame(std::string_view text);

// The four 16-bit bands of a signature, each tagged with its band number (LSH buckets).
std::array<uint32_t, 4> simhash_bands(uint64_t sig);

uint64_t hash_item(std::string_view item);

}  // namespace sluice::account
