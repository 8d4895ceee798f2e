// The dataplane's control endpoint (docs/control-protocol.md): a Unix socket served by one
// thread (control::UnixServer). Commands read counters the workers publish, edit the
// operator's lists (merged into the next enforcement snapshot by the correlator), swap the
// policy and answer account queries on the correlator's own thread, and push TLS secrets to
// the workers' feeds. Nothing here touches a worker's state directly; a bad request gets an
// error answer and changes nothing.
#pragma once

#include <string>

#include "control/protocol/server.h"
#include "control/protocol/tls_channel.h"

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

  private:
    control::Frame handle(const control::Frame& req);
    Dataplane& dp_;
    control::UnixServer server_;
    control::TlsServer tls_;
};

}  // namespace sluice
