// IPv4/IPv6 addresses in one 16-byte value type (IPv4 as ::ffff:a.b.c.d-style tagged form).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sluice {

enum class IpVersion : uint8_t { None = 0, V4 = 4, V6 = 6 };

// Addresses are stored in network byte order; IPv4 occupies the first four bytes and the rest is
// zero, with the version kept alongside so 0.0.0.0 and :: stay distinct.
struct IpAddress {
    std::array<uint8_t, 16> bytes{};
    IpVersion version = IpVersion::None;

    static IpAddress v4(std::span<const uint8_t, 4> b) {
        IpAddress a;
        std::memcpy(a.bytes.data(), b.data(), 4);
        a.version = IpVersion::V4;
        return a;
    }
    static IpAddress v6(std::span<const uint8_t, 16> b) {
        IpAddress a;
        std::memcpy(a.bytes.data(), b.data(), 16);
        a.version = IpVersion::V6;
        return a;
    }
    static std::optional<IpAddress> parse(std::string_view text);

    size_t size() const { return version == IpVersion::V4 ? 4 : 16; }
    std::span<const uint8_t> span() const { return {bytes.data(), size()}; }
    // Writes the textual form (inet_ntop) into out; returns the length written.
    size_t format(std::span<char> out) const;
    std::string to_string() const;
    // The address with every bit past the first `len` cleared (the network of a prefix).
    IpAddress masked(unsigned len) const {
        IpAddress m = *this;
        for (size_t i = 0; i < m.bytes.size(); ++i) {
            const unsigned keep = len >= 8 ? 8 : len;
            m.bytes[i] = static_cast<uint8_t>(keep == 0 ? 0 : m.bytes[i] & (0xffu << (8 - keep)));
            len -= keep;
        }
        return m;
    }
    // True if this address lies in prefix/len of the same version.
    bool in_prefix(const IpAddress& prefix, unsigned len) const;

    auto operator<=>(const IpAddress&) const = default;
};

}  // namespace sluice
