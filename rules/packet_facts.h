// What a packet-level rule sees of one packet (`alert ip`, `alert tcp-pkt`, and a tcp rule
// with header keywords: Suricata evaluates those per packet, not on the reassembled stream):
// the IP and TCP header fields of Suricata's and Snort's header keywords (ttl, id, fragbits,
// ipopts, flags, window, seq, ack, tcp.mss, dsize). Filled by the pipeline from the decoded
// packet; fixed size, no allocation.
#pragma once

#include <cstdint>

namespace sluice::rules {

// IPv4 options by the `ipopts` names (RFC 791 and Snort's list); a bit each in ip_opts.
enum class IpOpt : uint8_t { Eol, Nop, Rr, Ts, Sec, Esec, Lsrr, Ssrr, Satid, Other, Any };
constexpr uint32_t ip_opt_bit(IpOpt o) {
    return 1u << static_cast<uint32_t>(o);
}
// The option of an IPv4 option type byte.
IpOpt ip_opt_of(uint8_t type);

// fragbits: the IPv4 flags field's three bits.
namespace frag_bit {
constexpr uint8_t kMore = 0x01, kDont = 0x02, kReserved = 0x04;
}

struct PacketFacts {
    bool ipv4 = false;  // IPv6: ttl is the hop limit; id, fragbits and ipopts never match
    bool tcp = false;   // else not TCP (flags, window, seq, ack, tcp.mss never match)
    uint8_t proto = 0;  // the IP protocol: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...
    // ICMP and ICMPv6 (itype, icode; icmp_id and icmp_seq for the echo and other messages
    // that carry them).
    uint8_t icmp_type = 0, icmp_code = 0;
    bool icmp_has_id = false;
    // stream_size: what each side sent on a TCP connection, in sequence space as Suricata
    // counts it (next expected sequence number less the initial one: the SYN, the bytes in
    // order, the FIN); [0] the client, [1] the server.
    uint32_t stream_size[2] = {0, 0};
    uint16_t icmp_id = 0, icmp_seq = 0;
    uint8_t ttl = 0;
    uint16_t ip_id = 0;
    uint8_t frag_bits = 0;  // frag_bit::
    uint32_t ip_opts = 0;   // ip_opt_bit() of each option present
    uint8_t tcp_flags = 0;  // FIN 0x01 ... URG 0x20, ECE 0x40, CWR 0x80
    uint16_t window = 0;
    uint32_t seq = 0, ack = 0;
    bool has_mss = false;
    uint16_t mss = 0;
    uint32_t dsize = 0;    // the transport payload's length
    bool same_ip = false;  // source and destination address are one
};

constexpr bool is_icmp(const PacketFacts& p) {
    return p.proto == 1 || p.proto == 58;
}

}  // namespace sluice::rules
