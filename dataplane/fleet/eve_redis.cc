#include "fleet/eve_redis.h"

#include <chrono>
#include <memory>

namespace sluice::fleet {
EveRedis::EveRedis(const EveRedisOptions& o, bool offline)
    : opt_(o),
      offline_(offline),
      cluster_(RedisCluster::options(o.seeds, o.auth, o.timeout_ms)),
      q_(o.queue) {}

EveRedis::~EveRedis() {
    stop();
    std::string* s = nullptr;
    while (q_.pop(s)) delete s;
}

void EveRedis::start() {
    if (running_.exchange(true)) return;
    thread_ = std::thread([this] { run(); });
}

void EveRedis::stop() {
    running_.store(false, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
}

void EveRedis::record(std::string_view json) {
    auto s = std::make_unique<std::string>(json);
    while (!q_.push(s.get())) {
        if (!offline_ || !thread_.joinable()) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    s.release();
    queued_.fetch_add(1, std::memory_order_relaxed);
}

void EveRedis::push(std::vector<std::string>& batch) {
    if (batch.empty()) return;
    std::vector<RedisCommand> cmds;
    const std::string maxlen = std::to_string(opt_.maxlen);
    if (opt_.type == EveRedisOptions::Type::List) {
        RedisCommand c;
        c.argv.reserve(batch.size() + 2);
        c.argv = {"RPUSH", opt_.key};
        for (std::string& r : batch) c.argv.push_back(std::move(r));
        cmds.push_back(std::move(c));
        if (opt_.maxlen > 0) cmds.push_back(RedisCommand{{"LTRIM", opt_.key, "-" + maxlen, "-1"}});
    } else {
        for (std::string& r : batch) {
            RedisCommand c;
            if (opt_.maxlen > 0)
                c.argv = {"XADD", opt_.key, "MAXLEN", "~", maxlen, "*", "event", std::move(r)};
            else
                c.argv = {"XADD", opt_.key, "*", "event", std::move(r)};
            cmds.push_back(std::move(c));
        }
    }
    const auto replies = cluster_.run(cmds);
    // The list's records travel in one command: all or none. A stream's one by one.
    uint64_t ok = 0;
    if (opt_.type == EveRedisOptions::Type::List)
        ok = replies[0].ok() ? batch.size() : 0;
    else
        for (const RedisReply& r : replies) ok += r.ok() ? 1 : 0;
    pushed_.fetch_add(ok, std::memory_order_relaxed);
    failed_.fetch_add(batch.size() - ok, std::memory_order_relaxed);
    connected_.store(ok == batch.size(), std::memory_order_relaxed);
    batch.clear();
}

void EveRedis::run() {
    std::vector<std::string> batch;
    batch.reserve(opt_.batch);
    for (;;) {
        const bool stopping = !running_.load(std::memory_order_acquire);
        std::string* s = nullptr;
        while (batch.size() < opt_.batch && q_.pop(s)) {
            batch.push_back(std::move(*s));
            delete s;
        }
        const bool any = !batch.empty();
        push(batch);
        if (stopping && q_.empty()) break;
        if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

EveRedisStats EveRedis::stats() const {
    EveRedisStats s;
    s.queued = queued_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.pushed = pushed_.load(std::memory_order_relaxed);
    s.failed = failed_.load(std::memory_order_relaxed);
    s.connected = connected_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace sluice::fleet
