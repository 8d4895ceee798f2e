#include "quic/quic_packet.h"

#include <cstdio>

namespace sluice::quic {

std::string_view version_name(uint32_t v, char (&buf)[12]) {
    if (v == kVersion1) return "1";
    if (v == kVersion2) return "2";
    const int n = std::snprintf(buf, sizeof buf, "0x%08x", v);
    return {buf, static_cast<size_t>(n > 0 ? n : 0)};
}

bool read_varint(std::span<const uint8_t> b, size_t& at, uint64_t& v) {
    if (at >= b.size()) return false;
    const size_t len = size_t{1} << (b[at] >> 6);
    if (b.size() - at < len) return false;
    v = b[at] & 0x3f;
    for (size_t i = 1; i < len; ++i) v = v << 8 | b[at + i];
    at += len;
    return true;
}

namespace {

PacketType type_of(uint32_t version, uint8_t bits) {
    // RFC 9369 section 3.2: version 2 moves every type one up.
    static constexpr PacketType kV1[4] = {PacketType::Initial, PacketType::ZeroRtt,
                                          PacketType::Handshake, PacketType::Retry};
    static constexpr PacketType kV2[4] = {PacketType::Retry, PacketType::Initial,
                                          PacketType::ZeroRtt, PacketType::Handshake};
    return version == kVersion2 ? kV2[bits & 3] : kV1[bits & 3];
}

}  // namespace

HeaderStatus parse_long_header(std::span<const uint8_t> d, LongHeader& out) {
    out = LongHeader{};
    if (d.empty() || (d[0] & 0x80) == 0) return HeaderStatus::NotLong;
    // Invariants (RFC 8999 section 5.1): first byte, version, DCID, SCID.
    if (d.size() < 7) return HeaderStatus::Malformed;
    out.version = uint32_t{d[1]} << 24 | uint32_t{d[2]} << 16 | uint32_t{d[3]} << 8 | d[4];
    size_t at = 5;
    const size_t dlen = d[at++];
    if (d.size() - at < dlen + 1) return HeaderStatus::Malformed;
    out.dcid = d.subspan(at, dlen);
    at += dlen;
    const size_t slen = d[at++];
    if (d.size() - at < slen) return HeaderStatus::Malformed;
    out.scid = d.subspan(at, slen);
    at += slen;
    if (out.version == 0) {
        out.type = PacketType::VersionNegotiation;
        out.packet_len = d.size();
        return HeaderStatus::Ok;
    }
    if (!known_version(out.version)) {
        out.packet_len = d.size();
        return HeaderStatus::Ok;
    }
    if (dlen > kMaxCidLen || slen > kMaxCidLen || (d[0] & 0x40) == 0)
        return HeaderStatus::Malformed;
    out.type = type_of(out.version, static_cast<uint8_t>(d[0] >> 4));
    if (out.type == PacketType::Retry) {
        out.packet_len = d.size();  // a Retry is always the last packet of its datagram
        return HeaderStatus::Ok;
    }
    uint64_t v = 0;
    if (out.type == PacketType::Initial) {
        if (!read_varint(d, at, v) || d.size() - at < v) return HeaderStatus::Malformed;
        out.token = d.subspan(at, static_cast<size_t>(v));
        at += static_cast<size_t>(v);
    }
    if (!read_varint(d, at, v) || d.size() - at < v) return HeaderStatus::Malformed;
    out.pn_offset = at;
    out.packet_len = at + static_cast<size_t>(v);
    return HeaderStatus::Ok;
}

}  // namespace sluice::quic
