#include "decode/decoder.h"

#include <array>

namespace sluice {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd, kEtherVlan = 0x8100,
                   kEtherQinQ = 0x88a8, kEtherQinQOld = 0x9100;
constexpr size_t kMaxIpv6ExtHeaders = 8;

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

DecodedPacket& fail(DecodedPacket& pkt, DecodeError e) {
    pkt.status = DecodeStatus::Malformed;
    pkt.error = e;
    return pkt;
}

void parse_tcp_options(std::span<const uint8_t> opts, TcpOptions& out) {
    size_t i = 0;
    while (i < opts.size()) {
        const uint8_t kind = opts[i];
        if (kind == 0) return;  // end of option list
        if (kind == 1) {        // NOP
            ++i;
            continue;
        }
        if (i + 1 >= opts.size() || opts[i + 1] < 2 || i + opts[i + 1] > opts.size()) {
            out.malformed = true;
            return;
        }
        const uint8_t len = opts[i + 1];
        const uint8_t* v = opts.data() + i + 2;
        switch (kind) {
            case 2:
                if (len == 4)
                    out.mss = be16(v), out.has_mss = true;
                else
                    out.malformed = true;
                break;
            case 3:
                if (len == 3)
                    out.window_scale = v[0], out.has_window_scale = true;
                else
                    out.malformed = true;
                break;
            case 4:
                if (len == 2)
                    out.sack_permitted = true;
                else
                    out.malformed = true;
                break;
            case 8:
                if (len == 10) {
                    out.ts_value = be32(v);
                    out.ts_echo = be32(v + 4);
                    out.has_timestamp = true;
                } else {
                    out.malformed = true;
                }
                break;
            default:
                break;
        }
        i += len;
    }
}

DecodedPacket& decode_l4(std::span<const uint8_t> f, size_t off, size_t end, DecodedPacket& pkt) {
    pkt.l4_offset = static_cast<uint16_t>(off);
    const size_t avail = end - off;
    if (pkt.proto == ip_proto::kTcp) {
        if (avail < 20) return fail(pkt, DecodeError::TcpTruncated);
        const uint8_t* t = f.data() + off;
        const size_t hlen = static_cast<size_t>(t[12] >> 4) * 4;
        if (hlen < 20) return fail(pkt, DecodeError::TcpBadDataOffset);
        if (hlen > avail) return fail(pkt, DecodeError::TcpTruncated);
        pkt.src_port = be16(t);
        pkt.dst_port = be16(t + 2);
        pkt.seq = be32(t + 4);
        pkt.ack = be32(t + 8);
        pkt.tcp_flags = t[13];
        pkt.window = be16(t + 14);
        parse_tcp_options(f.subspan(off + 20, hlen - 20), pkt.tcp_options);
        pkt.payload = f.subspan(off + hlen, avail - hlen);
    } else if (pkt.proto == ip_proto::kUdp) {
        if (avail < 8) return fail(pkt, DecodeError::UdpTruncated);
        const uint8_t* u = f.data() + off;
        const size_t ulen = be16(u + 4);
        if (ulen < 8 || ulen > avail) return fail(pkt, DecodeError::UdpBadLength);
        pkt.src_port = be16(u);
        pkt.dst_port = be16(u + 2);
        pkt.payload = f.subspan(off + 8, ulen - 8);
    } else {
        pkt.payload = f.subspan(off, avail);
    }
    pkt.status = DecodeStatus::Ok;
    return pkt;
}

bool ipv4_options_valid(std::span<const uint8_t> opts) {
    size_t i = 0;
    while (i < opts.size()) {
        const uint8_t type = opts[i];
        if (type == 0) return true;  // end of options
        if (type == 1) {
            ++i;
            continue;
        }
        if (i + 1 >= opts.size()) return false;
        const uint8_t len = opts[i + 1];
        if (len < 2 || i + len > opts.size()) return false;
        i += len;
    }
    return true;
}

DecodedPacket& decode_ipv4(std::span<const uint8_t> f, size_t off, DecodedPacket& pkt,
                           const DecodeOptions& opt) {
    pkt.l3_offset = static_cast<uint16_t>(off);
    if (f.size() - off < 20) return fail(pkt, DecodeError::Ipv4Truncated);
    const uint8_t* h = f.data() + off;
    if ((h[0] >> 4) != 4) return fail(pkt, DecodeError::Ipv4BadVersion);
    const size_t ihl = static_cast<size_t>(h[0] & 0x0fu) * 4;
    if (ihl < 20) return fail(pkt, DecodeError::Ipv4BadHeaderLength);
    if (f.size() - off < ihl) return fail(pkt, DecodeError::Ipv4Truncated);
    size_t total = be16(h + 2);
    // Captures of TSO/GSO sends (taken before segmentation) carry total length 0; only such a
    // capture, by explicit option, may take the frame length as the truth. On the wire the
    // length is malformed: a host drops the packet, so inspecting it would inspect a decoy.
    if (total == 0) {
        if (!opt.tso_lengths) return fail(pkt, DecodeError::Ipv4ZeroTotalLength);
        total = f.size() - off;
    }
    if (total < ihl) return fail(pkt, DecodeError::Ipv4BadTotalLength);
    if (total > f.size() - off) return fail(pkt, DecodeError::Ipv4Truncated);
    if (!ipv4_options_valid(f.subspan(off + 20, ihl - 20)))
        return fail(pkt, DecodeError::Ipv4BadOption);
    pkt.src = IpAddress::v4(std::span<const uint8_t, 4>(h + 12, 4));
    pkt.dst = IpAddress::v4(std::span<const uint8_t, 4>(h + 16, 4));
    pkt.proto = h[9];
    pkt.ttl = h[8];
    pkt.l3_length = static_cast<uint32_t>(total);
    const uint16_t frag = be16(h + 6);
    if ((frag & 0x2000u) != 0 || (frag & 0x1fffu) != 0) {
        pkt.status = DecodeStatus::Fragment;
        return pkt;
    }
    return decode_l4(f, off + ihl, off + total, pkt);
}

DecodedPacket& decode_ipv6(std::span<const uint8_t> f, size_t off, DecodedPacket& pkt,
                           const DecodeOptions& opt) {
    pkt.l3_offset = static_cast<uint16_t>(off);
    if (f.size() - off < 40) return fail(pkt, DecodeError::Ipv6Truncated);
    const uint8_t* h = f.data() + off;
    if ((h[0] >> 4) != 6) return fail(pkt, DecodeError::Ipv6BadVersion);
    size_t plen = be16(h + 4);
    if (plen == 0) {
        // Jumbograms are unsupported; a TSO capture (explicit option) carries 0 as well.
        if (!opt.tso_lengths || f.size() - off == 40)
            return fail(pkt, DecodeError::Ipv6BadPayloadLength);
        plen = f.size() - off - 40;
    }
    if (plen > f.size() - off - 40) return fail(pkt, DecodeError::Ipv6Truncated);
    pkt.src = IpAddress::v6(std::span<const uint8_t, 16>(h + 8, 16));
    pkt.dst = IpAddress::v6(std::span<const uint8_t, 16>(h + 24, 16));
    pkt.ttl = h[7];
    pkt.l3_length = static_cast<uint32_t>(40 + plen);
    const size_t end = off + 40 + plen;
    uint8_t next = h[6];
    size_t cur = off + 40;
    for (size_t n = 0;; ++n) {
        if (n > kMaxIpv6ExtHeaders) return fail(pkt, DecodeError::Ipv6TooManyExt);
        switch (next) {
            case 0:     // hop-by-hop
            case 43:    // routing
            case 60: {  // destination options
                if (end - cur < 8) return fail(pkt, DecodeError::Ipv6ExtTruncated);
                const size_t len = (size_t{f[cur + 1]} + 1) * 8;
                if (end - cur < len) return fail(pkt, DecodeError::Ipv6ExtTruncated);
                next = f[cur];
                cur += len;
                continue;
            }
            case 51: {  // authentication header: length in 4-byte units minus 2
                if (end - cur < 8) return fail(pkt, DecodeError::Ipv6ExtTruncated);
                const size_t len = (size_t{f[cur + 1]} + 2) * 4;
                if (end - cur < len) return fail(pkt, DecodeError::Ipv6ExtTruncated);
                next = f[cur];
                cur += len;
                continue;
            }
            case 44: {  // fragment
                if (end - cur < 8) return fail(pkt, DecodeError::Ipv6ExtTruncated);
                const uint16_t offs_m = be16(f.data() + cur + 2);
                pkt.proto = f[cur];
                if ((offs_m & 0xfff8u) != 0 || (offs_m & 1u) != 0) {
                    pkt.status = DecodeStatus::Fragment;
                    pkt.frag_offset = static_cast<uint16_t>(cur);
                    return pkt;
                }
                // An atomic fragment (offset 0, no more fragments) is a whole packet.
                next = f[cur];
                cur += 8;
                continue;
            }
            default:
                pkt.proto = next;
                return decode_l4(f, cur, end, pkt);
        }
    }
}

DecodedPacket& decode_ethertype(std::span<const uint8_t> f, size_t off, uint16_t type,
                                DecodedPacket& pkt, const DecodeOptions& opt) {
    while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
        if (pkt.vlan_count == 2) return fail(pkt, DecodeError::VlanTooDeep);
        if (f.size() - off < 4) return fail(pkt, DecodeError::LinkTruncated);
        pkt.vlan_ids[pkt.vlan_count++] = be16(f.data() + off) & 0x0fffu;
        type = be16(f.data() + off + 2);
        off += 4;
    }
    if (type == kEtherIpv4) return decode_ipv4(f, off, pkt, opt);
    if (type == kEtherIpv6) return decode_ipv6(f, off, pkt, opt);
    pkt.l3_offset = static_cast<uint16_t>(off);
    pkt.status = DecodeStatus::NotIp;
    return pkt;
}

