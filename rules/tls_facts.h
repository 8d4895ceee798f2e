// What TLS rules check beyond buffers: the negotiated version (tls.version, ssl_version) and
// the handshake message the inspection point stands for (ssl_state). Filled by the rule
// inspector from the TLS stage's hellos; fixed size.
#pragma once

#include <cstdint>

namespace sluice::rules {

// ssl_state's names, a bit each.
namespace ssl_state_bit {
constexpr uint8_t kClientHello = 1, kServerHello = 2, kClientKeyx = 4, kServerKeyx = 8,
                  kUnknown = 16;
}

struct TlsFacts {
    uint16_t version = 0;  // negotiated (0 at the client hello: not known yet)
    uint8_t states = 0;    // ssl_state_bit:: of the messages seen so far
};

}  // namespace sluice::rules
