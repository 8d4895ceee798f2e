#include "tls/fingerprint.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "common/digest.h"

namespace sluice::tls {
namespace {

// Appends into a fixed buffer, silently truncating (buffers are sized for the largest legal
// lists: a ClientHello carries at most 32767 suites, but the buffers hold 600+ entries).
class Out {
  public:
    explicit Out(std::span<char> b) : b_(b) {}
    void put(char c) {
        if (n_ < b_.size()) b_[n_++] = c;
    }
    void put(std::string_view s) {
        for (char c : s) put(c);
    }
    void dec(unsigned v) {
        char tmp[8];
        const int k = std::snprintf(tmp, sizeof tmp, "%u", v);
        put(std::string_view(tmp, static_cast<size_t>(k)));
    }
    void hex4(uint16_t v) {
        static constexpr char kHex[] = "0123456789abcdef";
        put(kHex[v >> 12]);
        put(kHex[(v >> 8) & 15]);
        put(kHex[(v >> 4) & 15]);
        put(kHex[v & 15]);
    }
    std::string_view view() const { return {b_.data(), n_}; }
    size_t size() const { return n_; }

  private:
    std::span<char> b_;
    size_t n_ = 0;
};

struct Values {
    std::array<uint16_t, 1024> v{};
    size_t n = 0;
    void push(uint16_t x) {
        if (n < v.size()) v[n++] = x;
    }
    std::span<uint16_t> span() { return {v.data(), n}; }
};

Values non_grease(const U16List& l) {
    Values out;
    for (size_t i = 0; i < l.size(); ++i)
        if (!is_grease(l[i])) out.push(l[i]);
    return out;
}

void hex_list(Out& o, std::span<const uint16_t> v) {
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) o.put(',');
        o.hex4(v[i]);
    }
}

void dec_list(Out& o, std::span<const uint16_t> v) {
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) o.put('-');
        o.dec(v[i]);
    }
}

// First 12 hex chars of SHA-256, or twelve zeros for an empty input (JA4's rule).
void hash12(std::string_view s, Out& o) {
    if (s.empty()) {
        o.put("000000000000");
        return;
    }
    const auto d = sha256(as_bytes(s));
    char hex[64];
    to_hex(d, hex);
    o.put(std::string_view(hex, 12));
}

std::string_view ja4_version(uint16_t v) {
    switch (v) {
        case 0x0304:
            return "13";
        case 0x0303:
            return "12";
        case 0x0302:
            return "11";
        case 0x0301:
            return "10";
        case 0x0300:
            return "s3";
        case 0x0002:
            return "s2";
        case 0xfeff:
            return "d1";
        case 0xfefd:
            return "d2";
        case 0xfefc:
            return "d3";
        default:
            return "00";
    }
}

bool alnum(uint8_t c) {
    return c < 128 && std::isalnum(c);
}

}  // namespace

void compute_server_fingerprint(const ServerHello& sh, ServerFingerprint& fp) {
    Out o(fp.ja3s_buf_);
    o.dec(sh.legacy_version);
    o.put(',');
    o.dec(sh.cipher_suite);
    o.put(',');
    dec_list(o, std::span(sh.extension_types.data(),
                          std::min(sh.extension_count, ServerHello::kMaxExtensions)));
    fp.ja3s = o.view();
    to_hex(md5(as_bytes(fp.ja3s)), fp.ja3s_hash_buf_);
    fp.ja3s_hash = std::string_view(fp.ja3s_hash_buf_, 32);
}

