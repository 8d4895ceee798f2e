#include "control/protocol/http_endpoint.h"

#include "control/protocol/tcp_listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::control {

bool HttpEndpoint::start(const std::string& listen, Handler handler, std::string& error) {
    fd_ = listen_tcp(listen, port_, error);
    if (fd_ < 0) return false;
    handler_ = std::move(handler);
    thread_ = std::thread([this] { run(); });
    return true;
}

void HttpEndpoint::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void HttpEndpoint::run() {
    while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        serve(c);
        ::close(c);
    }
}

void HttpEndpoint::serve(int fd) {
    std::string req;
    char buf[1024];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) <= 0) return;  // a silent client is dropped
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        req.append(buf, static_cast<size_t>(n));
    }
    HttpAnswer a;
    const size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos || req.compare(0, sp1, "GET") != 0) {
        a = {405, "text/plain", "GET only\n"};
    } else {
        a = handler_(req.substr(sp1 + 1, sp2 - sp1 - 1));
    }
    const char* reason = a.status == 200   ? "OK"
                         : a.status == 404 ? "Not Found"
                         : a.status == 503 ? "Service Unavailable"
                                           : "Error";
    const std::string head = "HTTP/1.0 " + std::to_string(a.status) + " " + reason +
                             "\r\nContent-Type: " + a.content_type +
                             "\r\nContent-Length: " + std::to_string(a.body.size()) +
                             "\r\nConnection: close\r\n\r\n";
    const std::string out = head + a.body;
    size_t off = 0;
    while (off < out.size()) {
        const ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<size_t>(n);
    }
}

}  // namespace sluice::control
