#include "det_random.h"

// The legacy RAND_METHOD hook is the one OpenSSL 3.0 offers to replace the generator behind
// RAND_bytes for the default library context (the TLS stack and the providers' key generation
// go through it); it is deprecated in favour of providers, hence the pragma.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <openssl/rand.h>

#include <cstring>

namespace sluice::synth {

namespace {

uint64_t g_state = 0;

uint64_t splitmix64() {
    uint64_t z = (g_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int det_bytes(unsigned char* buf, int num) {
    for (int i = 0; i < num; i += 8) {
        const uint64_t v = splitmix64();
        std::memcpy(buf + i, &v, static_cast<size_t>(num - i < 8 ? num - i : 8));
    }
    return 1;
}
int det_seed(const void*, int) {
    return 1;
}
int det_add(const void*, int, double) {
    return 1;
}
int det_status() {
    return 1;
}

RAND_METHOD g_method = {det_seed, det_bytes, nullptr, det_add, det_bytes, det_status};

}  // namespace

DeterministicRandom::DeterministicRandom(uint64_t seed) {
    g_state = seed ^ 0x5eed5eed5eed5eedull;
    RAND_set_rand_method(&g_method);
}

DeterministicRandom::~DeterministicRandom() {
    RAND_set_rand_method(nullptr);
}

}  // namespace sluice::synth
