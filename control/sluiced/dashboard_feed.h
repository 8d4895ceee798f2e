// What the live dashboard shows, gathered on one thread: every poll (1 s by default) it asks
// each dataplane sluiced manages for its counters (`stats`), top accounts (`accounts.top`) and
// clusters (`clusters.list`), with the fleet's timeouts, and keeps the fleet's and each
// dataplane's throughput and drops (rates from the change of counters between polls), a short
// history for the charts, the accounts and clusters with their reasons and actions, the recent
// enforcement decisions (operators' list entries and the policy's own decisions) and the
// versions in force. Readers copy the last snapshot under a mutex held only for that copy; a
// hung dataplane delays only the poll, never a reader.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "control/sluiced/daemon.h"

namespace sluice::control {

class DashboardFeed {
  public:
    using View = std::function<FleetView()>;
    DashboardFeed(View view, FleetTimeouts timeouts, int poll_ms, size_t top_n = 10)
        : view_(std::move(view)), timeouts_(timeouts), poll_ms_(poll_ms), top_n_(top_n) {}
    ~DashboardFeed() { stop(); }
    void start();
    void stop();
    // The last snapshot (an empty object before the first poll ends).
    nlohmann::json snapshot() const;
    // Polls once now, on the caller's thread (tests; start() is not needed for it).
    void poll_once();

  private:
    struct Sample {  // one dataplane's counters at one poll
        double t = 0;
        uint64_t packets = 0, bytes = 0, dropped = 0, alerts = 0, enforced = 0;
    };
    void loop();

    View view_;
    FleetTimeouts timeouts_;
    int poll_ms_;
    size_t top_n_;
    std::map<std::string, Sample> last_;  // poll thread only
    std::deque<nlohmann::json> history_;  // poll thread only
    mutable std::mutex mu_;               // snapshot_
    nlohmann::json snapshot_ = nlohmann::json::object();
    std::mutex wake_mu_;
    std::condition_variable wake_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace sluice::control
