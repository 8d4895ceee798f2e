// sluiced: keeps the desired state of a fleet of dataplanes (rule-set and policy versions,
// block/allow lists) durably in a state directory and brings every dataplane to it - when
// something changes, and again whenever either side restarts. Answers sluicectl on its own
// control endpoints (the same protocol as a dataplane, plus versions, diff, rollback and the
// fleet).
//
// Threads: the control server's connection threads (handle), one sync thread, the key-log
// follower. One mutex guards the store and the fleet's bookkeeping and is never held across
// network I/O: every talk to a dataplane works on a copy of what it needs, with bounded
// connect and request timeouts, so a hung dataplane delays only its own sync.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/protocol/client.h"
#include "control/protocol/frame.h"
#include "control/protocol/server.h"
#include "control/sluiced/state_store.h"
#include "rules/bundle_signature.h"

namespace sluice::control {

struct DataplaneLink {
    std::string name;
    Endpoint ep;  // its --control socket, or --control-listen over mutual TLS
    // Sync state (written by the sync thread under the daemon's mutex).
    bool up = false;
    uint64_t started_unix = 0;
    std::string rules_sha, policy_sha;
    uint64_t lists_synced = 0;  // the lists generation last pushed
    uint64_t resyncs = 0, pushes = 0;
    std::string last_error, note;
};

// Timeouts for talking to dataplanes (ms).
struct FleetTimeouts {
    int connect_ms = 2000;
    int status_ms = 5000;
    int push_ms = 60000;  // rule bundles: the dataplane rebuilds and swaps them
    int query_ms = 10000;
};

// What sluiced knows of its fleet at one moment (the dashboard's feed reads it).
struct FleetView {
    std::vector<DataplaneLink> links;
    std::vector<bool> in_sync;               // per link
    nlohmann::json desired;                  // {rules, policy, generation}
    nlohmann::json rules_meta, policy_meta;  // of the versions in force (null: none)
    nlohmann::json lists;                    // {entries: [...]}
};

class Daemon {
  public:
    explicit Daemon(StateStore& store) : store_(store) {}
    ~Daemon() { stop(); }
    void set_dataplanes(std::vector<DataplaneLink> links);  // SIGHUP reload keeps sync state
    void start();
    void stop();
    Frame handle(Request& req);
    // Audits a refusal of the control servers (forbidden, busy, too_large, timeout).
    void audit_refusal(const Refusal& r);
    // Tails an NSS key log as TLS terminators append to it and forwards new lines to every
    // dataplane (memory only; the delay from read to the dataplanes' answer is measured).
    void follow_keylog(const std::string& path);
    std::string metrics_text();
    FleetView fleet_view();
    FleetTimeouts timeouts;
    // Signs every bundle shipped (rules/bundle_signature.h); unset: bundles go unsigned and
    // dataplanes rebuild their databases from the sources.
    std::optional<rules::SigningKey> signing_key;
    // Where `dataset:… load PATH` in pushed rules may read (rules/dataset_path.h).
    std::vector<std::string> dataset_dirs;

  private:
    // The manager: every 500 ms (or on a change) starts one sync for each dataplane whose
    // previous sync has finished; a hung dataplane holds only its own sync thread.
    void sync_loop();
    void follow_loop();
    void sync_one(const std::string& name);
    void kick() { kick_.notify_all(); }
    std::vector<DataplaneLink> links_copy();
    // Up, with the desired lists and rule set (under mu_).
    bool in_sync(const DataplaneLink& l, const nlohmann::json& desired) const;

    StateStore& store_;
    std::mutex mu_;  // store_, links_, lists_gen_, counters below
    std::condition_variable kick_;
    std::vector<DataplaneLink> links_;
    uint64_t lists_gen_ = 1;
    std::thread sync_, follower_;
    std::string keylog_;
    uint64_t secrets_forwarded_ = 0;
    std::vector<uint64_t> forward_us_;  // per batch, bounded
    std::atomic<bool> stop_{false};
    uint64_t changes_ = 0, refusals_ = 0;
};

// A line diff of two texts ("-", "+", " " prefixes; unchanged runs longer than 6 lines are
// elided to their first and last 3).
std::string line_diff(const std::string& a, const std::string& b);

}  // namespace sluice::control
