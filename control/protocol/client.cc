#include "control/protocol/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::control {

Client::~Client() {
    if (fd_ >= 0) ::close(fd_);
}

bool Client::connect_unix(const std::string& path, std::string& error) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        error = path + ": socket path too long";
        return false;
    }
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        error = path + ": " + std::strerror(errno);
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        return false;
    }
    return true;
}

bool Client::connect_tls(const std::string& host_port, const TlsFiles& files, std::string& error) {
    auto t = std::make_unique<TlsStream>();
    if (!t->connect(host_port, files, error)) return false;
    tls_ = std::move(t);
    return true;
}

Response Client::request(const std::string& cmd, const nlohmann::json& args, std::string_view blob,
                         int timeout_ms) {
    Response r;
    if (fd_ < 0 && !tls_) {
        r.code = "unreachable";
        r.error = "not connected";
        return r;
    }
    const uint64_t id = next_id_++;
    const std::string req = nlohmann::json{{"id", id}, {"cmd", cmd}, {"args", args}}.dump();
    Frame f;
    const bool ok =
        tls_ ? tls_->write(encode_frame(req, blob), r.error) &&
                   tls_->read_frame(f, timeout_ms, r.error)
             : write_frame(fd_, req, blob, r.error) && read_frame(fd_, f, timeout_ms, r.error);
    if (!ok) {
        r.code = "unreachable";
        return r;
    }
    const auto j = nlohmann::json::parse(f.json, nullptr, false);
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
    r.blob = std::move(f.blob);
    return r;
}

}  // namespace sluice::control
