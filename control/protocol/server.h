// A control endpoint on a Unix stream socket: one thread, poll over the listening socket and
// its clients, one request answered at a time (control traffic is rare and small; a slow
// client cannot block others for longer than one request). The handler runs on this thread.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "control/protocol/frame.h"

namespace sluice::control {

class UnixServer {
  public:
    // `peer_uid`: the connecting process's user (SO_PEERCRED), for audit trails.
    using Handler = std::function<Frame(const Frame& request, uint32_t peer_uid)>;
    UnixServer() = default;
    ~UnixServer() { stop(); }
    UnixServer(const UnixServer&) = delete;
    UnixServer& operator=(const UnixServer&) = delete;

    // Binds `path` (a stale socket file is replaced; mode 0660) and starts the thread.
    bool start(const std::string& path, Handler handler, std::string& error);
    void stop();
    uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
    uint64_t bad_frames() const { return bad_frames_.load(std::memory_order_relaxed); }

  private:
    void run();
    std::string path_;
    Handler handler_;
    int listen_fd_ = -1;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> requests_{0}, bad_frames_{0};
};

// {"id":…,"ok":false,"error":…,"code":…} for a request id.
std::string error_json(uint64_t id, std::string_view code, std::string_view message);

}  // namespace sluice::control
