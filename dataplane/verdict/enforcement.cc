#include "verdict/enforcement.h"

#include <algorithm>
#include <array>

#include "common/hash.h"

namespace sluice {

namespace {
constexpr std::array<std::string_view, 4> kTargets = {"account", "cluster", "prefix", "ja4"};

}  // namespace

std::string_view enforce_target_name(EnforceTarget t) {
    return kTargets[static_cast<size_t>(t)];
}

std::optional<EnforceTarget> enforce_target_from_name(std::string_view name) {
    for (size_t i = 0; i < kTargets.size(); ++i)
        if (kTargets[i] == name) return static_cast<EnforceTarget>(i);
    return std::nullopt;
}

uint64_t account_key(std::string_view id) {
    uint64_t k = 0;
    bool hex = id.size() == 16;
    for (char c : id) {
        unsigned v = 0;
        if (c >= '0' && c <= '9')
            v = unsigned(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = unsigned(c - 'a' + 10);
        else
            hex = false;
        k = k << 4 | v;
    }
    if (!hex) {  // not an account id: still a stable key (tests, foreign ids)
        k = hash_bytes({reinterpret_cast<const uint8_t*>(id.data()), id.size()}, 0xacc);
    }
    return k == 0 ? 1 : k;
}

bool is_account_id(std::string_view id) {
    return id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

const Enforcement* EnforcementTable::find(uint64_t account, const IpAddress& src, uint64_t ja4_hash,
                                          uint64_t now_ns) const {
    const Enforcement* best = nullptr;
    auto consider = [&](const Enforcement* e) {
        if (e == nullptr || (e->expires_ns != 0 && now_ns >= e->expires_ns)) return;
        if (best != nullptr && best->allow) return;
        if (best == nullptr || e->allow || e->verdict > best->verdict) best = e;
    };
    if (account != 0 && !accounts_.empty()) {
        auto it = accounts_.find(account);
        if (it != accounts_.end()) consider(&it->second);
    }
    if (ja4_hash != 0 && !ja4_.empty()) {
        auto it = ja4_.find(ja4_hash);
        if (it != ja4_.end()) consider(&it->second);
    }
    if (prefixes_.size() != 0) consider(prefixes_.find(src));  // longest match only
    return best;
}

size_t EnforcementTable::size() const {
    return accounts_.size() + ja4_.size() + prefixes_.size();
}

RateLimiter::RateLimiter(size_t slots, uint32_t share)
    : buckets_(std::max<size_t>(slots, 1)), share_(std::max<uint32_t>(share, 1)) {}

bool RateLimiter::admit(uint64_t subject, double rate_per_minute, uint64_t now_ns) {
    const double rate = rate_per_minute / share_ / 60e9;               // tokens per ns
    const double burst = std::max(1.0, rate_per_minute / share_ / 6);  // ten seconds' worth
    Bucket& b = buckets_[mix64(subject) % buckets_.size()];
    if (b.subject != subject) b = Bucket{subject, burst, now_ns};
    if (now_ns > b.last_ns) {
        b.tokens = std::min(burst, b.tokens + double(now_ns - b.last_ns) * rate);
        b.last_ns = now_ns;
    }
    if (b.tokens < 1) {
        last_wait_s_ = rate > 0 ? (1 - b.tokens) / rate / 1e9 : 60;
        return false;
    }
    b.tokens -= 1;
    return true;
}

}  // namespace sluice
