// A control client: connects to a dataplane's (or sluiced's) Unix socket and sends requests.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "control/protocol/frame.h"
#include "control/protocol/tls_channel.h"

namespace sluice::control {

struct Response {
    bool ok = false;
    nlohmann::json result;  // ok: the command's result
    std::string error;      // !ok: what went wrong (transport or the peer's error)
    std::string code;       // !ok: "unreachable", "protocol", or the peer's error code
    std::string blob;
};

// Where a control peer listens: a Unix socket, or HOST:PORT with mutual TLS.
struct Endpoint {
    std::string unix_path;
    std::string tcp;  // HOST:PORT; used when set
    TlsFiles tls;
    std::string describe() const { return tcp.empty() ? unix_path : tcp; }
};

class Client {
  public:
    Client() = default;
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connect_unix(const std::string& path, std::string& error);
    bool connect(const Endpoint& e, std::string& error) {
        return e.tcp.empty() ? connect_unix(e.unix_path, error) : connect_tls(e.tcp, e.tls, error);
    }
    // TCP with mutual TLS (HOST:PORT).
    bool connect_tls(const std::string& host_port, const TlsFiles& files, std::string& error);
    Response request(const std::string& cmd, const nlohmann::json& args = nlohmann::json::object(),
                     std::string_view blob = {}, int timeout_ms = 30000);

  private:
    int fd_ = -1;
    std::unique_ptr<TlsStream> tls_;
    uint64_t next_id_ = 1;
};

}  // namespace sluice::control
