#include "runtime/enforcement_rcu.h"

#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace sluice {

namespace {
uint64_t steady_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}
}  // namespace

RcuEnforcement::RcuEnforcement(unsigned readers) {
    const size_t size = rte_rcu_qsbr_get_memsize(readers);
    const size_t rounded =
        (size + RTE_CACHE_LINE_SIZE - 1) / RTE_CACHE_LINE_SIZE * RTE_CACHE_LINE_SIZE;
    qs_ = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(RTE_CACHE_LINE_SIZE, rounded));
    std::memset(qs_, 0, rounded);
    rte_rcu_qsbr_init(qs_, readers);
    for (unsigned i = 0; i < readers; ++i) rte_rcu_qsbr_thread_register(qs_, i);
}

RcuEnforcement::~RcuEnforcement() {
    slot_.exchange(nullptr);
    std::free(qs_);
}

void RcuEnforcement::online(unsigned id) {
    rte_rcu_qsbr_thread_online(qs_, id);
}

void RcuEnforcement::quiescent(unsigned id) {
    rte_rcu_qsbr_quiescent(qs_, id);
}

void RcuEnforcement::offline(unsigned id) {
    rte_rcu_qsbr_thread_offline(qs_, id);
}

void RcuEnforcement::publish(std::unique_ptr<EnforcementTable> t) {
    const uint64_t decided = t->decided_steady_ns;
    slot_.exchange(t.get());
    Retired r{std::move(current_), rte_rcu_qsbr_start(qs_), decided};
    current_ = std::move(t);
    retired_.push_back(std::move(r));
}

void RcuEnforcement::reclaim() {
    while (!retired_.empty() && rte_rcu_qsbr_check(qs_, retired_.front().token, false) == 1) {
        // Every worker passed a quiescent state since the swap: none can still hold the old
        // snapshot, and every lookup from now on sees the new one.
        if (retired_.front().decided_ns != 0 && delays_us_.size() < 1'000'000) {
            const uint64_t now = steady_ns();
            const uint64_t d = retired_.front().decided_ns;
            delays_us_.push_back(now > d ? (now - d) / 1000 : 0);
        }
        retired_.pop_front();
    }
}

EnforcementDelay RcuEnforcement::delay() const {
    EnforcementDelay d;
    d.snapshots = delays_us_.size();
    if (delays_us_.empty()) return d;
    std::vector<uint64_t> v = delays_us_;
    std::sort(v.begin(), v.end());
    d.p50_us = v[v.size() / 2];
    d.p99_us = v[std::min(v.size() - 1, v.size() * 99 / 100)];
    d.max_us = v.back();
    return d;
}

}  // namespace sluice
