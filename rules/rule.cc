#include "rules/rule.h"

#include <algorithm>

#include "rules/base64.h"

namespace sluice::rules {

std::string_view buffer_name(Buffer b) {
    switch (b) {
        case Buffer::HttpMethod:
            return "http.method";
        case Buffer::HttpUri:
            return "http.uri";
        case Buffer::HttpHost:
            return "http.host";
        case Buffer::HttpUserAgent:
            return "http.user_agent";
        case Buffer::HttpHeader:
            return "http.header";
        case Buffer::HttpCookie:
            return "http.cookie";
        case Buffer::HttpRequestBody:
            return "http.request_body";
        case Buffer::LlmPrompt:
            return "llm.prompt";
        case Buffer::LlmSystem:
            return "llm.system";
        case Buffer::LlmModel:
            return "llm.model";
        case Buffer::HttpStatCode:
            return "http.stat_code";
        case Buffer::HttpResponseBody:
            return "http.response_body";
        case Buffer::TlsSni:
            return "tls.sni";
        case Buffer::Ja3Hash:
            return "ja3.hash";
        case Buffer::HttpHeaderNames:
            return "http.header_names";
        case Buffer::HttpRequestLine:
            return "http.request_line";
        case Buffer::HttpProtocol:
            return "http.protocol";
        case Buffer::HttpStart:
            return "http.start";
        case Buffer::HttpContentLen:
            return "http.content_len";
        case Buffer::HttpContentType:
            return "http.content_type";
        case Buffer::HttpAccept:
            return "http.accept";
        case Buffer::HttpAcceptEnc:
            return "http.accept_enc";
        case Buffer::HttpAcceptLang:
            return "http.accept_lang";
        case Buffer::HttpReferer:
            return "http.referer";
        case Buffer::HttpConnection:
            return "http.connection";
        case Buffer::HttpResponseLine:
            return "http.response_line";
        case Buffer::HttpStatMsg:
            return "http.stat_msg";
        case Buffer::HttpServer:
            return "http.server";
        case Buffer::HttpLocation:
            return "http.location";
        case Buffer::PacketPayload:
            return "pkt_data";
        case Buffer::Ipv4Hdr:
            return "ipv4.hdr";
        case Buffer::TcpHdr:
            return "tcp.hdr";
        case Buffer::Ipv6Hdr:
            return "ipv6.hdr";
        case Buffer::UdpHdr:
            return "udp.hdr";
        case Buffer::Ja4Hash:
            return "ja4.hash";
        case Buffer::Ja3String:
            return "ja3.string";
        case Buffer::Ja3sHash:
            return "ja3s.hash";
        case Buffer::Ja3sString:
            return "ja3s.string";
        case Buffer::TlsCertSubject:
            return "tls.cert_subject";
        case Buffer::TlsCertIssuer:
            return "tls.cert_issuer";
        case Buffer::TlsCertSerial:
            return "tls.cert_serial";
        case Buffer::TlsCertFingerprint:
            return "tls.cert_fingerprint";
        case Buffer::Event:
            return "event";
        case Buffer::HttpRequestHeader:
            return "http.request_header";
        case Buffer::HttpResponseHeader:
            return "http.response_header";
        case Buffer::Http2HeaderName:
            return "http2.header_name";
        case Buffer::Stream:
            return "stream";
        case Buffer::Count:
            break;
    }
    return "?";
}

size_t base64_decode_at(const Base64Decode& d, std::string_view data, size_t prev_end,
                        std::span<char> out) {
    // As Suricata's base64_decode: from the previous match if relative, then past the offset,
    // at most `bytes` input bytes, RFC 4648 mode (stops at the first byte outside the alphabet).
    if (d.relative) data.remove_prefix(std::min(prev_end, data.size()));
    if (d.offset > 0) {
        if (d.offset >= data.size()) return 0;
        data.remove_prefix(d.offset);
    }
    data = data.substr(0, d.bytes);
    return std::min(decode_base64(Base64Mode::Rfc4648, data, out), out.size());
}

bool TlsCheck::holds(const TlsFacts& t) const {
    switch (kind) {
        case Kind::Version:
            return t.version == version;
        case Kind::SslVersion: {
            uint8_t bit = 0;
            for (size_t i = 0; i < std::size(kSslVersions); ++i)
                if (kSslVersions[i] == t.version) bit = static_cast<uint8_t>(1u << i);
            if (bit == 0) return false;  // not negotiated yet, or unknown
            if (bit & not_versions) return false;
            return versions == 0 || (bit & versions) != 0;
        }
        case Kind::SslState:
            if (t.states & not_states) return false;
            return states == 0 || (t.states & states) != 0;
    }
    return false;
}

bool UintCmp::matches(uint64_t v) const {
    switch (op) {
        case Op::Eq:
            return v == a;
        case Op::Ne:
            return v != a;
        case Op::Lt:
            return v < a;
        case Op::Le:
            return v <= a;
        case Op::Gt:
            return v > a;
        case Op::Ge:
            return v >= a;
        case Op::Range:
            return v > a && v < b;
    }
    return false;
}

std::string_view inspect_point_name(InspectPoint p) {
    switch (p) {
        case InspectPoint::Request:
            return "http request";
        case InspectPoint::Response:
            return "http response";
        case InspectPoint::TlsHello:
            return "tls client hello";
        case InspectPoint::TlsServer:
            return "tls server hello";
        case InspectPoint::Event:
            return "event";
        case InspectPoint::Stream:
            return "stream";
        case InspectPoint::Packet:
            return "packet";
        case InspectPoint::Count:
            break;
    }
    return "?";
}

std::string_view threshold_type_name(ThresholdType t) {
    switch (t) {
        case ThresholdType::Limit:
            return "limit";
        case ThresholdType::Threshold:
            return "threshold";
        case ThresholdType::Both:
            return "both";
        case ThresholdType::DetectionFilter:
            break;
    }
    return "detection_filter";
}

std::string_view threshold_track_name(ThresholdTrack t) {
    switch (t) {
        case ThresholdTrack::BySrc:
            return "by_src";
        case ThresholdTrack::ByDst:
            return "by_dst";
        case ThresholdTrack::ByRule:
            return "by_rule";
        case ThresholdTrack::ByBoth:
            return "by_both";
        case ThresholdTrack::ByAccount:
            break;
    }
    return "by_account";
}

std::string_view action_name(Action a) {
    switch (a) {
        case Action::Alert:
            return "alert";
        case Action::Drop:
            return "drop";
        case Action::Reject:
            return "reject";
        case Action::Pass:
            return "pass";
    }
    return "?";
}

Verdict action_verdict(Action a) {
    switch (a) {
        case Action::Alert:
            return Verdict::Alert;
        case Action::Drop:
            return Verdict::Drop;
        case Action::Reject:
            return Verdict::Reject;
        case Action::Pass:
            return Verdict::Pass;
    }
    return Verdict::Pass;
}

std::string_view protocol_name(Protocol p) {
    switch (p) {
        case Protocol::Tcp:
            return "tcp";
        case Protocol::Http:
            return "http";
        case Protocol::Tls:
            return "tls";
        case Protocol::TcpPkt:
            return "tcp-pkt";
        case Protocol::Ip:
            return "ip";
        case Protocol::Udp:
            return "udp";
        case Protocol::Icmp:
            return "icmp";
    }
    return "?";
}

IpOpt ip_opt_of(uint8_t type) {
    switch (type) {
        case 0:
            return IpOpt::Eol;
        case 1:
            return IpOpt::Nop;
        case 7:
            return IpOpt::Rr;
        case 68:
            return IpOpt::Ts;
        case 130:
            return IpOpt::Sec;
        case 133:
            return IpOpt::Esec;
        case 131:
            return IpOpt::Lsrr;
        case 137:
            return IpOpt::Ssrr;
        case 136:
            return IpOpt::Satid;
        default:
            return IpOpt::Other;
    }
}

std::string_view packet_check_name(PacketCheck::Kind k) {
    static constexpr std::string_view kNames[] = {
        "ttl",      "id",     "dsize",  "window", "seq",   "ack",     "tcp.mss",  "flags",
        "fragbits", "ipopts", "sameip", "itype",  "icode", "icmp_id", "icmp_seq", "stream_size"};
    return kNames[static_cast<size_t>(k)];
}

bool PacketCheck::holds(const PacketFacts& p) const {
    // flags and fragbits as Suricata's FlagsMatch: the packet's bits less the ignored ones.
    auto bits_match = [&](uint8_t have) {
        have = static_cast<uint8_t>(have & ~ignore);
        if (bits == 0) return (have == 0) != (mode == Mode::Not);  // flags:0, no flag at all
        switch (mode) {
            case Mode::Any:
                return (have & bits) != 0;
            case Mode::All:
                return (have & bits) == bits;
            case Mode::Not:
                return (have & bits) != bits;
            case Mode::Exact:
                break;
        }
        return have == bits;
    };
    switch (kind) {
        case Kind::Ttl:
            return cmp.matches(p.ttl);
        case Kind::Id:
            return p.ipv4 && cmp.matches(p.ip_id);
        case Kind::Dsize:
            return cmp.matches(p.dsize);
        case Kind::Window:
            return p.tcp && cmp.matches(p.window) != negated;
        case Kind::Seq:
            return p.tcp && cmp.matches(p.seq);
        case Kind::Ack:
            return p.tcp && cmp.matches(p.ack);
        case Kind::TcpMss:
            return p.tcp && p.has_mss && cmp.matches(p.mss);
        case Kind::Flags:
            return p.tcp && bits_match(p.tcp_flags);
        case Kind::FragBits:
            return p.ipv4 && bits_match(p.frag_bits);
        case Kind::SameIp:
            return p.same_ip;
        case Kind::IpOpts:
            return p.ipv4 &&
                   (opt == IpOpt::Any ? p.ip_opts != 0 : (p.ip_opts & ip_opt_bit(opt)) != 0);
        case Kind::Itype:
            return is_icmp(p) && cmp.matches(p.icmp_type);
        case Kind::Icode:
            return is_icmp(p) && cmp.matches(p.icmp_code);
        case Kind::IcmpId:
            return is_icmp(p) && p.icmp_has_id && cmp.matches(p.icmp_id);
        case Kind::IcmpSeq:
            return is_icmp(p) && p.icmp_has_id && cmp.matches(p.icmp_seq);
        case Kind::StreamSize: {
            if (!p.tcp) return false;
            const bool c = cmp.matches(p.stream_size[0]), s = cmp.matches(p.stream_size[1]);
            switch (side) {
                case Side::Client:
                    return c;
                case Side::Server:
                    return s;
                case Side::Both:
                    return c && s;
                case Side::Either:
                    return c || s;
            }
            return false;
        }
    }
    return false;
}

namespace {
bool in_range(const AddressRange& r, const IpAddress& a) {
    return r.prefix.version == a.version && a.in_prefix(r.prefix, r.len);
}
}  // namespace

bool AddressSet::matches(const IpAddress& a) const {
    bool in = include.empty();
    for (const AddressRange& r : include)
        if (in_range(r, a)) {
            in = true;
            break;
        }
    if (!in) return false;
    for (const AddressRange& r : exclude)
        if (in_range(r, a)) return false;
    return true;
}

bool PortSet::matches(uint16_t p) const {
    bool in = include.empty();
    for (const PortRange& r : include)
        if (p >= r.lo && p <= r.hi) {
            in = true;
            break;
        }
    if (!in) return false;
    for (const PortRange& r : exclude)
        if (p >= r.lo && p <= r.hi) return false;
    return true;
}

}  // namespace sluice::rules
