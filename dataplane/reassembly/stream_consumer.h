// What the reassembler hands in-order bytes to. Later stages (TLS, HTTP) implement this.
#pragma once

#include <cstdint>
#include <span>

#include "flow/flow.h"

namespace sluice {

class StreamConsumer {
  public:
    virtual ~StreamConsumer() = default;
    // In-order application bytes of one direction. The span is only valid during the call.
    virtual void on_data(Flow& flow, Dir dir, std::span<const uint8_t> bytes) = 0;
    // `len` bytes are missing before the next on_data (lost, or skipped past a buffer limit).
    virtual void on_gap(Flow& flow, Dir dir, uint32_t len) = 0;
    // The direction ended: FIN reached in order, RST, or the flow ended.
    virtual void on_end(Flow& flow, Dir dir) = 0;
    // The flow is about to be freed; release any per-flow resources.
    virtual void on_flow_end(Flow& flow) { (void)flow; }
};

}  // namespace sluice
