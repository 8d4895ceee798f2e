// EVE records to Redis (docs/fleet.md, "EVE to Redis"): the EVE writer hands each record it
// writes to this tap (EveTap); a thread of its own pushes them in batches - RPUSH of up to
// `batch` records then LTRIM to the newest `maxlen` (list), or pipelined XADD MAXLEN ~ (stream,
// field "event"). Live, a full queue drops and counts the record: the writer never waits on
// Redis. Offline the writer waits for room, so the list holds exactly the file's records.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include <boost/lockfree/spsc_queue.hpp>

#include "eve/event_sink.h"
#include "fleet/eve_redis_options.h"
#include "fleet/redis_cluster.h"

namespace sluice::fleet {

struct EveRedisStats {
    uint64_t queued = 0, dropped = 0, pushed = 0, failed = 0;
    bool connected = false;
};

class EveRedis final : public EveTap {
  public:
    EveRedis(const EveRedisOptions& o, bool offline);
    ~EveRedis() override;
    void start();
    // Pushes what is queued, then joins.
    void stop();
    void record(std::string_view json) override;
    EveRedisStats stats() const;

  private:
    void run();
    void push(std::vector<std::string>& batch);

    EveRedisOptions opt_;
    bool offline_;
    RedisCluster cluster_;
    boost::lockfree::spsc_queue<std::string*> q_;
    std::atomic<uint64_t> queued_{0}, dropped_{0}, pushed_{0}, failed_{0};
    std::atomic<bool> connected_{false};
    std::atomic<bool> running_{false};
    std::thread thread_;
};

}  // namespace sluice::fleet
