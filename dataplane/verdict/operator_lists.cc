#include "verdict/operator_lists.h"

#include <algorithm>
#include <array>

#include "common/hash.h"

namespace sluice {

namespace {
constexpr std::array<std::string_view, 3> kKinds = {"ip", "account", "ja4"};

uint64_t ja4_key(std::string_view ja4) {
    // The HTTP stage's hash of a JA4 string (account::hash_item).
    return hash_bytes({reinterpret_cast<const uint8_t*>(ja4.data()), ja4.size()}, 0x51c3);
}

// The prefix with its host bits cleared, printed: 203.0.113.9/24 -> 203.0.113.0/24.
std::optional<IpPrefix> normal_prefix(std::string_view text, std::string& printed) {
    auto p = IpPrefix::parse(text);
    if (!p) return std::nullopt;
    p->addr = p->addr.masked(p->len);
    printed = p->addr.to_string() + "/" + std::to_string(p->len);
    return p;
}

bool valid_ja4(std::string_view v) {
    // t13d1516h2_8daaf6152771_e5627efa2ab1: 10 + 1 + 12 + 1 + 12 characters.
    if (v.size() != 36 || v[10] != '_' || v[23] != '_') return false;
    return v[0] == 't' || v[0] == 'q' || v[0] == 'd';
}
}  // namespace

std::optional<ListKind> list_kind_from_name(std::string_view name) {
    for (size_t i = 0; i < kKinds.size(); ++i)
        if (kKinds[i] == name) return static_cast<ListKind>(i);
    return std::nullopt;
}

std::string_view list_kind_name(ListKind k) {
    return kKinds[static_cast<size_t>(k)];
}

bool OperatorLists::add(bool allow, ListKind kind, std::string_view value, uint64_t ttl_s,
                        std::string reason, uint64_t now, std::string& error) {
    ListEntry e;
    e.allow = allow;
    e.kind = kind;
    e.reason = std::move(reason);
    e.added_ns = now;
    e.expires_ns = ttl_s ? now + ttl_s * 1'000'000'000ull : 0;
    switch (kind) {
        case ListKind::Ip: {
            auto p = normal_prefix(value, e.value);
            if (!p) {
                error = "not an IP address or prefix: '" + std::string(value) + "'";
                return false;
            }
            e.prefix = *p;
            break;
        }
        case ListKind::Account:
            if (!is_account_id(value)) {
                error =
                    "an account id is 16 lowercase hex characters (sluicectl accounts id "
                    "--key-stdin computes one): '" +
                    std::string(value) + "'";
                return false;
            }
            e.value = std::string(value);
            e.key = account_key(value);
            break;
        case ListKind::Ja4:
            if (!valid_ja4(value)) {
                error = "not a JA4 fingerprint (like t13d1516h2_8daaf6152771_e5627efa2ab1): '" +
                        std::string(value) + "'";
                return false;
            }
            e.value = std::string(value);
            e.key = ja4_key(value);
            break;
    }
    std::lock_guard lock(mu_);
    std::erase_if(entries_, [&](const ListEntry& x) {
        return x.allow == e.allow && x.kind == e.kind && x.value == e.value;
    });
    entries_.push_back(std::move(e));
    prune(now);
    version_.fetch_add(1, std::memory_order_acq_rel);
    return true;
}

bool OperatorLists::replace(const std::vector<ListEntry>& wanted, uint64_t now,
                            std::string& error) {
    OperatorLists staged;
    for (const ListEntry& w : wanted) {
        if (w.expires_ns != 0 && w.expires_ns <= now) continue;  // already over
        const uint64_t ttl_s =
            w.expires_ns ? (w.expires_ns - now + 999'999'999) / 1'000'000'000 : 0;
        if (!staged.add(w.allow, w.kind, w.value, ttl_s, w.reason, now, error)) return false;
    }
    std::lock_guard lock(mu_);
    entries_ = std::move(staged.entries_);
    prune(now);
    version_.fetch_add(1, std::memory_order_acq_rel);
    return true;
}

bool OperatorLists::remove(bool allow, ListKind kind, std::string_view value) {
    std::string normal(value);
    if (kind == ListKind::Ip)
        if (auto p = IpPrefix::parse(value))
            normal = p->addr.to_string() + "/" + std::to_string(p->len);
    std::lock_guard lock(mu_);
    const size_t n = std::erase_if(entries_, [&](const ListEntry& x) {
        return x.allow == allow && x.kind == kind && x.value == normal;
    });
    if (n == 0) return false;
    version_.fetch_add(1, std::memory_order_acq_rel);
    return true;
}

void OperatorLists::prune(uint64_t now) {
    const size_t n = std::erase_if(
        entries_, [&](const ListEntry& x) { return x.expires_ns != 0 && x.expires_ns <= now; });
    if (n) version_.fetch_add(1, std::memory_order_acq_rel);
    uint64_t next = 0;
    for (const ListEntry& x : entries_)
        if (x.expires_ns != 0 && (next == 0 || x.expires_ns < next)) next = x.expires_ns;
    next_expiry_.store(next, std::memory_order_release);
}

std::vector<ListEntry> OperatorLists::entries(uint64_t now) {
    std::lock_guard lock(mu_);
    prune(now);
    return entries_;
}

void OperatorLists::apply(EnforcementTable& t, uint64_t now) {
    std::lock_guard lock(mu_);
    prune(now);
    for (const ListEntry& x : entries_) {
        Enforcement e;
        e.verdict = x.allow ? Verdict::Pass : Verdict::Block;
        e.allow = x.allow;
        e.http_status = x.allow ? 0 : 403;
        e.expires_ns = x.expires_ns;
        switch (x.kind) {
            case ListKind::Ip:
                e.target = EnforceTarget::Prefix;
                t.set_prefix(x.prefix, e);
                break;
            case ListKind::Account:
                e.target = EnforceTarget::Account;
                t.set_account(x.key, e);
                break;
            case ListKind::Ja4:
                e.target = EnforceTarget::Ja4;
                t.set_ja4(x.key, e);
                break;
        }
    }
}

}  // namespace sluice
