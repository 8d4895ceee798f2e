// Deterministic randomness for OpenSSL: while a DeterministicRandom is installed, every
// RAND_bytes / RAND_priv_bytes in the process (TLS randoms, ECDHE keys, ECDSA nonces, session
// ids) comes from one seeded stream, so sluice-synth gives the same bytes for the same seed.
// Never for anything but synthetic traffic: the stream is predictable by design.
#pragma once

#include <cstdint>

namespace sluice::synth {

class DeterministicRandom {
  public:
    explicit DeterministicRandom(uint64_t seed);  // installs itself (single-threaded use)
    ~DeterministicRandom();                       // restores OpenSSL's default
    DeterministicRandom(const DeterministicRandom&) = delete;
    DeterministicRandom& operator=(const DeterministicRandom&) = delete;
};

}  // namespace sluice::synth
