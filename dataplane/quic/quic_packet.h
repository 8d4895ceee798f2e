// QUIC packet headers (RFC 9000 section 17, RFC 8999 invariants) for versions 1 and 2
// (RFC 9369, which renumbers the long-header packet types): enough to find each packet of a
// datagram, its connection ids, token and packet-number offset. Views into the datagram; no
// allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::quic {

constexpr uint32_t kVersion1 = 0x00000001;
constexpr uint32_t kVersion2 = 0x6b3343cf;
constexpr size_t kMaxCidLen = 20;

// Versions whose Initial packets sluice can open.
constexpr bool known_version(uint32_t v) {
    return v == kVersion1 || v == kVersion2;
}
// "1", "2", or the hex value ("0xff00001d") for others.
std::string_view version_name(uint32_t v, char (&buf)[12]);

// A variable-length integer (RFC 9000 section 16) at `at`, which moves past it.
bool read_varint(std::span<const uint8_t> b, size_t& at, uint64_t& v);

enum class PacketType : uint8_t { Initial, ZeroRtt, Handshake, Retry, VersionNegotiation, Other };

struct LongHeader {
    uint32_t version = 0;
    PacketType type = PacketType::Other;
    std::span<const uint8_t> dcid, scid, token;
    size_t pn_offset = 0;   // where the (protected) packet number starts
    size_t packet_len = 0;  // this packet's bytes in the datagram (coalesced packets follow)
};

enum class HeaderStatus : uint8_t {
    Ok,
    NotLong,    // a short-header packet (or not QUIC at all)
    Malformed,  // truncated or inconsistent: the rest of the datagram is not read
};

// Parses the long header at the start of `d`. For versions other than 1 and 2 only the
// invariant fields are read (type Other, the whole datagram).
HeaderStatus parse_long_header(std::span<const uint8_t> d, LongHeader& out);

}  // namespace sluice::quic
