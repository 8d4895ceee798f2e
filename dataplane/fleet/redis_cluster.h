// Redis Cluster routing over hiredis (which has none): the slot map from CLUSTER SLOTS, one
// connection per master, commands grouped by node into pipelines, MOVED (the map is stale:
// retry at the named node, refresh the map before the next batch) and ASK (a slot being
// migrated: ASKING then the command at the named node, map unchanged), reconnection with
// backoff. A server with cluster support disabled is a standalone server: every slot is its.
// Redirections are followed only to the cluster's own nodes (its masters per CLUSTER NODES,
// empty ones included, and the seeds): a node naming any other address gets no connection
// and no password from this edge.
// Used by the fleet thread only; blocking, with deadlines.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fleet/key_slot.h"
#include "fleet/redis_node.h"

namespace sluice::fleet {

struct RouterCounters {
    uint64_t commands = 0;   // sent (retries included)
    uint64_t moved = 0;      // MOVED redirections followed
    uint64_t asked = 0;      // ASK redirections followed
    uint64_t refreshes = 0;  // slot maps read
    uint64_t connects = 0;   // connections opened
    uint64_t connect_failures = 0;
    uint64_t lost = 0;               // commands without a reply (connection lost, unroutable)
    uint64_t refused_redirects = 0;  // MOVED/ASK to an address outside the cluster
};

class RedisCluster {
  public:
    struct Options {
        std::vector<Endpoint> seeds;
        Credentials auth;
        std::chrono::milliseconds timeout{500};
        std::chrono::milliseconds backoff_min{100}, backoff_max{5000};
        int max_redirects = 5;
    };
    explicit RedisCluster(Options o);
    static Options options(std::vector<Endpoint> seeds, const Credentials& auth,
                           uint32_t timeout_ms) {
        Options o;
        o.seeds = std::move(seeds);
        o.auth = auth;
        o.timeout = std::chrono::milliseconds(timeout_ms);
        return o;
    }

    // Replies in the order of `cmds`. Never throws; unanswered commands get Lost replies.
    std::vector<RedisReply> run(std::span<const RedisCommand> cmds);
    RedisReply run(const RedisCommand& c) { return std::move(run(std::span(&c, 1)).front()); }
    // Reads the slot map now (normally done when needed). False if no node answered.
    bool refresh();
    bool standalone() const { return standalone_; }
    bool mapped() const { return mapped_; }
    // The master holding `slot` per the current map (empty when unmapped).
    std::string owner(uint16_t slot) const;
    // Every master in the map (for keyspace scans, tests, status).
    std::vector<Endpoint> masters() const;
    const RouterCounters& counters() const { return ctr_; }
    const std::string& last_error() const { return last_error_; }

  private:
    struct Node {
        std::unique_ptr<RedisNode> conn;
        std::chrono::steady_clock::time_point retry_at{};
        std::chrono::milliseconds backoff{0};
    };
    Node& node(const Endpoint& e);
    // Connected node for `e`, or null (in backoff, or the connect failed).
    RedisNode* ready(const Endpoint& e);
    bool read_slots(RedisNode& n);
    // Masters per CLUSTER NODES (slots or not) into known_.
    void read_nodes(RedisNode& n);
    bool known(const Endpoint& e) const;

    Options opt_;
    std::map<std::string, Node> nodes_;                // by "host:port"
    std::array<int16_t, kClusterSlots> slot_owner_{};  // index into masters_, -1: unknown
    std::vector<Endpoint> masters_;
    std::vector<std::string> known_;  // "host:port" of every node redirections may name
    bool mapped_ = false;
    bool standalone_ = false;
    bool stale_ = true;
    RouterCounters ctr_;
    std::string last_error_;
};

}  // namespace sluice::fleet
