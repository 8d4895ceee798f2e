// A control client: connects to a dataplane's (or sluiced's) Unix socket, or over mutual TLS,
// and sends requests. Every step is bounded: the connect (and TLS handshake) by
// `connect_ms`, each request by its own timeout; a peer that accepts and never answers costs
// the caller that long and no more.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "control/protocol/frame.h"
#include "control/protocol/stream.h"
#include "control/protocol/tls_context.h"

namespace sluice::control {

struct Response {
    bool ok = false;
    nlohmann::json result;  // ok: the command's result
    std::string error;      // !ok: what went wrong (transport or the peer's error)
    std::string code;       // !ok: "unreachable", "timeout", "protocol", or the peer's code
    std::string blob;
};

// Where a control peer listens: a Unix socket, or HOST:PORT with mutual TLS.
struct Endpoint {
    std::string unix_path;
    std::string tcp;  // HOST:PORT; used when set
    TlsFiles tls;
    std::string describe() const { return tcp.empty() ? unix_path : tcp; }
};

inline constexpr int kConnectMs = 5000;

class Client {
  public:
    Client() = default;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connect_unix(const std::string& path, std::string& error, int connect_ms = kConnectMs);
    // TCP with mutual TLS (HOST:PORT). The TLS context is built from `files` each time
    // unless one is given (sluiced reuses one per dataplane).
    bool connect_tls(const std::string& host_port, const TlsFiles& files, std::string& error,
                     int connect_ms = kConnectMs);
    bool connect(const Endpoint& e, std::string& error, int connect_ms = kConnectMs) {
        return e.tcp.empty() ? connect_unix(e.unix_path, error, connect_ms)
                             : connect_tls(e.tcp, e.tls, error, connect_ms);
    }
    Response request(const std::string& cmd, const nlohmann::json& args = nlohmann::json::object(),
                     std::string_view blob = {}, int timeout_ms = 30000);

  private:
    std::unique_ptr<Stream> stream_;
    uint64_t next_id_ = 1;
};

}  // namespace sluice::control
