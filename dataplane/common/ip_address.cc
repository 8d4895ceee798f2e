#include "common/ip_address.h"

#include <arpa/inet.h>

namespace sluice {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress a;
    if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
        a.version = IpVersion::V4;
        return a;
    }
    if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
        a.version = IpVersion::V6;
        return a;
    }
    return std::nullopt;
}

size_t IpAddress::format(std::span<char> out) const {
    if (out.size() < INET6_ADDRSTRLEN || version == IpVersion::None) {
        if (!out.empty()) out[0] = '\0';
        return 0;
    }
    const int af = version == IpVersion::V4 ? AF_INET : AF_INET6;
    if (inet_ntop(af, bytes.data(), out.data(), static_cast<socklen_t>(out.size())) == nullptr) {
        out[0] = '\0';
        return 0;
    }
    return std::strlen(out.data());
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    const size_t n = format(buf);
    return std::string(buf, n);
}

bool IpAddress::in_prefix(const IpAddress& prefix, unsigned len) const {
    if (version != prefix.version) return false;
    const unsigned bits = static_cast<unsigned>(size()) * 8;
    if (len > bits) return false;
    const unsigned full = len / 8, rest = len % 8;
    if (std::memcmp(bytes.data(), prefix.bytes.data(), full) != 0) return false;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
    return (bytes[full] & mask) == (prefix.bytes[full] & mask);
}

}  // namespace sluice