DecodedPacket& decode_by_version(std::span<const uint8_t> f, size_t off, DecodedPacket& pkt,
                                 const DecodeOptions& opt) {
    if (f.size() <= off) return fail(pkt, DecodeError::LinkTruncated);
    switch (f[off] >> 4) {
        case 4:
            return decode_ipv4(f, off, pkt, opt);
        case 6:
            return decode_ipv6(f, off, pkt, opt);
        default:
            return fail(pkt, DecodeError::Ipv4BadVersion);
    }
}

}  // namespace

std::string_view decode_error_name(DecodeError e) {
    static constexpr std::array<std::string_view, static_cast<size_t>(DecodeError::Count)> names = {
        "none",
        "link_truncated",
        "link_unknown_family",
        "vlan_too_deep",
        "ipv4_truncated",
        "ipv4_bad_version",
        "ipv4_bad_header_length",
        "ipv4_bad_total_length",
        "ipv4_zero_total_length",
        "ipv4_bad_option",
        "ipv6_truncated",
        "ipv6_bad_version",
        "ipv6_bad_payload_length",
        "ipv6_ext_truncated",
        "ipv6_too_many_ext",
        "tcp_truncated",
        "tcp_bad_data_offset",
        "udp_truncated",
        "udp_bad_length",
    };
    const auto i = static_cast<size_t>(e);
    return i < names.size() ? names[i] : "unknown";
}

