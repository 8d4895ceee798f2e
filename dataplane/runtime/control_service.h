// The dataplane's control endpoint (docs/control-protocol.md): a Unix socket and/or mutual
// TLS (control::ControlServer: bounded connection threads, deadlines, roles). Handlers of
// different connections are serialised by one mutex (none does network I/O). Commands read the
// summary the workers and the correlator publish, edit the operator's lists (merged into the
// next enforcement snapshot by the correlator), swap the policy and answer account queries on the
// correlator's own thread, and push TLS secrets to the workers' feeds - all through
// ControlTarget (runtime/control_target.h), never a worker's state directly. No DPDK here: the
// concurrency test runs it under ThreadSanitizer and fuzz-control feeds it arbitrary requests. A
// bad request gets an error answer and changes nothing.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "control/protocol/server.h"
#include "runtime/control_target.h"

namespace sluice {

class ControlService {
  public:
    ControlService(ControlTarget& target, ControlSettings settings);
    bool start(const std::string& path, std::string& error);
    // The same commands over TCP with mutual TLS.
    bool start_tls(const std::string& listen, const control::TlsFiles& files, std::string& error);
    void stop() {
        server_.stop();
        tls_.stop();
    }
    uint64_t refused() const { return server_.refused() + tls_.refused(); }
    uint64_t handshakes_failed() const { return tls_.handshakes_failed(); }
    // One request, as a connection's thread runs it (also the fuzz target's entry).
    control::Frame handle(control::Request& req);

  private:
    control::ServerOptions options();
    ControlTarget& target_;
    const ControlSettings settings_;
    std::mutex mu_;  // one request at a time; guards the state below
    std::string policy_digest_, policy_source_;
    uint64_t policy_applied_ = 0;
    std::optional<rules::BundleSignature> rules_signature_;  // of the set in force, if signed
    uint8_t rules_generation_ = 0;
    std::string rules_label_;  // the message of the last push
    uint64_t secrets_pushed_ = 0;
    control::ControlServer server_, tls_;
};

}  // namespace sluice
