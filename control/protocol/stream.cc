#include "control/protocol/stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sluice::control {

int Deadline::remaining_ms() const {
    const auto now = Clock::now();
    if (now >= at_) return 0;
    if (at_ == Clock::time_point::max()) return 1 << 30;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - now).count();
    return static_cast<int>(std::clamp<int64_t>(ms + 1, 1, 1 << 30));
}

std::string_view io_name(Io s) {
    switch (s) {
        case Io::Ok:
            return "ok";
        case Io::Closed:
            return "closed";
        case Io::Timeout:
            return "timeout";
        case Io::Stopped:
            return "stopped";
        case Io::Error:
            return "error";
    }
    return "?";
}

bool set_nonblocking(int fd) {
    const int fl = ::fcntl(fd, F_GETFL);
    return fl >= 0 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

Io wait_fd(int fd, short events, Deadline d, const std::atomic<bool>* stop) {
    for (;;) {
        if (stop && stop->load(std::memory_order_relaxed)) return Io::Stopped;
        const int left = d.remaining_ms();
        if (left == 0) return Io::Timeout;
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, stop ? std::min(left, 200) : left);
        if (rc > 0)
            return (p.revents & (POLLERR | POLLNVAL)) && !(p.revents & events) ? Io::Error : Io::Ok;
        if (rc < 0 && errno != EINTR) return Io::Error;
    }
}

std::string ssl_error_string() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "TLS error";
    char b[256];
    ERR_error_string_n(e, b, sizeof b);
    return b;
}

FdStream::~FdStream() {
    if (fd_ >= 0) ::close(fd_);
}

Io FdStream::read_some(char* buf, size_t cap, size_t& n, Deadline d,
                       const std::atomic<bool>* stop) {
    for (;;) {
        const ssize_t r = ::recv(fd_, buf, cap, 0);
        if (r > 0) {
            n = static_cast<size_t>(r);
            return Io::Ok;
        }
        if (r == 0) return Io::Closed;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            error_ = std::string("recv: ") + std::strerror(errno);
            return Io::Error;
        }
        if (const Io w = wait_fd(fd_, POLLIN, d, stop); w != Io::Ok) return w;
    }
}

Io FdStream::write_all(std::string_view bytes, Deadline d) {
    size_t off = 0;
    while (off < bytes.size()) {
        const ssize_t r = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (r > 0) {
            off += static_cast<size_t>(r);
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            error_ = std::string("send: ") + std::strerror(errno);
            return errno == EPIPE || errno == ECONNRESET ? Io::Closed : Io::Error;
        }
        if (const Io w = wait_fd(fd_, POLLOUT, d); w != Io::Ok) return w;
    }
    return Io::Ok;
}

SslStream::SslStream(std::shared_ptr<SSL_CTX> ctx, int fd) : ctx_(std::move(ctx)), fd_(fd) {
    ssl_ = SSL_new(ctx_.get());
    if (ssl_) SSL_set_fd(ssl_, fd_);
}

SslStream::~SslStream() {
    if (ssl_) {
        SSL_shutdown(ssl_);  // best effort on a non-blocking socket: never waits
        SSL_free(ssl_);
    }
    if (fd_ >= 0) ::close(fd_);
    ERR_clear_error();
}

Io SslStream::retry(int rc, Deadline d, const std::atomic<bool>* stop) {
    const int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ) return wait_fd(fd_, POLLIN, d, stop);
    if (e == SSL_ERROR_WANT_WRITE) return wait_fd(fd_, POLLOUT, d, stop);
    if (e == SSL_ERROR_ZERO_RETURN) return Io::Closed;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        // The peer went away without a close_notify (or reset the connection).
        error_ = errno != 0 ? std::strerror(errno) : "the peer closed the connection";
        return Io::Closed;
    }
    error_ = ssl_error_string();
    return Io::Error;
}

Io SslStream::handshake(bool server, const std::string& host, Deadline d) {
    if (!ssl_) {
        error_ = ssl_error_string();
        return Io::Error;
    }
    if (!server) {
        // The server's certificate must name what we connected to.
        in_addr a4{};
        in6_addr a6{};
        if (::inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
            ::inet_pton(AF_INET6, host.c_str(), &a6) == 1)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
        else
            SSL_set1_host(ssl_, host.c_str());
        SSL_set_tlsext_host_name(ssl_, host.c_str());
    }
    for (;;) {
        errno = 0;
        const int rc = server ? SSL_accept(ssl_) : SSL_connect(ssl_);
        if (rc == 1) return Io::Ok;
        const int e = SSL_get_error(ssl_, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            const long v = SSL_get_verify_result(ssl_);
            error_ =
                v != X509_V_OK ? std::string(X509_verify_cert_error_string(v)) : ssl_error_string();
            ERR_clear_error();
            return Io::Error;
        }
        if (const Io w = retry(rc, d, nullptr); w != Io::Ok) return w;
    }
}

bool SslStream::has_buffered() const {
    return ssl_ && SSL_pending(ssl_) > 0;
}

Io SslStream::read_some(char* buf, size_t cap, size_t& n, Deadline d,
                        const std::atomic<bool>* stop) {
    for (;;) {
        errno = 0;
        const int rc = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(cap, 1 << 30)));
        if (rc > 0) {
            n = static_cast<size_t>(rc);
            return Io::Ok;
        }
        if (const Io w = retry(rc, d, stop); w != Io::Ok) return w;
    }
}

Io SslStream::write_all(std::string_view bytes, Deadline d) {
    size_t off = 0;
    while (off < bytes.size()) {
        errno = 0;
        const int rc = SSL_write(ssl_, bytes.data() + off,
                                 static_cast<int>(std::min<size_t>(bytes.size() - off, 1 << 30)));
        if (rc > 0) {
            off += static_cast<size_t>(rc);
            continue;
        }
        if (const Io w = retry(rc, d, nullptr); w != Io::Ok) return w;
    }
    return Io::Ok;
}

}  // namespace sluice::control