DecodedPacket decode_frame(std::span<const uint8_t> f, LinkType link, const DecodeOptions& opt) {
    DecodedPacket pkt;
    pkt.link = link;
    switch (link) {
        case LinkType::Ethernet:
            if (f.size() < 14) return fail(pkt, DecodeError::LinkTruncated);
            return decode_ethertype(f, 14, be16(f.data() + 12), pkt, opt);
        case LinkType::LinuxSll:
            if (f.size() < 16) return fail(pkt, DecodeError::LinkTruncated);
            return decode_ethertype(f, 16, be16(f.data() + 14), pkt, opt);
        case LinkType::LinuxSll2:
            if (f.size() < 20) return fail(pkt, DecodeError::LinkTruncated);
            return decode_ethertype(f, 20, be16(f.data()), pkt, opt);
        case LinkType::Null:
        case LinkType::Loop: {
            if (f.size() < 4) return fail(pkt, DecodeError::LinkTruncated);
            // DLT_NULL is host order of the capturing machine: accept either order.
            const uint32_t be = be32(f.data());
            const uint32_t le =
                uint32_t{f[3]} << 24 | uint32_t{f[2]} << 16 | uint32_t{f[1]} << 8 | f[0];
            const uint32_t fam = link == LinkType::Loop ? be : (be < 256 ? be : le);
            if (fam == 2) return decode_ipv4(f, 4, pkt, opt);
            if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
                return decode_ipv6(f, 4, pkt, opt);
            return fail(pkt, DecodeError::LinkUnknownFamily);
        }
        case LinkType::Raw:
        case LinkType::RawBsd:
        case LinkType::RawOpenBsd:
            return decode_by_version(f, 0, pkt, opt);
        case LinkType::Ipv4:
            return decode_ipv4(f, 0, pkt, opt);
        case LinkType::Ipv6:
            return decode_ipv6(f, 0, pkt, opt);
    }
    return fail(pkt, DecodeError::LinkTruncated);
}

}  // namespace sluice
