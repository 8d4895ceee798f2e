#include <gtest/gtest.h>

#include "craft/frame_builder.h"
#include "decode/decoder.h"

using namespace sluice;
using craft::FrameSpec;
using craft::TcpSpec;

namespace {

FrameSpec v4() {
    return FrameSpec{};
}
FrameSpec v6() {
    FrameSpec f;
    f.src = *IpAddress::parse("2001:db8::1");
    f.dst = *IpAddress::parse("2001:db8::2");
    return f;
}

}  // namespace

TEST(Decoder, EthernetIpv4TcpWithOptions) {
    TcpSpec t;
    t.flags = tcp_flag::kSyn;
    t.options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0, 1, 3, 3, 7};
    const auto f = craft::tcp_frame(v4(), t, {});
    const auto d = decode_frame(f, LinkType::Ethernet);
    ASSERT_EQ(d.status, DecodeStatus::Ok);
    EXPECT_TRUE(d.is_tcp());
    EXPECT_EQ(d.src.to_string(), "10.0.0.1");
    EXPECT_EQ(d.dst.to_string(), "10.0.0.2");
    EXPECT_EQ(d.src_port, 40000);
    EXPECT_EQ(d.dst_port, 80);
    EXPECT_EQ(d.seq, 1000u);
    EXPECT_TRUE(d.tcp_options.has_mss);
    EXPECT_EQ(d.tcp_options.mss, 1460);
    EXPECT_TRUE(d.tcp_options.sack_permitted);
    EXPECT_TRUE(d.tcp_options.has_timestamp);
    EXPECT_EQ(d.tcp_options.ts_value, 7u);
    EXPECT_TRUE(d.tcp_options.has_window_scale);
    EXPECT_EQ(d.tcp_options.window_scale, 7);
    EXPECT_FALSE(d.tcp_options.malformed);
    EXPECT_TRUE(d.payload.empty());
}

TEST(Decoder, PayloadExcludesEthernetPadding) {
    auto f = craft::tcp_frame(v4(), {}, craft::bytes("hi"));
    f.resize(f.size() + 10, 0);  // short frames are padded to 60 bytes on the wire
    const auto d = decode_frame(f, LinkType::Ethernet);
    ASSERT_EQ(d.status, DecodeStatus::Ok);
    EXPECT_EQ(std::string(d.payload.begin(), d.payload.end()), "hi");
}

TEST(Decoder, VlanAndQinQ) {
    FrameSpec s = v4();
    s.vlans = {100};
    auto d = decode_frame(craft::udp_frame(s, 53, 5353, craft::bytes("x")), LinkType::Ethernet);
    ASSERT_EQ(d.status, DecodeStatus::Ok);
    EXPECT_EQ(d.vlan_count, 1);
    EXPECT_EQ(d.vlan_ids[0], 100);
    EXPECT_TRUE(d.is_udp());
    s.vlans = {10, 20};
    d = decode_frame(craft::udp_frame(s, 53, 5353, craft::bytes("x")), LinkType::Ethernet);
    ASSERT_EQ(d.status, DecodeStatus::Ok);
    EXPECT_EQ(d.vlan_count, 2);
    EXPECT_EQ(d.vlan_ids[1], 20);
    s.vlans = {1, 2, 3};
    d = decode_frame(craft::udp_frame(s, 53, 5353, craft::bytes("x")), LinkType::Ethernet);
    EXPECT_EQ(d.status, DecodeStatus::Malformed);
    EXPECT_EQ(d.error, DecodeError::VlanTooDeep);
}

TEST(Decoder, Ipv4Options) {
    FrameSpec s = v4();
    s.ip_options = {7, 7, 4, 0, 0, 0, 0};  // record route, 7 bytes
    auto d = decode_frame(craft::tcp_frame(s, {}, craft::bytes("abc")), LinkType::Ethernet);
    ASSERT_EQ(d.status, DecodeStatus::Ok);
    EXPECT_EQ(d.l4_offset, 14 + 28);
    s.ip_options = {7, 40, 4, 0};  // option longer than the header
    d = decode_frame(craft::tcp_frame(s, {}, craft::bytes("abc")), LinkType::Ethernet);
    EXPECT_EQ(d.error, DecodeError::Ipv4BadOption);
}

TEST(Decoder, Ipv6ExtensionHeaders) {
    FrameSpec s = v6();
    // Hop-by-hop (8 bytes, next = destination options), destination options (8, next = TCP).
    s.ipv6_first_next_header = 0;
    s.ipv6_ext = {60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0};
    const auto f = craft::tcp_frame(s, {}, craft::bytes("payload"));
    const auto d = decode_frame(f, LinkType::Ethernet);
    ASSERT_EQ(d.status, DecodeStatus::Ok) << decode_error_name(d.error);
    EXPECT_EQ(d.proto, ip_proto::kTcp);
    EXPECT_EQ(d.l4_offset, 14 + 40 + 16);
    EXPECT_EQ(std::string(d.payload.begin(), d.payload.end()), "payload");
    EXPECT_EQ(d.src.to_string(), "2001:db8::1");
}

