// Builds Ethernet/IPv4/IPv6/TCP/UDP frames with valid lengths and checksums. Used by tests,
// the capture mangler and (later) the packet generator.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "decode/link_type.h"

namespace sluice::craft {

struct TcpSpec {
    uint16_t src_port = 40000;
    uint16_t dst_port = 80;
    uint32_t seq = 1000;
    uint32_t ack = 0;
    uint8_t flags = 0x18;  // PSH|ACK
    uint16_t window = 65535;
    std::vector<uint8_t> options;  // raw TCP options, padded to 4 bytes by the builder
};

struct FrameSpec {
    LinkType link = LinkType::Ethernet;
    std::vector<uint16_t> vlans;  // outer first
    IpAddress src = *IpAddress::parse("10.0.0.1");
    IpAddress dst = *IpAddress::parse("10.0.0.2");
    uint8_t ttl = 64;
    std::vector<uint8_t> ip_options;     // IPv4 options (padded to 4 bytes)
    std::vector<uint8_t> ipv6_ext;       // raw IPv6 extension headers; first_next_header set
    uint8_t ipv6_first_next_header = 0;  // next header of the base header when ipv6_ext set
    uint16_t ipv4_frag = 0;              // flags+offset field (0x2000 = more fragments)
    uint8_t proto = 6;
    std::vector<uint8_t> l4;  // for proto other than TCP/UDP: the raw payload
};

// Frames for the given link type around an IP packet.
std::vector<uint8_t> tcp_frame(const FrameSpec& f, const TcpSpec& t,
                               std::span<const uint8_t> payload);
std::vector<uint8_t> udp_frame(const FrameSpec& f, uint16_t sport, uint16_t dport,
                               std::span<const uint8_t> payload);
std::vector<uint8_t> ip_frame(const FrameSpec& f, std::span<const uint8_t> l4);

std::span<const uint8_t> bytes(const std::string& s);

// Recomputes the IPv4 header checksum and the TCP/UDP checksum of an IP packet in place.
void fix_checksums(std::span<uint8_t> ip_packet);

}  // namespace sluice::craft
