#include "tls/hello.h"

#include <cstring>

namespace sluice::tls {
namespace {

// Bounds-checked reader over a span; every read fails cleanly past the end.
class Reader {
  public:
    explicit Reader(std::span<const uint8_t> b) : b_(b) {}
    bool u8(uint8_t& v) {
        if (pos_ + 1 > b_.size()) return fail();
        v = b_[pos_++];
        return true;
    }
    bool u16(uint16_t& v) {
        if (pos_ + 2 > b_.size()) return fail();
        v = static_cast<uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
        pos_ += 2;
        return true;
    }
    bool bytes(size_t n, std::span<const uint8_t>& v) {
        if (n > b_.size() - pos_) return fail();
        v = b_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    bool vec8(std::span<const uint8_t>& v) {
        uint8_t n;
        return u8(n) && bytes(n, v);
    }
    bool vec16(std::span<const uint8_t>& v) {
        uint16_t n;
        return u16(n) && bytes(n, v);
    }
    bool empty() const { return pos_ == b_.size(); }
    bool ok() const { return ok_; }

  private:
    bool fail() {
        ok_ = false;
        return false;
    }
    std::span<const uint8_t> b_;
    size_t pos_ = 0;
    bool ok_ = true;
};

constexpr size_t kHelloRetryRandomLen = 32;
constexpr uint8_t kHelloRetryRandom[kHelloRetryRandomLen] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

bool parse_client_extension(uint16_t type, std::span<const uint8_t> data, ClientHello& out) {
    Reader r(data);
    switch (type) {
        case ext::kServerName: {
            std::span<const uint8_t> list;
            if (!r.vec16(list)) return false;
            Reader l(list);
            while (!l.empty()) {
                uint8_t name_type;
                std::span<const uint8_t> name;
                if (!l.u8(name_type) || !l.vec16(name)) return false;
                if (name_type == 0 && out.sni.empty()) {
                    out.sni = {reinterpret_cast<const char*>(name.data()), name.size()};
                }
            }
            out.has_sni = true;
            return true;
        }
        case ext::kAlpn: {
            std::span<const uint8_t> list, first;
            if (!r.vec16(list)) return false;
            Reader l(list);
            if (!l.empty() && !l.vec8(first)) return false;
            out.alpn_first = first;
            out.has_alpn = !first.empty();
            return true;
        }
        case ext::kSupportedVersions: {
            std::span<const uint8_t> v;
            if (!r.vec8(v) || v.size() % 2) return false;
            out.supported_versions = {v};
            return true;
        }
        case ext::kSignatureAlgorithms: {
            std::span<const uint8_t> v;
            if (!r.vec16(v) || v.size() % 2) return false;
            out.signature_algorithms = {v};
            return true;
        }
        case ext::kSupportedGroups: {
            std::span<const uint8_t> v;
            if (!r.vec16(v) || v.size() % 2) return false;
            out.supported_groups = {v};
            return true;
        }
        case ext::kEcPointFormats: {
            std::span<const uint8_t> v;
            if (!r.vec8(v)) return false;
            out.ec_point_formats = v;
            return true;
        }
        case ext::kSessionTicket:
            out.has_session_ticket = true;
            return true;
        case ext::kPreSharedKey:
            out.has_psk = true;
            return true;
        default:
            return true;
    }
}

}  // namespace

ParseStatus parse_client_hello(std::span<const uint8_t> body, ClientHello& out) {
    Reader r(body);
    std::span<const uint8_t> ciphers, compression;
    if (!r.u16(out.legacy_version) || !r.bytes(32, out.random) || !r.vec8(out.session_id) ||
        !r.vec16(ciphers) || ciphers.size() % 2 || !r.vec8(compression))
        return ParseStatus::Malformed;
    out.ciphers = {ciphers};
    if (r.empty()) return ParseStatus::Ok;  // no extensions (SSLv3-era clients)
    std::span<const uint8_t> exts;
    if (!r.vec16(exts)) return ParseStatus::Malformed;
    out.extensions_raw = {exts};
    Reader e(exts);
    while (!e.empty()) {
        uint16_t type;
        std::span<const uint8_t> data;
        if (!e.u16(type) || !e.vec16(data)) return ParseStatus::Malformed;
        if (out.extension_count < ClientHello::kMaxExtensions)
            out.extension_types[out.extension_count] = type;
        ++out.extension_count;
        if (!parse_client_extension(type, data, out)) return ParseStatus::Malformed;
    }
    return ParseStatus::Ok;
}

ParseStatus parse_server_hello(std::span<const uint8_t> body, ServerHello& out) {
    Reader r(body);
    std::span<const uint8_t> session_id;
    uint8_t compression;
    if (!r.u16(out.legacy_version) || !r.bytes(32, out.random) || !r.vec8(session_id) ||
        !r.u16(out.cipher_suite) || !r.u8(compression))
        return ParseStatus::Malformed;
    out.selected_version = out.legacy_version;
    out.hello_retry_request =
        std::memcmp(out.random.data(), kHelloRetryRandom, kHelloRetryRandomLen) == 0;
    if (r.empty()) return ParseStatus::Ok;
    std::span<const uint8_t> exts;
    if (!r.vec16(exts)) return ParseStatus::Malformed;
    Reader e(exts);
    while (!e.empty()) {
        uint16_t type;
        std::span<const uint8_t> data;
        if (!e.u16(type) || !e.vec16(data)) return ParseStatus::Malformed;
        if (out.extension_count < ServerHello::kMaxExtensions)
            out.extension_types[out.extension_count] = type;
        ++out.extension_count;
        if (type == ext::kSupportedVersions && data.size() == 2)
            out.selected_version = static_cast<uint16_t>(data[0] << 8 | data[1]);
    }
    return ParseStatus::Ok;
}

std::string_view version_name(uint16_t v) {
    switch (v) {
        case 0x0304:
            return "TLS 1.3";
        case 0x0303:
            return "TLS 1.2";
        case 0x0302:
            return "TLS 1.1";
        case 0x0301:
            return "TLS 1.0";
        case 0x0300:
            return "SSLv3";
        case 0x0002:
            return "SSLv2";
        default:
            return "unknown";
    }
}

}  // namespace sluice::tls