TEST(Decoder, Fragments) {
    FrameSpec s = v4();
    s.ipv4_frag = 0x2000;  // more fragments
    EXPECT_EQ(decode_frame(craft::udp_frame(s, 1, 2, craft::bytes("x")), LinkType::Ethernet).status,
              DecodeStatus::Fragment);
    s.ipv4_frag = 0x0010;  // offset 16 * 8
    EXPECT_EQ(decode_frame(craft::ip_frame(s, craft::bytes("tail")), LinkType::Ethernet).status,
              DecodeStatus::Fragment);
    FrameSpec s6 = v6();
    s6.ipv6_first_next_header = 44;
    s6.ipv6_ext = {17, 0, 0, 1, 0, 0, 0, 1};  // fragment header, more fragments
    EXPECT_EQ(
        decode_frame(craft::ip_frame(s6, craft::bytes("12345678")), LinkType::Ethernet).status,
        DecodeStatus::Fragment);
}

TEST(Decoder, LinkTypes) {
    for (LinkType lt : {LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::Null,
                        LinkType::Loop, LinkType::Raw}) {
        for (bool six : {false, true}) {
            FrameSpec s = six ? v6() : v4();
            s.link = lt;
            const auto f = craft::tcp_frame(s, {}, craft::bytes("data"));
            const auto d = decode_frame(f, lt);
            ASSERT_EQ(d.status, DecodeStatus::Ok)
                << link_type_name(lt) << " v6=" << six << " " << decode_error_name(d.error);
            EXPECT_EQ(std::string(d.payload.begin(), d.payload.end()), "data");
        }
    }
}

TEST(Decoder, NotIp) {
    std::vector<uint8_t> arp(42, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_EQ(decode_frame(arp, LinkType::Ethernet).status, DecodeStatus::NotIp);
}

// Every truncated prefix of a valid frame is reported, never read past.
TEST(Decoder, EveryTruncatedPrefixIsMalformed) {
    TcpSpec t;
    t.options = {2, 4, 0x05, 0xb4};
    for (FrameSpec s : {v4(), v6()}) {
        s.vlans = {7};
        const auto full = craft::tcp_frame(s, t, craft::bytes("hello"));
        const auto ok = decode_frame(full, LinkType::Ethernet);
        ASSERT_EQ(ok.status, DecodeStatus::Ok);
        const size_t payload_at = full.size() - 5;
        for (size_t n = 0; n < payload_at; ++n) {
            std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
            const auto d = decode_frame(cut, LinkType::Ethernet);
            EXPECT_EQ(d.status, DecodeStatus::Malformed) << "prefix " << n;
        }
    }
}

TEST(Decoder, MalformedReasons) {
    auto f = craft::tcp_frame(v4(), {}, craft::bytes("abc"));
    auto bad = f;
    bad[14] = 0x55;  // version 5
    EXPECT_EQ(decode_frame(bad, LinkType::Ethernet).error, DecodeError::Ipv4BadVersion);
    bad = f;
    bad[14] = 0x44;  // IHL 16 bytes
    EXPECT_EQ(decode_frame(bad, LinkType::Ethernet).error, DecodeError::Ipv4BadHeaderLength);
    bad = f;
    bad[16] = 0xff;  // total length beyond the frame
    EXPECT_EQ(decode_frame(bad, LinkType::Ethernet).error, DecodeError::Ipv4Truncated);
    bad = f;
    bad[14 + 20 + 12] = 0x40;  // TCP data offset 16 bytes
    EXPECT_EQ(decode_frame(bad, LinkType::Ethernet).error, DecodeError::TcpBadDataOffset);
    bad = f;
    bad[14 + 20 + 12] = 0xf0;  // TCP data offset 60 bytes, beyond the packet
    EXPECT_EQ(decode_frame(bad, LinkType::Ethernet).error, DecodeError::TcpTruncated);
    auto u = craft::udp_frame(v4(), 1, 2, craft::bytes("abcd"));
    u[14 + 20 + 5] = 200;  // UDP length beyond the packet
    EXPECT_EQ(decode_frame(u, LinkType::Ethernet).error, DecodeError::UdpBadLength);
    std::vector<uint8_t> null_frame = {99, 0, 0, 0, 0x45};
    EXPECT_EQ(decode_frame(null_frame, LinkType::Null).error, DecodeError::LinkUnknownFamily);
}

TEST(Decoder, MalformedTcpOptionsStillDecode) {
    TcpSpec t;
    t.options = {2, 9, 0, 0};  // MSS option claiming 9 bytes
    const auto d = decode_frame(craft::tcp_frame(v4(), t, craft::bytes("x")), LinkType::Ethernet);
    ASSERT_EQ(d.status, DecodeStatus::Ok);
    EXPECT_TRUE(d.tcp_options.malformed);
    EXPECT_FALSE(d.tcp_options.has_mss);
}

TEST(Decoder, TsoCaptureWithZeroTotalLength) {
    auto f = craft::tcp_frame(v4(), {}, craft::bytes("segmentation offload"));
    f[16] = f[17] = 0;
    // On the wire a zero total length is malformed: hosts drop it, so it must not be inspected.
    const auto live = decode_frame(f, LinkType::Ethernet);
    EXPECT_EQ(live.status, DecodeStatus::Malformed);
    EXPECT_EQ(live.error, DecodeError::Ipv4ZeroTotalLength);
    // A capture of the sending host taken before segmentation, by explicit option.
    const auto d = decode_frame(f, LinkType::Ethernet, DecodeOptions{.tso_lengths = true});
    ASSERT_EQ(d.status, DecodeStatus::Ok);
    EXPECT_EQ(std::string(d.payload.begin(), d.payload.end()), "segmentation offload");
}
