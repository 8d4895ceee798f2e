// Bidirectional flow key: the two endpoints in canonical order so both directions of a
// connection map to one key and one hash (flow/flow_hash.h: keyed, symmetric).
#pragma once

#include <cstdint>
#include <cstring>

#include "common/ip_address.h"
#include "decode/decoded_packet.h"

namespace sluice {

struct Endpoint {
    IpAddress addr;
    uint16_t port = 0;
    auto operator<=>(const Endpoint&) const = default;
};

struct FlowKey {
    Endpoint lo;  // the smaller endpoint
    Endpoint hi;
    uint8_t proto = 0;
    uint16_t vlan = 0;  // outer VLAN id: the same 5-tuple on two VLANs is two flows

    bool operator==(const FlowKey&) const = default;

    // Builds the canonical key; `from_lo` tells whether the packet travels lo -> hi.
    static FlowKey from_packet(const DecodedPacket& p, bool& from_lo) {
        FlowKey k;
        const Endpoint s{p.src, p.src_port}, d{p.dst, p.dst_port};
        from_lo = !(d < s);
        k.lo = from_lo ? s : d;
        k.hi = from_lo ? d : s;
        k.proto = p.proto;
        k.vlan = p.vlan_count ? p.vlan_ids[0] : 0;
        return k;
    }
};

}  // namespace sluice
