#include "eve/eve_emitter.h"

#include <cstdio>

#include "decode/decoded_packet.h"
#include "eve/community_id.h"

namespace sluice {
namespace {

std::string_view proto_name(uint8_t p, char (&buf)[4]) {
    switch (p) {
        case ip_proto::kTcp:
            return "TCP";
        case ip_proto::kUdp:
            return "UDP";
        case ip_proto::kIcmp:
            return "ICMP";
        case ip_proto::kIcmpV6:
            return "IPv6-ICMP";
        default: {
            const int n = std::snprintf(buf, sizeof buf, "%u", p);
            return {buf, static_cast<size_t>(n)};
        }
    }
}

}  // namespace

JsonBuilder& EveEmitter::begin(const Flow& f, std::string_view event_type) {
    json_.reset();
    char ts[40], cid[40], src[48], dst[48], pbuf[4];
    format_eve_time(now_, ts);
    const Endpoint& c = f.client();
    const Endpoint& s = f.server();
    const size_t cid_len = community_id(c, s, f.key.proto, cid);
    const size_t src_len = c.addr.format(src);
    const size_t dst_len = s.addr.format(dst);
    json_.begin_object()
        .field("timestamp", std::string_view(ts))
        .field("flow_id", f.flow_id)
        .field("community_id", std::string_view(cid, cid_len))
        .field("event_type", event_type)
        .field("src_ip", std::string_view(src, src_len))
        .field("src_port", c.port)
        .field("dest_ip", std::string_view(dst, dst_len))
        .field("dest_port", s.port)
        .field("proto", proto_name(f.key.proto, pbuf));
    if (f.key.vlan != 0) json_.array("vlan").value(f.key.vlan).end_array();
    if (f.app_proto != AppProto::Unknown) json_.field("app_proto", app_proto_name(f.app_proto));
    return json_;
}

bool EveEmitter::finish() {
    json_.end_object();
    if (json_.overflow() || sink_ == nullptr ||
        !sink_->emit(EveOrder{seq_, source_, index_++}, json_.view())) {
        ++dropped_;
        return false;
    }
    ++emitted_;
    return true;
}

}  // namespace sluice
