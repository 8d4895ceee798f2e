// The dataplane's control endpoint (docs/control-protocol.md): a Unix socket and/or mutual
// TLS (control::ControlServer: bounded connection threads, deadlines, roles). Handlers of
// different connections are serialised by one mutex (none does network I/O). Commands read counters
// the workers publish, edit the operator's lists (merged into the next enforcement snapshot by the
// correlator), swap the policy and answer account queries on the correlator's own thread, and push
// TLS secrets to the workers' feeds. Nothing here touches a worker's state directly; a bad request
// gets an error answer and changes nothing.
#pragma once

#include <mutex>
#include <string>

#include "control/protocol/server.h"

namespace sluice {

class Dataplane;

class ControlService {
  public:
    explicit ControlService(Dataplane& dp) : dp_(dp) {}
    bool start(const std::string& path, std::string& error);
    // The same commands over TCP with mutual TLS.
    bool start_tls(const std::string& listen, const control::TlsFiles& files, std::string& error);
    void stop() {
        server_.stop();
        tls_.stop();
    }
    uint64_t refused() const { return server_.refused() + tls_.refused(); }
    uint64_t handshakes_failed() const { return tls_.handshakes_failed(); }

  private:
    control::ServerOptions options();
    control::Frame handle(control::Request& req);
    Dataplane& dp_;
    std::mutex mu_;  // one request at a time touches the dataplane's control state
    control::ControlServer server_, tls_;
};

}  // namespace sluice
