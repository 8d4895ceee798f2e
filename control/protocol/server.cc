#include "control/protocol/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <map>

namespace sluice::control {

std::string error_json(uint64_t id, std::string_view code, std::string_view message) {
    return nlohmann::json{{"id", id}, {"ok", false}, {"code", code}, {"error", message}}.dump();
}

bool UnixServer::start(const std::string& path, Handler handler, std::string& error) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        error = path + ": socket path too long";
        return false;
    }
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    ::unlink(path.c_str());  // a stale socket of a previous run
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
        error = path + ": " + std::strerror(errno);
        ::close(listen_fd_);
        listen_fd_ = -1;
        return false;
    }
    ::chmod(path.c_str(), 0660);
    path_ = path;
    handler_ = std::move(handler);
    thread_ = std::thread([this] { run(); });
    return true;
}

void UnixServer::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        ::unlink(path_.c_str());
        listen_fd_ = -1;
    }
}

void UnixServer::run() {
    std::map<int, FrameReader> clients;
    std::map<int, uint32_t> uids;
    std::vector<pollfd> fds;
    char buf[65536];
    while (!stop_.load()) {
        fds.clear();
        fds.push_back({listen_fd_, POLLIN, 0});
        for (const auto& [fd, r] : clients) fds.push_back({fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
        if (fds[0].revents & POLLIN) {
            const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) {
                clients.emplace(c, FrameReader{});
                ucred cred{};
                socklen_t len = sizeof cred;
                uids[c] = ::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid
                                                                                     : UINT32_MAX;
            }
        }
        for (size_t i = 1; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            const int fd = fds[i].fd;
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            bool close_it = n <= 0;
            if (n > 0) {
                FrameReader& r = clients[fd];
                r.feed({buf, static_cast<size_t>(n)});
                while (auto f = r.next()) {
                    requests_.fetch_add(1, std::memory_order_relaxed);
                    const Frame resp = handler_(*f, uids[fd]);
                    std::string err;
                    if (!write_frame(fd, resp.json, resp.blob, err)) close_it = true;
                }
                if (!r.error().empty()) {
                    // A bad header: say why, then drop the connection (the stream cannot be
                    // resynchronised). The server and every other client carry on.
                    bad_frames_.fetch_add(1, std::memory_order_relaxed);
                    std::string err;
                    write_frame(fd, error_json(0, "bad_frame", r.error()), {}, err);
                    close_it = true;
                }
            }
            if (close_it) {
                ::close(fd);
                clients.erase(fd);
                uids.erase(fd);
            }
        }
    }
    for (const auto& [fd, r] : clients) ::close(fd);
}

}  // namespace sluice::control
