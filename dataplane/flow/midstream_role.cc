#include "flow/midstream_role.h"

#include <string_view>

namespace sluice {

namespace {

bool starts_with(std::span<const uint8_t> p, std::string_view s) {
    if (p.size() < s.size()) return false;
    for (size_t i = 0; i < s.size(); ++i)
        if (p[i] != static_cast<uint8_t>(s[i])) return false;
    return true;
}

// "METHOD SP target": a token of 1-20 upper-case letters (or '-'), one space, then a target
// that starts like one ('/', '*', or an absolute "http" URI, or an authority for CONNECT).
bool request_line(std::span<const uint8_t> p) {
    size_t i = 0;
    while (i < p.size() && i <= 20 && ((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '-')) ++i;
    if (i == 0 || i > 20 || i + 1 >= p.size() || p[i] != ' ') return false;
    const uint8_t t = p[i + 1];
    const bool connect = i == 7 && starts_with(p, "CONNECT");
    return t == '/' || t == '*' || starts_with(p.subspan(i + 1), "http") || connect;
}

}  // namespace

std::optional<PayloadRole> payload_role(std::span<const uint8_t> p) {
    if (starts_with(p, "HTTP/1.") || starts_with(p, "HTTP/2")) return PayloadRole::Server;
    if (starts_with(p, "PRI * HTTP/2.0")) return PayloadRole::Client;
    if (request_line(p)) return PayloadRole::Client;
    // A TLS handshake record (22, version 3.x) whose first message is a ClientHello (1) or a
    // ServerHello (2).
    if (p.size() >= 6 && p[0] == 22 && p[1] == 3 && p[2] <= 4) {
        if (p[5] == 1) return PayloadRole::Client;
        if (p[5] == 2) return PayloadRole::Server;
    }
    return std::nullopt;
}

}  // namespace sluice
