#include "decode/link_type.h"

namespace sluice {

std::optional<LinkType> link_type_from_dlt(int dlt) {
    switch (dlt) {
        case 0:
            return LinkType::Null;
        case 1:
            return LinkType::Ethernet;
        case 12:
            return LinkType::RawOpenBsd;
        case 14:
            return LinkType::RawBsd;
        case 101:
            return LinkType::Raw;
        case 108:
            return LinkType::Loop;
        case 113:
            return LinkType::LinuxSll;
        case 228:
            return LinkType::Ipv4;
        case 229:
            return LinkType::Ipv6;
        case 276:
            return LinkType::LinuxSll2;
        default:
            return std::nullopt;
    }
}

std::string_view link_type_name(LinkType t) {
    switch (t) {
        case LinkType::Null:
            return "null";
        case LinkType::Ethernet:
            return "ethernet";
        case LinkType::RawOpenBsd:
        case LinkType::RawBsd:
        case LinkType::Raw:
            return "raw";
        case LinkType::Loop:
            return "loop";
        case LinkType::LinuxSll:
            return "linux-sll";
        case LinkType::Ipv4:
            return "ipv4";
        case LinkType::Ipv6:
            return "ipv6";
        case LinkType::LinuxSll2:
            return "linux-sll2";
    }
    return "unknown";
}

}  // namespace sluice
