#include "control/protocol/listener.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <system_error>

namespace sluice::control {

bool parse_limits(const YAML::Node& node, Limits& out, std::string& error) {
    static constexpr std::array<std::pair<const char*, int Limits::*>, 6> kFields = {{
        {"max_connections", &Limits::max_connections},
        {"max_per_peer", &Limits::max_per_peer},
        {"handshake_ms", &Limits::handshake_ms},
        {"idle_ms", &Limits::idle_ms},
        {"request_ms", &Limits::request_ms},
        {"write_ms", &Limits::write_ms},
    }};
    auto at = [&](const YAML::Node& n, const std::string& why) {
        error = std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1) +
                ": limits: " + why;
        return false;
    };
    if (!node.IsMap()) return at(node, "a map");
    for (const auto& kv : node) {
        const std::string k = kv.first.as<std::string>();
        const auto* f = std::find_if(kFields.begin(), kFields.end(),
                                     [&](const auto& e) { return k == e.first; });
        if (f == kFields.end())
            return at(kv.first, "unknown key '" + k +
                                    "' (max_connections, max_per_peer, handshake_ms, idle_ms, "
                                    "request_ms, write_ms)");
        int v = 0;
        if (!YAML::convert<int>::decode(kv.second, v) || v <= 0 || v > 86'400'000)
            return at(kv.second, k + " is a positive integer (at most 86400000)");
        out.*(f->second) = v;
    }
    return true;
}

void Listener::start(int listen_fd, Limits limits, Identify identify, Open open, Serve serve,
                     Reject reject) {
    fd_ = listen_fd;
    limits_ = limits;
    identify_ = std::move(identify);
    open_ = std::move(open);
    serve_ = std::move(serve);
    reject_ = std::move(reject);
    stop_.store(false);
    thread_ = std::thread([this] { run(); });
}

void Listener::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void Listener::reap(bool all) {
    for (auto it = conns_.begin(); it != conns_.end();) {
        Conn& c = **it;
        if (!all && !c.done.load(std::memory_order_acquire)) {
            ++it;
            continue;
        }
        if (c.thread.joinable()) c.thread.join();
        if (--per_peer_[c.key] <= 0) per_peer_.erase(c.key);
        it = conns_.erase(it);
    }
}

void Listener::run() {
    while (!stop_.load()) {
        reap(false);
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) continue;  // EMFILE and friends: the peer sees a reset, we carry on
        accepted_.fetch_add(1, std::memory_order_relaxed);
        Peer peer = identify_(c);
        const std::string key = peer.limit_key();
        std::string why;
        if (static_cast<int>(conns_.size()) >= limits_.max_connections)
            why = "too many control connections (" + std::to_string(limits_.max_connections) +
                  "); retry later";
        else if (per_peer_[key] >= limits_.max_per_peer)
            why = "too many control connections from " + key + " (" +
                  std::to_string(limits_.max_per_peer) + ")";
        if (why.empty()) {
            auto conn = std::make_unique<Conn>();
            conn->key = key;
            Conn* raw = conn.get();
            try {
                raw->thread = std::thread([this, raw, c, peer]() mutable {
                    active_.fetch_add(1, std::memory_order_relaxed);
                    if (auto s = open_(c, peer))
                        serve_(*s, peer, stop_);  // the stream closes the socket
                    else
                        ::close(c);
                    active_.fetch_sub(1, std::memory_order_relaxed);
                    raw->done.store(true, std::memory_order_release);
                });
                ++per_peer_[key];
                conns_.push_back(std::move(conn));
                continue;
            } catch (const std::system_error& e) {
                why = std::string("cannot start a connection thread: ") + e.what();
            }
        }
        if (per_peer_[key] == 0) per_peer_.erase(key);
        rejected_.fetch_add(1, std::memory_order_relaxed);
        reject_(c, peer, why);
        ::close(c);
    }
    reap(true);  // connection threads see stop_ within 200 ms
}

}  // namespace sluice::control
