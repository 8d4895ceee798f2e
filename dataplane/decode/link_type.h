// Capture link types (libpcap DLT values) the decoder understands.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

enum class LinkType : uint16_t {
    Null = 0,         // BSD loopback, host-order 4-byte address family
    Ethernet = 1,     // DLT_EN10MB
    RawOpenBsd = 12,  // DLT_RAW on some platforms
    RawBsd = 14,      // DLT_RAW on some platforms
    Raw = 101,        // LINKTYPE_RAW
    Loop = 108,       // OpenBSD loopback, network-order address family
    LinuxSll = 113,   // Linux cooked capture v1
    Ipv4 = 228,
    Ipv6 = 229,
    LinuxSll2 = 276,  // Linux cooked capture v2
};

// Maps a pcap link-type number to a supported LinkType, or nullopt if unsupported.
std::optional<LinkType> link_type_from_dlt(int dlt);
std::string_view link_type_name(LinkType t);

}  // namespace sluice
