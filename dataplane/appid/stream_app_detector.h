// Stream consumer that names a flow's application protocol from the client's first bytes,
// looking through a SOCKS4/5 preamble (a TLS session behind SOCKS on port 1080 is TLS).
#pragma once

#include "reassembly/stream_consumer.h"

namespace sluice {

class StreamAppDetector final : public StreamConsumer {
  public:
    void on_data(Flow& flow, Dir dir, std::span<const uint8_t> bytes) override;
    void on_gap(Flow& flow, Dir dir, uint32_t len) override;
    void on_end(Flow& flow, Dir dir) override;

    // Client bytes before the tunnelled protocol (0 without SOCKS); valid once decided.
    static uint32_t client_preamble(const Flow& flow) { return flow.detect_skip[0]; }

  private:
    // Returns how many bytes of `bytes` belong to the SOCKS preamble (all of them if it has
    // not ended yet); sets flow.detect_stage to kSocksDone at its end.
    static size_t feed_socks(Flow& flow, std::span<const uint8_t> bytes);
    static void guess(Flow& flow, std::span<const uint8_t> bytes);
};

}  // namespace sluice
