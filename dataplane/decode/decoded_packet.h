// The result of decoding one frame: offsets and views into the caller's buffer, never copies.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/ip_address.h"
#include "decode/link_type.h"

namespace sluice {

enum class DecodeStatus : uint8_t {
    Ok,         // IPv4/IPv6 with a decoded transport header (or another IP protocol)
    NotIp,      // valid frame that carries no IP (ARP, LLDP, ...): forwarded uninspected
    Fragment,   // an IP fragment: reassembled or dropped per config, never forwarded uninspected
    Malformed,  // see DecodeError
};

// Why a frame was malformed. Counted per reason; keep names in sync with decode_error_name().
enum class DecodeError : uint8_t {
    None,
    LinkTruncated,
    LinkUnknownFamily,
    VlanTooDeep,
    Ipv4Truncated,
    Ipv4BadVersion,
    Ipv4BadHeaderLength,
    Ipv4BadTotalLength,
    Ipv4ZeroTotalLength,  // 0: a TSO capture (accepted only with DecodeOptions::tso_lengths)
    Ipv4BadOption,
    Ipv6Truncated,
    Ipv6BadVersion,
    Ipv6BadPayloadLength,
    Ipv6ExtTruncated,
    Ipv6TooManyExt,
    TcpTruncated,
    TcpBadDataOffset,
    UdpTruncated,
    UdpBadLength,
    Count
};
std::string_view decode_error_name(DecodeError e);

namespace ip_proto {
constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmpV6 = 58;
}

namespace tcp_flag {
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20,
                  kEce = 0x40, kCwr = 0x80;
}

struct TcpOptions {
    uint16_t mss = 0;
    uint8_t window_scale = 0;
    bool has_mss = false;
    bool has_window_scale = false;
    bool sack_permitted = false;
    bool has_timestamp = false;
    bool malformed = false;  // option list ended early; the packet itself is still used
    uint32_t ts_value = 0;
    uint32_t ts_echo = 0;
};

struct DecodedPacket {
    DecodeStatus status = DecodeStatus::Malformed;
    DecodeError error = DecodeError::None;
    LinkType link = LinkType::Ethernet;

    uint16_t l3_offset = 0;    // first byte of the IP header within the frame
    uint16_t l4_offset = 0;    // first byte of the transport header
    uint16_t frag_offset = 0;  // IPv6 fragment: offset of the fragment extension header
    uint8_t vlan_count = 0;
    uint16_t vlan_ids[2] = {0, 0};

    IpAddress src;
    IpAddress dst;
    uint8_t proto = 0;
    uint8_t ttl = 0;
    uint32_t l3_length = 0;  // IP header + payload, without link padding

    uint16_t src_port = 0;
    uint16_t dst_port = 0;

    uint8_t tcp_flags = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint16_t window = 0;
    TcpOptions tcp_options;

    std::span<const uint8_t> payload;  // transport payload (trimmed of link padding)

    bool is_tcp() const { return status == DecodeStatus::Ok && proto == ip_proto::kTcp; }
    bool is_udp() const { return status == DecodeStatus::Ok && proto == ip_proto::kUdp; }
    bool has_flag(uint8_t f) const { return (tcp_flags & f) != 0; }
};

}  // namespace sluice
