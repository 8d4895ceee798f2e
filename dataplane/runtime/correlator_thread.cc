#include "runtime/correlator_thread.h"

#include <chrono>
#include <queue>

namespace sluice {

void ObservationQueue::observe(const account::Observation& o) {
    while (!q_.push(o)) {
        if (!block_) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        std::this_thread::yield();
    }
}

CorrelatorThread::CorrelatorThread(std::shared_ptr<const account::Policy> policy, EventSink& sink,
                                   uint32_t source, ProducerProgress& own, bool ordered,
                                   std::shared_ptr<const account::AsnTable> asn,
                                   std::shared_ptr<const rules::CompiledRules> rules)
    : correlator_(std::move(policy), &sink, source, std::move(asn)), own_(own), ordered_(ordered) {
    correlator_.set_rules(std::move(rules));
}

void CorrelatorThread::set_enforcement(EnforcementPublisher* publisher) {
    rcu_ = publisher;
    correlator_.set_publisher(publisher);
}

void CorrelatorThread::set_fleet(fleet::FleetLink* link) {
    fleet_ = link;
    if (link == nullptr) return;
    const auto& o = link->options();
    correlator_.set_fleet(link, o.read_fraction, uint64_t{o.read_interval_s} * 1'000'000'000ull,
                          !ordered_);
}

CorrelatorThread::~CorrelatorThread() {
    finish();
}

void CorrelatorThread::add_worker(ObservationQueue& q, ProducerProgress& progress) {
    queues_.push_back(&q);
    progress_.push_back(&progress);
}

void CorrelatorThread::start() {
    running_.store(true);
    thread_ = std::thread([this] { run(); });
}

bool CorrelatorThread::call(std::function<void(account::Correlator&)> fn, int timeout_ms) {
    if (!running_.load()) return false;
    auto c = std::make_shared<Call>();
    c->fn = std::move(fn);
    auto done = c->done.get_future();
    {
        std::lock_guard lock(calls_mu_);
        calls_.push_back(c);
    }
    return done.wait_for(std::chrono::milliseconds(timeout_ms)) == std::future_status::ready &&
           done.get();
}

void CorrelatorThread::finish() {
    finishing_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
}

account::CorrelatorCounters CorrelatorThread::counters() const {
    std::lock_guard lock(published_mu_);
    return published_;
}

void CorrelatorThread::run() {
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
    uint64_t arrival = 0;
    account::Observation o;
    for (;;) {
        // Read the workers' progress before draining: whatever they pushed up to that point is
        // then in the queues.
        uint64_t limit = EveOrder::kFinalSeq;
        for (ProducerProgress* p : progress_)
            limit = std::min(limit, p->done.load(std::memory_order_acquire));
        const bool finishing = finishing_.load(std::memory_order_acquire);
        bool any = false;
        for (uint32_t w = 0; w < queues_.size(); ++w)
            while (queues_[w]->pop(o)) {
                any = true;
                if (ordered_)
                    pending.push({o, w, arrival++});
                else
                    correlator_.observe(o);
            }
        while (!pending.empty() && pending.top().o.seq <= limit) {
            correlator_.observe(pending.top().o);
            pending.pop();
            any = true;
        }
        if (fleet_ != nullptr && !ordered_) {
            account::FleetView v;
            while (fleet_->take(v)) {
                correlator_.apply_fleet(v, correlator_.last_seq());
                any = true;
            }
        }
        if (fleet_ != nullptr && ordered_ && !fleet_done_ && finishing &&
            limit == EveOrder::kFinalSeq && pending.empty()) {
            // Every observation is in: publish, meet the other edges, read the fleet's view
            // of the candidates; their records sort with the run's final records.
            fleet_done_ = true;
            for (const account::FleetView& v :
                 fleet_->finish_offline(correlator_.fleet_candidates()))
                correlator_.apply_fleet(v, EveOrder::kFinalSeq);
        }
        {
            std::deque<std::shared_ptr<Call>> calls;
            {
                std::lock_guard lock(calls_mu_);
                calls.swap(calls_);
            }
            for (auto& c : calls) {
                c->fn(correlator_);
                c->done.set_value(true);
            }
        }
        if (rcu_ != nullptr) {
            correlator_.flush();  // decisions of this batch, in one snapshot
            rcu_->reclaim();
        }
        const auto& c = correlator_.counters();
        {
            // One snapshot per pass for the summary, telemetry and /metrics (other threads).
            std::lock_guard lock(published_mu_);
            published_ = c;
        }
        if (any) memory_.store(correlator_.memory_bytes(), std::memory_order_relaxed);
        // Every record with seq <= limit is out: the EVE writer may pass it.
        own_.done.store(limit == EveOrder::kFinalSeq ? EveOrder::kFinalSeq - 1 : limit,
                        std::memory_order_release);
        if (finishing && limit == EveOrder::kFinalSeq && pending.empty()) break;
        // Idle: sleep longer live (nothing waits on it; workers and the I/O lcore need the
        // CPUs), short offline (the EVE writer waits on its progress).
        // A snapshot waiting for the workers' quiescent states is polled sooner.
        const bool waiting = rcu_ != nullptr && rcu_->pending();
        if (!any)
            std::this_thread::sleep_for(
                std::chrono::microseconds(ordered_ || waiting ? 200 : 2000));
    }
    // Records at the final sequence (transactions logged when flows end at shutdown).
    own_.done.store(EveOrder::kFinalSeq, std::memory_order_release);
    running_.store(false);
    std::lock_guard lock(calls_mu_);
    for (auto& c : calls_) c->done.set_value(false);  // not run: the caller's wait ends
    calls_.clear();
}

}  // namespace sluice
