// Where an HTTP/1.1 connection goes when it upgrades to HTTP/2 over cleartext (RFC 7540 section
// 3.2: a request with `Upgrade: h2c`, answered `101 Switching Protocols`). The HTTP/1.x stage
// keeps framing the connection up to each direction's switch point - the server's 101 head,
// the client's preface - and hands what follows to the HTTP/2 stage, so no byte is read by both
// and none is skipped. Declared here so http/ does not depend on http2/.
#pragma once

#include <cstdint>
#include <span>

#include "flow/flow_table.h"
#include "txn/transaction.h"

namespace sluice::http {

class H2cUpgrade {
  public:
    virtual ~H2cUpgrade() = default;
    // The connection switches: `request` (inspected at its request point, not yet answered)
    // becomes stream 1. False when no HTTP/2 connection could be had (counted there).
    virtual bool upgrade(Flow& f, const Transaction& request) = 0;
    // A direction's bytes after its switch point, in order.
    virtual void upgraded_data(Flow& f, Dir d, std::span<const uint8_t> bytes) = 0;
    virtual void upgraded_gap(Flow& f, Dir d, uint32_t len) = 0;
};

}  // namespace sluice::http
