#include "account/sketches.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "common/hash.h"

namespace sluice::account {

uint64_t hash_item(std::string_view item) {
    return hash_bytes({reinterpret_cast<const uint8_t*>(item.data()), item.size()}, 0x51c3);
}

// --- HyperLogLog ----------------------------------------------------------------------------

HyperLogLog::HyperLogLog(uint8_t precision)
    : p_(std::clamp<uint8_t>(precision, 4, 16)), regs_(size_t{1} << p_, 0) {}

void hll_add(std::span<uint8_t> regs, unsigned p, uint64_t h) {
    const size_t idx = h >> (64 - p);
    const uint64_t rest = (h << p) | (uint64_t{1} << (p - 1));  // guard bit: rank <= 64-p+1
    const uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
    if (rank > regs[idx]) regs[idx] = rank;
}

void HyperLogLog::add(uint64_t h) {
    hll_add(regs_, p_, h);
}

void HyperLogLog::add(std::string_view item) {
    add(hash_item(item));
}

namespace {
// 2^-r for every register value (ranks are at most 64 - p + 1).
struct PowTable {
    std::array<double, 66> v{};
    PowTable() {
        for (size_t r = 0; r < v.size(); ++r) v[r] = std::ldexp(1.0, -static_cast<int>(r));
    }
};
const PowTable kPow;

double finish_estimate(double m, double sum, size_t zeros) {
    const double alpha = m == 16   ? 0.673
                         : m == 32 ? 0.697
                         : m == 64 ? 0.709
                                   : 0.7213 / (1 + 1.079 / m);
    const double e = alpha * m * m / sum;
    // Small range: linear counting while registers are still empty.
    if (e <= 2.5 * m && zeros > 0) return m * std::log(m / static_cast<double>(zeros));
    return e;  // 64-bit hashes: no large-range correction needed
}
}  // namespace

double hll_estimate(std::span<const uint8_t> regs) {
    double sum = 0;
    size_t zeros = 0;
    for (uint8_t r : regs) {
        sum += kPow.v[r];
        zeros += r == 0;
    }
    return finish_estimate(static_cast<double>(regs.size()), sum, zeros);
}

double hll_estimate_union(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    if (a.size() != b.size()) return hll_estimate(a);
    double sum = 0;
    size_t zeros = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const uint8_t r = std::max(a[i], b[i]);
        sum += kPow.v[r];
        zeros += r == 0;
    }
    return finish_estimate(static_cast<double>(a.size()), sum, zeros);
}

double HyperLogLog::estimate() const {
    return hll_estimate(regs_);
}

double HyperLogLog::estimate_union(const HyperLogLog& a, const HyperLogLog& b) {
    return hll_estimate_union(a.regs_, b.regs_);
}

void HyperLogLog::merge(const HyperLogLog& o) {
    if (o.regs_.size() != regs_.size()) return;
    for (size_t i = 0; i < regs_.size(); ++i) regs_[i] = std::max(regs_[i], o.regs_[i]);
}

void HyperLogLog::clear() {
    std::fill(regs_.begin(), regs_.end(), 0);
}

double HyperLogLog::standard_error() const {
    return 1.04 / std::sqrt(static_cast<double>(regs_.size()));
}

// --- CountMin -------------------------------------------------------------------------------

CountMin::CountMin(double epsilon, double delta)
    : w_(static_cast<size_t>(std::ceil(std::exp(1.0) / epsilon))),
      d_(static_cast<size_t>(std::ceil(std::log(1.0 / delta)))),
      table_(w_ * d_, 0) {}

void CountMin::add(uint64_t h, uint64_t count) {
    total_ += count;
    for (size_t i = 0; i < d_; ++i)
        table_[i * w_ + mix64(h + i * 0x9e3779b97f4a7c15ull) % w_] += count;
}

void CountMin::add(std::string_view item, uint64_t count) {
    add(hash_item(item), count);
}

