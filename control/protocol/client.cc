#include "control/protocol/client.h"

#include "control/protocol/wipe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::control {

namespace {
// A non-blocking connect bounded by `d`; the socket stays non-blocking. -1 with `error`.
int connect_within(int family, const sockaddr* addr, socklen_t len, Deadline d,
                   std::string& error) {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        error = std::strerror(errno);
        return -1;
    }
    int rc = ::connect(fd, addr, len);
    // A Unix listener with a full backlog answers EAGAIN: wait for room like TCP does.
    while (rc != 0 && errno == EAGAIN && family == AF_UNIX && !d.passed()) {
        ::poll(nullptr, 0, 20);
        rc = ::connect(fd, addr, len);
    }
    if (rc != 0 && errno == EINPROGRESS) {
        if (wait_fd(fd, POLLOUT, d) != Io::Ok) {
            error = "connect timed out";
            ::close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) errno = soerr;
        rc = soerr == 0 ? 0 : -1;
    }
    if (rc != 0) {
        error = errno == EAGAIN ? "connect timed out (the listener's backlog is full)"
                                : std::strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

bool split_host_port(const std::string& hp, std::string& host, std::string& port) {
    const size_t c = hp.rfind(':');
    if (c == std::string::npos || c == 0 || c + 1 == hp.size()) return false;
    host = hp.substr(0, c);
    port = hp.substr(c + 1);
    return true;
}
}  // namespace

bool Client::connect_unix(const std::string& path, std::string& error, int connect_ms) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        error = path + ": socket path too long";
        return false;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    std::string why;
    const int fd = connect_within(AF_UNIX, reinterpret_cast<sockaddr*>(&addr), sizeof addr,
                                  Deadline::in_ms(connect_ms), why);
    if (fd < 0) {
        error = path + ": " + why;
        return false;
    }
    stream_ = std::make_unique<FdStream>(fd);
    return true;
}

bool Client::connect_tls(const std::string& host_port, const TlsFiles& files, std::string& error,
                         int connect_ms) {
    auto ctx = make_tls_context(false, files, error);
    if (!ctx) return false;
    std::string host, port;
    if (!split_host_port(host_port, host, port)) {
        error = "'" + host_port + "': expected HOST:PORT";
        return false;
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
        error = host_port + ": cannot resolve";
        return false;
    }
    const Deadline d = Deadline::in_ms(connect_ms);
    std::string why;
    const int fd = connect_within(res->ai_family, res->ai_addr, res->ai_addrlen, d, why);
    ::freeaddrinfo(res);
    if (fd < 0) {
        error = host_port + ": " + why;
        return false;
    }
    auto s = std::make_unique<SslStream>(std::move(ctx), fd);
    if (const Io io = s->handshake(false, host, d); io != Io::Ok) {
        error = host_port + ": TLS handshake " +
                (io == Io::Timeout ? std::string("timed out") : "failed: " + s->error());
        return false;
    }
    stream_ = std::move(s);
    return true;
}

Response Client::request(const std::string& cmd, const nlohmann::json& args, std::string_view blob,
                         int timeout_ms) {
    Response r;
    if (!stream_) {
        r.code = "unreachable";
        r.error = "not connected";
        return r;
    }
    const Deadline d = Deadline::in_ms(timeout_ms);
    const uint64_t id = next_id_++;
    const std::string req = nlohmann::json{{"id", id}, {"cmd", cmd}, {"args", args}}.dump();
    auto transport = [&](Io io, const char* what) {
        r.code = io == Io::Timeout ? "timeout" : "unreachable";
        r.error = io == Io::Timeout          ? std::string("timed out ") + what
                  : io == Io::Closed         ? std::string("the peer closed the connection")
                  : stream_->error().empty() ? std::string(what) + " failed"
                                             : stream_->error();
        return r;
    };
    std::string frame = encode_frame(req, blob);
    const Io sent = stream_->write_all(frame, d);
    wipe(frame);  // it may hold a key log (secrets.push)
    if (sent != Io::Ok) return transport(sent, "sending the request");
    FrameReader reader;
    std::optional<Frame> f;
    std::string buf(65536, '\0');
    while (!(f = reader.next())) {
        if (!reader.error().empty()) {
            r.code = "protocol";
            r.error = reader.error();
            return r;
        }
        size_t n = 0;
        if (const Io io = stream_->read_some(buf.data(), buf.size(), n, d); io != Io::Ok)
            return transport(io, "waiting for an answer");
        reader.feed({buf.data(), n});
    }
    if (!json_depth_within(f->json)) {
        r.code = "protocol";
        r.error = "the answer nests too deep";
        return r;
    }
    const auto j = nlohmann::json::parse(f->json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        r.code = "protocol";
        r.error = "the answer is not a JSON object";
        return r;
    }
    r.ok = j.value("ok", false);
    if (r.ok) {
        r.result = j.value("result", nlohmann::json::object());
    } else {
        r.code = j.value("code", "error");
        r.error = j.value("error", "unknown error");
    }
    r.blob = std::move(f->blob);
    return r;
}

}  // namespace sluice::control
