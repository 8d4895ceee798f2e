// What workers enforce on requests: an immutable snapshot of decisions keyed by account,
// source prefix (longest match, IPv4 and IPv6) and JA4, published by one writer (the
// correlator thread; later the control plane's blocklists too) and read by every worker
// without locks. A new snapshot replaces the old one with a single pointer store; the old one
// is freed only after every worker has passed a quiescent state (the runtime does that with
// rte_rcu_qsbr; see runtime/enforcement_rcu.h). Free of DPDK.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/ip_address.h"
#include "common/prefix_map.h"
#include "verdict/static_filter.h"
#include "verdict/verdict.h"

namespace sluice {

// What a decision names. Cluster decisions are expanded to their member accounts by the
// correlator (a worker never needs cluster membership), but keep the target for events.
enum class EnforceTarget : uint8_t { Account, Cluster, Prefix, Ja4 };
std::string_view enforce_target_name(EnforceTarget t);
std::optional<EnforceTarget> enforce_target_from_name(std::string_view name);

struct Enforcement {
    Verdict verdict = Verdict::Pass;  // RateLimit or Block (others are not enforced)
    EnforceTarget target = EnforceTarget::Account;
    // What a stopped request's client is answered (answer/answer_sender.h): 403 for a block,
    // 429 over a rate limit; 0: TCP resets instead (the policy action's answer: reset).
    uint16_t http_status = 0;
    float rate_per_minute = 0;  // RateLimit: the subject's whole budget (split across workers)
    uint64_t bucket = 0;        // RateLimit: the token bucket's subject (0: by target)
    uint64_t expires_ns = 0;    // packet time; 0: until replaced
    bool allow = false;         // an allowlist entry: overrides every other decision
};

// An account id (16 hex characters) -> the 64-bit key tables use (never 0; other text is
// hashed).
uint64_t account_key(std::string_view id16);
bool is_account_id(std::string_view id);

class EnforcementTable {
  public:
    void set_account(uint64_t key, const Enforcement& e) { accounts_[key] = e; }
    void set_ja4(uint64_t ja4_hash, const Enforcement& e) { ja4_[ja4_hash] = e; }
    void set_prefix(const IpPrefix& p, const Enforcement& e) { prefixes_.insert(p.addr, p.len, e); }

    // The strongest decision that applies to a request (nullptr: none). `account` 0 and
    // `ja4_hash` 0 mean unknown.
    const Enforcement* find(uint64_t account, const IpAddress& src, uint64_t ja4_hash,
                            uint64_t now_ns) const;
    size_t size() const;
    bool empty() const { return size() == 0; }

    // Steady-clock time of the oldest decision in this snapshot not yet in the previous one
    // (0: none): the runtime measures decision-to-enforcement delay from it.
    uint64_t decided_steady_ns = 0;
    uint64_t version = 0;

  private:
    PrefixMap<Enforcement> prefixes_;
    std::unordered_map<uint64_t, Enforcement> accounts_, ja4_;
};

// Where workers read the current snapshot; one writer publishes.
class EnforcementSlot {
  public:
    const EnforcementTable* current() const { return cur_.load(std::memory_order_acquire); }
    // Returns the previous snapshot, which the caller frees once no reader can hold it.
    const EnforcementTable* exchange(const EnforcementTable* t) {
        return cur_.exchange(t, std::memory_order_acq_rel);
    }

  private:
    std::atomic<const EnforcementTable*> cur_{nullptr};
};

// The writer side: how a new snapshot reaches the workers and when old ones are freed.
class EnforcementPublisher {
  public:
    virtual ~EnforcementPublisher() = default;
    virtual void publish(std::unique_ptr<EnforcementTable> t) = 0;
    // Frees snapshots no worker can still read; called by the writer between batches.
    virtual void reclaim() {}
    // A replaced snapshot still waits for its readers (the writer polls sooner).
    virtual bool pending() const { return false; }
};

// For tests and single-threaded use: old snapshots live until the publisher goes.
class RetainingPublisher final : public EnforcementPublisher {
  public:
    explicit RetainingPublisher(EnforcementSlot& slot) : slot_(slot) {}
    void publish(std::unique_ptr<EnforcementTable> t) override {
        slot_.exchange(t.get());
        kept_.push_back(std::move(t));
    }
    size_t published() const { return kept_.size(); }

  private:
    EnforcementSlot& slot_;
    std::vector<std::unique_ptr<EnforcementTable>> kept_;
};

// Token buckets of one worker for rate-limited subjects: a fixed open-addressed array (no
// allocation on the hot path; a collision evicts the older bucket, which then starts full).
class RateLimiter {
  public:
    explicit RateLimiter(size_t slots = 4096, uint32_t share = 1);
    // True when the request fits the subject's budget (rate_per_minute / share of workers).
    bool admit(uint64_t subject, double rate_per_minute, uint64_t now_ns);
    // After a refusal: seconds until the subject's bucket admits a request again.
    double last_wait_s() const { return last_wait_s_; }

  private:
    struct Bucket {
        uint64_t subject = 0;
        double tokens = 0;
        uint64_t last_ns = 0;
    };
    std::vector<Bucket> buckets_;
    uint32_t share_;
    double last_wait_s_ = 0;
};

}  // namespace sluice
