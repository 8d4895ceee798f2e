// Accepts connections on a listening socket and serves each on its own thread, within limits:
// at most `max_connections` at once and `max_per_peer` per uid or client address; a
// connection over a limit, or one no thread could be created for, gets a short answer from
// the accept thread and is closed - the process carries on. Finished threads are joined on
// the accept thread (no leaked mappings). A slow or silent peer only ever holds its own
// thread: every wait is bounded by a deadline (control/protocol/stream.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "control/protocol/peer.h"
#include "control/protocol/stream.h"

namespace YAML {
class Node;
}

namespace sluice::control {

struct Limits {
    int max_connections = 64;
    int max_per_peer = 16;
    int handshake_ms = 5000;  // TLS handshake, from accept
    int idle_ms = 60000;      // waiting for the first byte of the next request
    int request_ms = 10000;   // from a request's first byte to its last
    int write_ms = 10000;     // to write one answer (a client that does not read loses it)
};

// The `limits:` section ({max_connections, max_per_peer, handshake_ms, idle_ms, request_ms,
// write_ms}); each a positive integer. False with "LINE:COL: why".
bool parse_limits(const YAML::Node& node, Limits& out, std::string& error);

class Listener {
  public:
    using Identify = std::function<Peer(int fd)>;  // on the accept thread: cheap (getsockopt)
    // On the connection's thread: the stream (a TLS handshake included), the peer completed;
    // nullptr drops the connection (`fd` is then closed by the listener).
    using Open = std::function<std::unique_ptr<Stream>(int fd, Peer& peer)>;
    using Serve = std::function<void(Stream&, const Peer&, const std::atomic<bool>& stop)>;
    // On the accept thread, for a connection turned away: code "busy" and why. Must not block.
    using Reject = std::function<void(int fd, const Peer&, const std::string& why)>;

    Listener() = default;
    ~Listener() { stop(); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Takes ownership of `listen_fd`.
    void start(int listen_fd, Limits limits, Identify identify, Open open, Serve serve,
               Reject reject);
    void stop();

    uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
    uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
    int active() const { return active_.load(std::memory_order_relaxed); }
    const Limits& limits() const { return limits_; }

  private:
    struct Conn {
        std::thread thread;
        std::atomic<bool> done{false};
        std::string key;
    };
    void run();
    void reap(bool all);

    int fd_ = -1;
    Limits limits_;
    Identify identify_;
    Open open_;
    Serve serve_;
    Reject reject_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::list<std::unique_ptr<Conn>> conns_;  // accept thread only
    std::map<std::string, int> per_peer_;     // accept thread only
    std::atomic<uint64_t> accepted_{0}, rejected_{0};
    std::atomic<int> active_{0};
};

}  // namespace sluice::control
