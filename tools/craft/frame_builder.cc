#include "craft/frame_builder.h"

#include <cstring>

#include "engine/tcp_frame_builder.h"

namespace sluice::craft {
namespace {

void put16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
    v[at] = static_cast<uint8_t>(x >> 8);
    v[at + 1] = static_cast<uint8_t>(x);
}
void push16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(static_cast<uint8_t>(x >> 8));
    v.push_back(static_cast<uint8_t>(x));
}
void push32(std::vector<uint8_t>& v, uint32_t x) {
    push16(v, static_cast<uint16_t>(x >> 16));
    push16(v, static_cast<uint16_t>(x));
}

std::vector<uint8_t> link_header(const FrameSpec& f, bool v6) {
    std::vector<uint8_t> h;
    const uint16_t ethertype = v6 ? 0x86dd : 0x0800;
    switch (f.link) {
        case LinkType::Ethernet: {
            const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
            h.assign(macs, macs + 12);
            for (size_t i = 0; i < f.vlans.size(); ++i) {
                push16(h, i == 0 && f.vlans.size() > 1 ? 0x88a8 : 0x8100);
                push16(h, f.vlans[i]);
            }
            push16(h, ethertype);
            break;
        }
        case LinkType::LinuxSll:
            h.assign(14, 0);
            h[1] = 0;  // packet type: to us
            put16(h, 2, 1);
            put16(h, 4, 6);
            push16(h, ethertype);
            break;
        case LinkType::LinuxSll2:
            h.assign(20, 0);
            put16(h, 0, ethertype);
            break;
        case LinkType::Null: {
            const uint32_t fam = v6 ? 30 : 2;  // host (little-endian) order as BSD writes it
            h = {static_cast<uint8_t>(fam), 0, 0, 0};
            break;
        }
        case LinkType::Loop:
            h = {0, 0, 0, static_cast<uint8_t>(v6 ? 24 : 2)};
            break;
        default:
            break;  // raw IP
    }
    return h;
}

}  // namespace

std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void fix_checksums(std::span<uint8_t> p) {
    if (p.empty()) return;
    const bool v6 = (p[0] >> 4) == 6;
    size_t l4 = 0, l4_len = 0;
    uint8_t proto = 0;
    uint32_t pseudo = 0;
    if (!v6) {
        const size_t ihl = size_t(p[0] & 15) * 4;
        p[10] = p[11] = 0;
        const uint16_t c = checksum_fold(checksum_partial(p.first(ihl)));
        p[10] = static_cast<uint8_t>(c >> 8);
        p[11] = static_cast<uint8_t>(c);
        if ((p[6] & 0x3f) != 0 || p[7] != 0) return;  // fragment: no L4 checksum here
        proto = p[9];
        l4 = ihl;
        l4_len = (size_t(p[2]) << 8 | p[3]) - ihl;
        pseudo = checksum_partial(p.subspan(12, 8));
    } else {
        proto = p[6];
        l4 = 40;
        l4_len = (size_t(p[4]) << 8 | p[5]);
        // Only plain headers (no extension chain) are rechecksummed.
        pseudo = checksum_partial(p.subspan(8, 32));
    }
    if (proto != 6 && proto != 17) return;
    auto seg = p.subspan(l4, l4_len);
    const size_t at = proto == 6 ? 16 : 6;
    seg[at] = seg[at + 1] = 0;
    pseudo += proto;
    pseudo += static_cast<uint32_t>(l4_len);
    uint16_t c = checksum_fold(checksum_partial(seg, pseudo));
    if (proto == 17 && c == 0) c = 0xffff;
    seg[at] = static_cast<uint8_t>(c >> 8);
    seg[at + 1] = static_cast<uint8_t>(c);
}

std::vector<uint8_t> ip_frame(const FrameSpec& f, std::span<const uint8_t> l4) {
    const bool v6 = f.src.version == IpVersion::V6;
    std::vector<uint8_t> frame = link_header(f, v6);
    const size_t ip_at = frame.size();
    if (!v6) {
        std::vector<uint8_t> opts = f.ip_options;
        while (opts.size() % 4) opts.push_back(0);
        const size_t ihl = 20 + opts.size();
        frame.push_back(static_cast<uint8_t>(0x40 | (ihl / 4)));
        frame.push_back(0);
        push16(frame, static_cast<uint16_t>(ihl + l4.size()));
        push16(frame, 0x1234);
        push16(frame, f.ipv4_frag);
        frame.push_back(f.ttl);
        frame.push_back(f.proto);
        push16(frame, 0);
        frame.insert(frame.end(), f.src.bytes.begin(), f.src.bytes.begin() + 4);
        frame.insert(frame.end(), f.dst.bytes.begin(), f.dst.bytes.begin() + 4);
        frame.insert(frame.end(), opts.begin(), opts.end());
    } else {
        push32(frame, 0x60000000);
        push16(frame, static_cast<uint16_t>(f.ipv6_ext.size() + l4.size()));
        frame.push_back(f.ipv6_ext.empty() ? f.proto : f.ipv6_first_next_header);
        frame.push_back(f.ttl);
        frame.insert(frame.end(), f.src.bytes.begin(), f.src.bytes.end());
        frame.insert(frame.end(), f.dst.bytes.begin(), f.dst.bytes.end());
        frame.insert(frame.end(), f.ipv6_ext.begin(), f.ipv6_ext.end());
    }
    frame.insert(frame.end(), l4.begin(), l4.end());
    if (f.ipv6_ext.empty()) fix_checksums(std::span<uint8_t>(frame).subspan(ip_at));
    return frame;
}

std::vector<uint8_t> tcp_frame(const FrameSpec& f, const TcpSpec& t,
                               std::span<const uint8_t> payload) {
    std::vector<uint8_t> opts = t.options;
    while (opts.size() % 4) opts.push_back(1);  // NOP padding
    std::vector<uint8_t> seg;
    push16(seg, t.src_port);
    push16(seg, t.dst_port);
    push32(seg, t.seq);
    push32(seg, t.ack);
    seg.push_back(static_cast<uint8_t>(((20 + opts.size()) / 4) << 4));
    seg.push_back(t.flags);
    push16(seg, t.window);
    push16(seg, 0);
    push16(seg, 0);
    seg.insert(seg.end(), opts.begin(), opts.end());
    seg.insert(seg.end(), payload.begin(), payload.end());
    FrameSpec fs = f;
    fs.proto = 6;
    return ip_frame(fs, seg);
}

std::vector<uint8_t> udp_frame(const FrameSpec& f, uint16_t sport, uint16_t dport,
                               std::span<const uint8_t> payload) {
    std::vector<uint8_t> seg;
    push16(seg, sport);
    push16(seg, dport);
    push16(seg, static_cast<uint16_t>(8 + payload.size()));
    push16(seg, 0);
    seg.insert(seg.end(), payload.begin(), payload.end());
    FrameSpec fs = f;
    fs.proto = 17;
    return ip_frame(fs, seg);
}

}  // namespace sluice::craft
