// TLS ClientHello and ServerHello parsing. Parsers take the handshake message body as a
// span, fill caller-owned structs with views into it, and never allocate.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::tls {

// GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ..., 0xfafa.
constexpr bool is_grease(uint16_t v) {
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

namespace ext {
constexpr uint16_t kServerName = 0, kSupportedGroups = 10, kEcPointFormats = 11,
                   kSignatureAlgorithms = 13, kAlpn = 16, kPreSharedKey = 41, kEarlyData = 42,
                   kSupportedVersions = 43, kKeyShare = 51, kSessionTicket = 35;
}

// A list of big-endian 16-bit values inside the message (wire order, GREASE included).
struct U16List {
    std::span<const uint8_t> raw;
    size_t size() const { return raw.size() / 2; }
    uint16_t operator[](size_t i) const {
        return static_cast<uint16_t>(raw[2 * i] << 8 | raw[2 * i + 1]);
    }
};

enum class ParseStatus : uint8_t { Ok, Malformed };

struct ClientHello {
    uint16_t legacy_version = 0;
    std::span<const uint8_t> random;
    std::span<const uint8_t> session_id;
    U16List ciphers;
    U16List extensions_raw;  // not a list: see extension_types
    static constexpr size_t kMaxExtensions = 64;
    std::array<uint16_t, kMaxExtensions> extension_types{};
    size_t extension_count = 0;  // may exceed kMaxExtensions: then only the first are kept
    std::string_view sni;        // first host_name
    bool has_sni = false;
    std::span<const uint8_t> alpn_first;  // first protocol name
    bool has_alpn = false;
    U16List supported_versions;
    U16List signature_algorithms;
    U16List supported_groups;
    std::span<const uint8_t> ec_point_formats;
    bool has_session_ticket = false;
    bool has_psk = false;
};

struct ServerHello {
    uint16_t legacy_version = 0;
    std::span<const uint8_t> random;
    uint16_t cipher_suite = 0;
    uint16_t selected_version = 0;  // from supported_versions, else legacy_version
    bool hello_retry_request = false;
    static constexpr size_t kMaxExtensions = 32;
    std::array<uint16_t, kMaxExtensions> extension_types{};  // in order (JA3S)
    size_t extension_count = 0;  // may exceed kMaxExtensions: then only the first are kept
};

// `body` is the handshake message body (after the 4-byte handshake header).
ParseStatus parse_client_hello(std::span<const uint8_t> body, ClientHello& out);
ParseStatus parse_server_hello(std::span<const uint8_t> body, ServerHello& out);

// "TLS 1.3", "TLS 1.2", ..., "SSLv3" (Suricata's names), or "unknown".
std::string_view version_name(uint16_t version);

}  // namespace sluice::tls
