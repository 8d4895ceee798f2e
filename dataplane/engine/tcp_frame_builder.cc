#include "engine/tcp_frame_builder.h"

#include <cstring>

#include "decode/decoded_packet.h"

namespace sluice {

uint32_t checksum_partial(std::span<const uint8_t> b, uint32_t sum) {
    size_t i = 0;
    for (; i + 1 < b.size(); i += 2) sum += uint32_t{b[i]} << 8 | b[i + 1];
    if (i < b.size()) sum += uint32_t{b[i]} << 8;
    return sum;
}

uint16_t checksum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

namespace {

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}

// Rewrites the address-family/ethertype field of a copied link header for the IP version.
void fix_link_protocol(uint8_t* l, size_t len, LinkType link, bool v6) {
    const uint16_t ethertype = v6 ? 0x86dd : 0x0800;
    switch (link) {
        case LinkType::Ethernet:
            put16(l + len - 2, ethertype);
            break;
        case LinkType::LinuxSll:
            put16(l + 14, ethertype);
            break;
        case LinkType::LinuxSll2:
            put16(l, ethertype);
            break;
        default:
            break;  // loopback headers carry the family already; raw has none
    }
}

}  // namespace

size_t build_segment(const Flow& flow, LinkType link, const TcpSegmentSpec& spec,
                     std::span<uint8_t> out) {
    const Dir toward = spec.toward;  // the frame travels in direction `toward`
    const LinkTemplate* lt = &flow.link[idx(toward)];
    bool swap_mac = false;
    if (lt->len == 0) {
        lt = &flow.link[idx(reverse(toward))];
        swap_mac = true;
    }
    if (lt->len == 0 && link != LinkType::Raw && link != LinkType::RawBsd &&
        link != LinkType::RawOpenBsd && link != LinkType::Ipv4 && link != LinkType::Ipv6)
        return 0;
    const bool v6 = flow.key.lo.addr.version == IpVersion::V6;
    const size_t ip_len = v6 ? 40 : 20;
    const size_t total = lt->len + ip_len + 20 + spec.payload.size();
    if (total > out.size() || ip_len + 20 + spec.payload.size() > 0xffff) return 0;
    uint8_t* p = out.data();
    std::memcpy(p, lt->bytes, lt->len);
    if (swap_mac && link == LinkType::Ethernet && lt->len >= 12) {
        uint8_t tmp[6];
        std::memcpy(tmp, p, 6);
        std::memcpy(p, p + 6, 6);
        std::memcpy(p + 6, tmp, 6);
    }
    fix_link_protocol(p, lt->len, link, v6);
    const size_t off = lt->len;

    const Endpoint& src = toward == Dir::ToServer ? flow.client() : flow.server();
    const Endpoint& dst = toward == Dir::ToServer ? flow.server() : flow.client();
    uint8_t* ip = p + off;
    uint8_t* tcp = ip + ip_len;
    const uint16_t tcp_len = static_cast<uint16_t>(20 + spec.payload.size());
    std::memset(ip, 0, ip_len + 20);
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, tcp_len);
        ip[6] = ip_proto::kTcp;
        ip[7] = 64;
        std::memcpy(ip + 8, src.addr.bytes.data(), 16);
        std::memcpy(ip + 24, dst.addr.bytes.data(), 16);
    } else {
        ip[0] = 0x45;
        put16(ip + 2, static_cast<uint16_t>(20 + tcp_len));
        put16(ip + 6, 0x4000);  // don't fragment
        ip[8] = 64;
        ip[9] = ip_proto::kTcp;
        std::memcpy(ip + 12, src.addr.bytes.data(), 4);
        std::memcpy(ip + 16, dst.addr.bytes.data(), 4);
        put16(ip + 10, checksum_fold(checksum_partial({ip, 20})));
    }
    put16(tcp, src.port);
    put16(tcp + 2, dst.port);
    put32(tcp + 4, spec.seq);
    put32(tcp + 8, spec.ack);
    tcp[12] = 5 << 4;
    tcp[13] = spec.flags;
    put16(tcp + 14, spec.window);
    if (!spec.payload.empty()) std::memcpy(tcp + 20, spec.payload.data(), spec.payload.size());
    // Pseudo-header checksum.
    uint32_t sum = checksum_partial({v6 ? ip + 8 : ip + 12, v6 ? size_t{32} : size_t{8}});
    sum += ip_proto::kTcp + tcp_len;
    put16(tcp + 16, checksum_fold(checksum_partial({tcp, tcp_len}, sum)));
    return total;
}

size_t build_rst(const Flow& flow, Dir toward, LinkType link,
                 std::span<uint8_t, kMaxRstFrame> out) {
    const bool ack_known = flow.fwd_known[idx(reverse(toward))];
    TcpSegmentSpec s;
    s.toward = toward;
    s.seq = flow.fwd_known[idx(toward)] ? flow.fwd_end[idx(toward)] : 0;
    s.ack = ack_known ? flow.fwd_end[idx(reverse(toward))] : 0;
    s.flags = tcp_flag::kRst | (ack_known ? tcp_flag::kAck : 0);
    return build_segment(flow, link, s, out);
}

}  // namespace sluice
