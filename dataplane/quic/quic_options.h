// The QUIC stage's options (the `quic:` config section), with the defaults docs/dataplane.md
// states.
#pragma once

#include <cstdint>

namespace sluice::quic {

enum class QuicAction : uint8_t {
    Pass,   // read the Initial packets (SNI, ALPN, JA4), forward everything
    Block,  // drop QUIC connections, so clients fall back to TCP where sluice sees everything
};

struct QuicOptions {
    bool enabled = true;
    uint32_t sessions = 128;  // handshakes being assembled at once per worker (16 KiB each)
    // Pass by default; the runtime makes it block on inline ports unless configured (an
    // HTTP/3 request would otherwise pass every rule: 1-RTT data cannot be decrypted).
    QuicAction action = QuicAction::Pass;
    uint32_t reclaim_after_ms = 1000;  // an idle half-sent hello gives its slot up after this
};

}  // namespace sluice::quic
