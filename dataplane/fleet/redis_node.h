// One connection to one Redis server over hiredis's blocking API, with connect and I/O
// deadlines (a stalled server costs at most the deadline, and only to the fleet thread).
// Commands go out as a pipeline: every command written, then every reply read.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fleet/redis_reply.h"

struct redisContext;

namespace sluice::fleet {

struct Endpoint {
    std::string host;
    uint16_t port = 0;
    std::string text() const {
        const bool v6 = host.find(':') != std::string::npos;
        return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
};
// "host:port" (IPv6 as [addr]:port); false if malformed.
bool parse_endpoint(std::string_view s, Endpoint& out);

struct Credentials {
    std::string user;      // empty: AUTH password (the default user)
    std::string password;  // empty: no AUTH; wiped when the holder goes
    Credentials() = default;
    Credentials(const Credentials&) = default;
    Credentials& operator=(const Credentials&) = default;
    ~Credentials();
};

class RedisNode {
  public:
    RedisNode(Endpoint e, std::chrono::milliseconds timeout);
    ~RedisNode();
    RedisNode(const RedisNode&) = delete;
    RedisNode& operator=(const RedisNode&) = delete;

    // Connects (and authenticates) if not connected. False with `error` set on failure.
    bool connect(const Credentials& auth, std::string& error);
    bool connected() const { return ctx_ != nullptr; }
    // Sends every command, then reads every reply (in order). On an I/O error the
    // connection is closed and the unanswered commands get Lost replies.
    std::vector<RedisReply> pipeline(std::span<const RedisCommand> cmds);
    RedisReply command(const RedisCommand& c);
    const Endpoint& endpoint() const { return endpoint_; }
    void close();

  private:
    Endpoint endpoint_;
    std::chrono::milliseconds timeout_;
    redisContext* ctx_ = nullptr;
};

}  // namespace sluice::fleet
