// The fleet thread: the only thread that talks to Redis. The correlator hands it evidence and
// questions through bounded single-producer queues and takes the answers from a third; Redis
// being slow, down or partitioned costs the correlator nothing but counted drops (shared
// evidence fails open; local decisions always apply). Evidence is aggregated per account and
// window and published in pipelined batches (PFADD of keyed element hashes, HINCRBY of
// counters, EXPIRE ... NX); a question is answered with PFCOUNT over the account's last
// windows and the counters' sums. Offline, finish_offline() publishes everything, meets the
// other edges at the sync point and reads the final views, so N edges' results do not depend
// on which finished first.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "account/fleet_port.h"
#include "fleet/fleet_keys.h"
#include "fleet/fleet_options.h"
#include "fleet/redis_cluster.h"

namespace sluice::fleet {

enum class FleetCtr : uint8_t {
    EvidenceQueued,
    EvidenceDropped,  // the queue was full (live)
    AsksQueued,
    AsksDropped,
    ViewsDropped,  // answers the correlator had no room for
    Batches,
    Published,      // account-windows published
    PublishFailed,  // account-windows Redis did not take (fail open)
    Reads,          // accounts whose view was read
    ReadFailed,
    SyncTimeouts,  // offline: the other edges did not all reach the sync point
    RedisCommands,
    RedisMoved,
    RedisAsk,
    RedisRefreshes,
    RedisConnects,
    RedisConnectFailures,
    RedisLost,
    RedisRefusedRedirects,  // MOVED/ASK naming an address outside the cluster
    Count
};
std::string_view fleet_counter_name(FleetCtr c);

struct FleetStats {
    std::array<uint64_t, static_cast<size_t>(FleetCtr::Count)> v{};
    bool connected = false;  // the last batch reached Redis
    size_t masters = 0;      // masters in the slot map
    bool standalone = false;
    uint64_t lag_ms = 0;  // the last batch: how long its oldest evidence waited to be published
    uint64_t get(FleetCtr c) const { return v[static_cast<size_t>(c)]; }
};

class FleetLink final : public account::FleetPort {
  public:
    // `offline`: evidence() waits for room instead of dropping (every edge's evidence must be
    // in Redis before the sync point).
    FleetLink(const FleetOptions& o, std::span<const uint8_t> account_secret, bool offline);
    ~FleetLink() override;

    void start();
    // Publishes what is queued and joins the thread.
    void stop();

    bool evidence(const account::FleetEvidence& e) override;
    bool ask(const account::FleetQuestion& q) override;
    bool take(account::FleetView& v) override;

    // Offline end (the correlator's thread, after its last observation): stop(), the sync
    // point, then the views of `accounts` (id, packet time of the read).
    std::vector<account::FleetView> finish_offline(
        const std::vector<account::FleetQuestion>& questions);

    FleetStats stats() const;
    // A Lua script sent by hash (EVALSHA), and by text where a node does not have it yet.
    struct Script {
        std::string text, sha;
    };
    const FleetOptions& options() const { return opt_; }

  private:
    struct WindowKey {
        std::array<char, 16> account;
        uint64_t window;
        bool operator==(const WindowKey&) const = default;
    };
    struct WindowKeyHash {
        size_t operator()(const WindowKey& k) const;
    };
    struct Aggregate {
        std::vector<IpAddress> ips;
        std::vector<uint32_t> asns;
        std::vector<uint64_t> ja4s;
        std::vector<uint64_t> frames;  // prompt frames (heads and tails) it may link by
        uint64_t requests = 0, input_tokens = 0, output_tokens = 0;
        std::chrono::steady_clock::time_point first{};  // when its first evidence arrived
    };
    using Ask = account::FleetQuestion;

    void run();
    void add(const account::FleetEvidence& e);
    void publish();
    std::vector<account::FleetView> read(std::span<const Ask> asks);
    std::string frame_tag(uint64_t frame) const;  // keyed hash of a prompt frame
    void bump(FleetCtr c, uint64_t n = 1) {
        ctr_[static_cast<size_t>(c)].fetch_add(n, std::memory_order_relaxed);
    }
    void sync_router_counters();
    std::vector<RedisReply> run_scripts(std::vector<RedisCommand>& cmds);

    FleetOptions opt_;
    bool offline_;
    ElementHasher hasher_;
    RedisCluster cluster_;
    boost::lockfree::spsc_queue<account::FleetEvidence> evidence_q_;
    boost::lockfree::spsc_queue<Ask> ask_q_;
    boost::lockfree::spsc_queue<account::FleetView> view_q_;
    std::unordered_map<WindowKey, Aggregate, WindowKeyHash> pending_;
    std::vector<Ask> asks_;
    std::array<std::atomic<uint64_t>, static_cast<size_t>(FleetCtr::Count)> ctr_{};
    std::atomic<bool> connected_{false};
    std::atomic<uint64_t> lag_ms_{0};
    std::atomic<size_t> masters_{0};
    std::atomic<bool> standalone_{false};
    std::atomic<bool> running_{false};
    Script publish_script_, template_script_;
    std::thread thread_;
};

}  // namespace sluice::fleet