void compute_fingerprints(const ClientHello& ch, Fingerprints& fp, char transport) {
    Values ciphers = non_grease(ch.ciphers);
    Values exts;
    for (size_t i = 0; i < std::min(ch.extension_count, ClientHello::kMaxExtensions); ++i)
        if (!is_grease(ch.extension_types[i])) exts.push(ch.extension_types[i]);
    Values sigs = non_grease(ch.signature_algorithms);

    // --- JA3 ---
    {
        Out o(fp.ja3_buf_);
        o.dec(ch.legacy_version);
        o.put(',');
        dec_list(o, ciphers.span());
        o.put(',');
        dec_list(o, exts.span());
        o.put(',');
        Values groups = non_grease(ch.supported_groups);
        dec_list(o, groups.span());
        o.put(',');
        for (size_t i = 0; i < ch.ec_point_formats.size(); ++i) {
            if (i) o.put('-');
            o.dec(ch.ec_point_formats[i]);
        }
        fp.ja3 = o.view();
        const auto d = md5(as_bytes(fp.ja3));
        to_hex(d, fp.ja3_hash_buf_);
        fp.ja3_hash = std::string_view(fp.ja3_hash_buf_, 32);
    }

    // --- JA4 part a ---
    char a_buf[16];
    Out a(a_buf);
    a.put(transport);
    uint16_t version = ch.legacy_version;
    if (ch.supported_versions.size() > 0) {
        version = 0;
        for (size_t i = 0; i < ch.supported_versions.size(); ++i) {
            const uint16_t v = ch.supported_versions[i];
            if (!is_grease(v) && v > version) version = v;
        }
    }
    a.put(ja4_version(version));
    a.put(ch.has_sni ? 'd' : 'i');
    char count[8];
    std::snprintf(count, sizeof count, "%02u",
                  static_cast<unsigned>(std::min<size_t>(ciphers.n, 99)));
    a.put(count);
    std::snprintf(count, sizeof count, "%02u", static_cast<unsigned>(std::min<size_t>(exts.n, 99)));
    a.put(count);
    if (ch.has_alpn) {
        const auto& v = ch.alpn_first;
        const uint8_t first = v.front(), last = v.back();
        if (alnum(first) && alnum(last)) {
            a.put(static_cast<char>(first));
            a.put(static_cast<char>(last));
        } else {
            // Not ASCII alphanumeric at either end: the reference implementation writes "99"
            // (tls-non-ascii-alpn in the conformance set).
            a.put("99");
        }
    } else {
        a.put("00");
    }

    // --- parts b and c, sorted and original order ---
    // JA4 writes twelve zeros for part c when nothing but SNI and ALPN was sent, in both the
    // sorted and the original-order hash (the raw original-order form still lists them).
    size_t other_exts = 0;
    for (size_t i = 0; i < exts.n; ++i)
        if (exts.v[i] != ext::kServerName && exts.v[i] != ext::kAlpn) ++other_exts;
    const bool empty_c = other_exts == 0 && sigs.n == 0;
    auto build = [&](bool sorted, Out& raw, Out& hashed) {
        Values c = ciphers, e;
        for (size_t i = 0; i < exts.n; ++i) {
            const uint16_t x = exts.v[i];
            // The sorted form drops SNI and ALPN (they are in part a); the original-order raw
            // form keeps every extension as sent.
            if (sorted && (x == ext::kServerName || x == ext::kAlpn)) continue;
            e.push(x);
        }
        if (sorted) {
            std::sort(c.span().begin(), c.span().end());
            std::sort(e.span().begin(), e.span().end());
        }
        char b_buf[3072], c_buf[3072];
        Out b(b_buf), cc(c_buf);
        hex_list(b, c.span());
        hex_list(cc, e.span());
        if (sigs.n > 0) {
            cc.put('_');
            hex_list(cc, sigs.span());
        }
        raw.put(a.view());
        raw.put('_');
        raw.put(b.view());
        raw.put('_');
        raw.put(cc.view());
        hashed.put(a.view());
        hashed.put('_');
        hash12(b.view(), hashed);
        hashed.put('_');
        if (empty_c)
            hashed.put("000000000000");
        else
            hash12(cc.view(), hashed);
    };
    Out r(fp.ja4_r_buf_), h(fp.ja4_buf_), ro(fp.ja4_ro_buf_), ho(fp.ja4_o_buf_);
    build(true, r, h);
    build(false, ro, ho);
    fp.ja4 = h.view();
    fp.ja4_r = r.view();
    fp.ja4_o = ho.view();
    fp.ja4_ro = ro.view();
}

}  // namespace sluice::tls
