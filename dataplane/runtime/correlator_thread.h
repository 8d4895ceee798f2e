// The correlator's thread and the workers' observation queues (one Boost.Lockfree spsc queue
// per worker). Offline the thread merges the queues on packet sequence and only consumes an
// observation once every worker has passed it (the EVE progress counters say how far each
// got), so account records are the same whatever the thread timing; it then publishes its
// own progress for the EVE writer's ordered merge. Live it consumes as observations come.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "account/correlator.h"
#include "eve/eve_writer.h"
#include "fleet/fleet_link.h"
#include "verdict/enforcement.h"

namespace sluice {

class ObservationQueue final : public account::ObservationSink {
  public:
    ObservationQueue(size_t slots, bool block_when_full) : q_(slots), block_(block_when_full) {}
    // Worker side: never blocks live (a full queue drops and counts); offline waits.
    void observe(const account::Observation& o) override;
    bool pop(account::Observation& o) { return q_.pop(o); }
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  private:
    boost::lockfree::spsc_queue<account::Observation> q_;
    bool block_;
    std::atomic<uint64_t> dropped_{0};
};

class CorrelatorThread {
  public:
    CorrelatorThread(std::shared_ptr<const account::Policy> policy, EventSink& sink,
                     uint32_t source, ProducerProgress& own, bool ordered,
                     std::shared_ptr<const account::AsnTable> asn = nullptr,
                     std::shared_ptr<const rules::CompiledRules> rules = nullptr);
    // Live enforcement: decisions are published through `publisher` (the workers' RCU,
    // runtime/enforcement_rcu.h; call before start()).
    void set_enforcement(EnforcementPublisher* publisher);
    void set_operator_lists(OperatorLists* l) { correlator_.set_operator_lists(l); }
    // The fleet (call before start()). Live: evidence out, views in as they come. Offline:
    // evidence out; after the last observation the link meets the other edges at the sync
    // point and the candidates' views are applied before the final records.
    void set_fleet(fleet::FleetLink* link);
    ~CorrelatorThread();
    void add_worker(ObservationQueue& q, ProducerProgress& progress);
    void start();
    // Call after the workers published their final progress: drains everything and joins.
    void finish();
    account::CorrelatorCounters counters() const;
    // Runs `fn` on the correlator's thread between batches (control-plane queries and policy
    // swaps: the correlator's state is never shared). Waits for it; true once it ran (what it
    // wrote is then visible to the caller), false if the thread ended without running it or
    // did not within `timeout_ms` (it may still run later: capture by value).
    bool call(std::function<void(account::Correlator&)> fn, int timeout_ms = 10000);
    // After finish(): every account's standing, one JSON line each.
    void write_accounts(std::ostream& out) { correlator_.write_accounts(out); }
    size_t memory_bytes() const { return memory_.load(std::memory_order_relaxed); }

  private:
    void run();
    struct Pending {
        account::Observation o;
        uint32_t worker;
        uint64_t arrival;
        bool operator>(const Pending& b) const {
            if (o.seq != b.o.seq) return o.seq > b.o.seq;
            if (worker != b.worker) return worker > b.worker;
            return arrival > b.arrival;
        }
    };
    account::Correlator correlator_;
    ProducerProgress& own_;
    bool ordered_;
    EnforcementPublisher* rcu_ = nullptr;
    fleet::FleetLink* fleet_ = nullptr;
    bool fleet_done_ = false;
    struct Call {
        std::function<void(account::Correlator&)> fn;
        std::promise<bool> done;  // true: fn ran; false: the thread ended first
    };
    std::mutex calls_mu_;
    std::deque<std::shared_ptr<Call>> calls_;
    std::atomic<bool> running_{false};
    std::vector<ObservationQueue*> queues_;
    std::vector<ProducerProgress*> progress_;
    std::thread thread_;
    std::atomic<bool> finishing_{false};
    mutable std::mutex published_mu_;
    account::CorrelatorCounters published_;  // the correlator's counters as of its last pass
    std::atomic<size_t> memory_{0};
};

}  // namespace sluice