uint64_t CountMin::estimate(uint64_t h) const {
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < d_; ++i)
        best = std::min(best, table_[i * w_ + mix64(h + i * 0x9e3779b97f4a7c15ull) % w_]);
    return best;
}

uint64_t CountMin::estimate(std::string_view item) const {
    return estimate(hash_item(item));
}

// --- SimHash --------------------------------------------------------------------------------

uint64_t simhash(std::string_view text) {
    // Tokens: runs of ASCII letters/digits (lower-cased) or single non-ASCII bytes grouped
    // into runs, so other scripts still shingle.
    std::array<int32_t, 64> votes{};
    uint64_t window[3] = {0, 0, 0};
    size_t tokens = 0;
    auto vote = [&](uint64_t h) {
        for (int b = 0; b < 64; ++b) votes[b] += (h >> b) & 1 ? 1 : -1;
    };
    auto push = [&](uint64_t token) {
        window[0] = window[1];
        window[1] = window[2];
        window[2] = token;
        if (++tokens >= 3) vote(mix64(window[0] * 31 + mix64(window[1] * 17 + window[2])));
    };
    uint64_t h = 0;
    size_t len = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
        const unsigned char c = i < text.size() ? static_cast<unsigned char>(text[i]) : ' ';
        const bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (word) {
            h = h * 131 + static_cast<unsigned char>(std::tolower(c));
            ++len;
        } else if (len > 0) {
            push(mix64(h));
            h = 0;
            len = 0;
        }
    }
    if (tokens < 3 && tokens > 0) vote(mix64(window[0] ^ window[1] ^ window[2]));
    uint64_t sig = 0;
    for (int b = 0; b < 64; ++b)
        if (votes[b] > 0) sig |= uint64_t{1} << b;
    return sig;
}

PromptFrame prompt_frame(std::string_view text) {
    // The template of a prompt usually lives at its start or its end (an instruction around
    // pasted content): hash the first and the last kFrameTokens tokens, lower-cased, with
    // digit runs folded (task ids, numbers) so the frame of one template hashes the same.
    constexpr size_t kFrameTokens = 8;
    std::array<uint64_t, kFrameTokens> tail{};
    uint64_t head = 0x6865616400000000ull;
    size_t tokens = 0;
    uint64_t h = 0;
    size_t len = 0;
    bool digits = false;
    auto push = [&](uint64_t token) {
        if (tokens < kFrameTokens) head = mix64(head ^ token);
        tail[tokens % kFrameTokens] = token;
        ++tokens;
    };
    for (size_t i = 0; i <= text.size(); ++i) {
        const unsigned char c = i < text.size() ? static_cast<unsigned char>(text[i]) : ' ';
        const bool digit = c >= '0' && c <= '9';
        const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit || c >= 0x80;
        if (word) {
            if (digit) {
                if (!digits) h = h * 131 + '#';
                digits = true;
            } else {
                h = h * 131 + static_cast<unsigned char>(std::tolower(c));
                digits = false;
            }
            ++len;
        } else if (len > 0) {
            push(mix64(h));
            h = 0;
            len = 0;
            digits = false;
        }
    }
    PromptFrame f;
    if (tokens < 2 * kFrameTokens) return f;  // too short to have a frame and content
    f.head = head | 1;
    uint64_t t = 0x7461696c00000000ull;
    for (size_t k = 0; k < kFrameTokens; ++k) t = mix64(t ^ tail[(tokens + k) % kFrameTokens]);
    f.tail = t | 1;
    return f;
}

std::array<uint32_t, 4> simhash_bands(uint64_t sig) {
    std::array<uint32_t, 4> out;
    for (uint32_t i = 0; i < 4; ++i)
        out[i] = (i << 16) | static_cast<uint32_t>((sig >> (16 * i)) & 0xffff);
    return out;
}

}  // namespace sluice::account
