#include "eve/community_id.h"

#include "common/digest.h"

#include <openssl/evp.h>

#include <cstring>

namespace sluice {

size_t community_id(const Endpoint& src, const Endpoint& dst, uint8_t proto, std::span<char> out) {
    if (out.size() < 31) return 0;
    // The spec orders the endpoints so both directions hash alike: smaller address first,
    // ties broken by port.
    const Endpoint* a = &src;
    const Endpoint* b = &dst;
    const int cmp = std::memcmp(a->addr.bytes.data(), b->addr.bytes.data(), a->addr.size());
    if (cmp > 0 || (cmp == 0 && a->port > b->port)) std::swap(a, b);
    uint8_t buf[2 + 16 + 16 + 1 + 1 + 2 + 2];
    size_t n = 0;
    buf[n++] = 0;  // seed, big endian
    buf[n++] = 0;
    std::memcpy(buf + n, a->addr.bytes.data(), a->addr.size());
    n += a->addr.size();
    std::memcpy(buf + n, b->addr.bytes.data(), b->addr.size());
    n += b->addr.size();
    buf[n++] = proto;
    buf[n++] = 0;  // padding
    const bool has_ports = proto == 6 || proto == 17 || proto == 132;
    if (has_ports) {
        buf[n++] = static_cast<uint8_t>(a->port >> 8);
        buf[n++] = static_cast<uint8_t>(a->port);
        buf[n++] = static_cast<uint8_t>(b->port >> 8);
        buf[n++] = static_cast<uint8_t>(b->port);
    }
    const auto digest = sha1({buf, n});
    out[0] = '1';
    out[1] = ':';
    const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + 2), digest.data(),
                                    static_cast<int>(digest.size()));
    return len < 0 ? 0 : static_cast<size_t>(len) + 2;
}

}  // namespace sluice
