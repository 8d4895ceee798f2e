#include "appid/app_proto.h"

#include <array>
#include <cstring>

namespace sluice {

std::string_view app_proto_name(AppProto p) {
    switch (p) {
        case AppProto::Unknown:
            return "unknown";
        case AppProto::Http:
            return "http";
        case AppProto::Tls:
            return "tls";
        case AppProto::Http2:
            return "http2";
        case AppProto::Ssh:
            return "ssh";
        case AppProto::Socks:
            return "socks";
        case AppProto::Failed:
            return "failed";
        case AppProto::Quic:
            return "quic";
    }
    return "unknown";
}

namespace {

bool starts_with(std::span<const uint8_t> b, std::string_view s) {
    return b.size() >= s.size() && std::memcmp(b.data(), s.data(), s.size()) == 0;
}

// A prefix of s (need more bytes) or s itself.
bool could_start_with(std::span<const uint8_t> b, std::string_view s) {
    const size_t n = b.size() < s.size() ? b.size() : s.size();
    return std::memcmp(b.data(), s.data(), n) == 0;
}

constexpr std::array<std::string_view, 9> kMethods = {
    "GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

ProtoGuess guess_client_proto(std::span<const uint8_t> b) {
    ProtoGuess g;
    if (b.empty()) {
        g.need_more = true;
        return g;
    }
    // TLS record: handshake(22), major version 3, minor 0..4.
    if (b[0] == 0x16) {
        if (b.size() < 3) {
            g.need_more = b.size() < 2 || b[1] == 3;
            return g;
        }
        if (b[1] == 3 && b[2] <= 4) g.proto = AppProto::Tls;
        return g;
    }
    // SOCKS5 greeting: 05 nmethods methods...; the connect request follows after the reply.
    // We only know the preamble length once the request is seen; report Socks and let the
    // caller re-run detection past it (see StreamAppDetector).
    if (b[0] == 0x05 || b[0] == 0x04) {
        g.proto = AppProto::Socks;
        return g;
    }
    if (could_start_with(b, kH2Preface)) {
        if (b.size() < kH2Preface.size())
            g.need_more = true;
        else
            g.proto = AppProto::Http2;
        return g;
    }
    for (auto m : kMethods) {
        if (starts_with(b, m)) {
            g.proto = AppProto::Http;
            return g;
        }
        if (b.size() < m.size() && could_start_with(b, m)) g.need_more = true;
    }
    if (starts_with(b, "SSH-"))
        g.proto = AppProto::Ssh;
    else if (b.size() < 4 && could_start_with(b, "SSH-"))
        g.need_more = true;
    return g;
}

}  // namespace sluice
