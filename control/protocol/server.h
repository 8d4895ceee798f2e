// A control endpoint: the frame protocol on a Unix socket or over mutual TLS
// (docs/control-protocol.md). Connections are served by control::Listener (bounded, reaped,
// deadlines); this layer reads frames within the caller's size limits, refuses JSON nested
// too deep before parsing it, authorizes the command against the caller's role, and hands
// the parsed request to the handler on the connection's thread. Handlers run concurrently
// (one per connection): they must synchronise their own state.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "control/protocol/access.h"
#include "control/protocol/frame.h"
#include "control/protocol/listener.h"
#include "control/protocol/peer.h"
#include "control/protocol/tls_context.h"

namespace sluice::control {

struct Request {
    uint64_t id = 0;
    std::string cmd;
    nlohmann::json args;  // an object
    std::string blob;
    Peer peer;
    Role role = Role::None;
};

// A refusal worth an audit line: forbidden, busy, too_large, timeout, bad_frame.
struct Refusal {
    std::string principal, role, cmd, code, message;
};

struct ServerOptions {
    AccessPolicy access;
    Limits limits;
    std::function<void(const Refusal&)> on_refusal;  // any thread; may be empty
};

class ControlServer {
  public:
    using Handler = std::function<Frame(Request& request)>;
    ControlServer() = default;
    ~ControlServer() { stop(); }
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // A Unix socket at `path` (a stale socket file is replaced; mode 0660).
    bool start_unix(const std::string& path, ServerOptions options, Handler handler,
                    std::string& error);
    // TCP IPv4ADDR:PORT with mutual TLS.
    bool start_tls(const std::string& listen, const TlsFiles& files, ServerOptions options,
                   Handler handler, std::string& error);
    void stop();

    uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
    uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
    uint64_t handshakes_failed() const { return handshakes_failed_.load(); }
    const Listener& listener() const { return listener_; }

  private:
    void serve(Stream& s, const Peer& peer, const std::atomic<bool>& stop);
    void refuse(const Peer& peer, Role role, std::string_view cmd, std::string_view code,
                std::string_view message);

    ServerOptions opt_;
    Handler handler_;
    Listener listener_;
    std::shared_ptr<SSL_CTX> tls_;
    std::string path_;
    std::atomic<uint64_t> requests_{0}, refused_{0}, handshakes_failed_{0};
};

// A frame's JSON as a request (depth-checked before parsing; cmd a known command; args an
// object). False with the answer's code and message (id set when it could be read).
bool parse_request(Frame& frame, Request& out, std::string& code, std::string& message);

// {"id":…,"ok":false,"error":…,"code":…} for a request id.
std::string error_json(uint64_t id, std::string_view code, std::string_view message);
// {"id":…,"ok":true,"result":…}
std::string ok_json(uint64_t id, const nlohmann::json& result);

}  // namespace sluice::control
