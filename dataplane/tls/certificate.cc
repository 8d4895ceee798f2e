#include "tls/certificate.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

#include "common/digest.h"

namespace sluice::tls {

namespace {

uint32_t u24(std::span<const uint8_t> b) {
    return uint32_t{b[0]} << 16 | uint32_t{b[1]} << 8 | b[2];
}

// Appends into a fixed buffer, cutting what does not fit.
struct Writer {
    std::span<char> buf;
    size_t n = 0;
    void put(std::string_view s) {
        const size_t k = std::min(s.size(), buf.size() - n);
        std::memcpy(buf.data() + n, s.data(), k);
        n += k;
    }
    std::string_view view() const { return {buf.data(), n}; }
};

std::string_view format_name(const X509_NAME* name, std::span<char> out) {
    Writer w{out};
    const int count = X509_NAME_entry_count(name);
    for (int i = 0; i < count; ++i) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
        const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(e);
        const int nid = OBJ_obj2nid(obj);
        char oid[80];
        const char* sn = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
        if (sn == nullptr) {
            OBJ_obj2txt(oid, sizeof oid, obj, 1);
            sn = oid;
        }
        if (i > 0) w.put(", ");
        w.put(sn);
        w.put("=");
        unsigned char* utf8 = nullptr;
        const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        if (len > 0) w.put({reinterpret_cast<const char*>(utf8), static_cast<size_t>(len)});
        OPENSSL_free(utf8);
    }
    return w.view();
}

std::string_view hex_bytes(std::span<const uint8_t> bytes, bool upper, std::span<char> out) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < bytes.size() && n + 3 <= out.size(); ++i) {
        if (i > 0) out[n++] = ':';
        out[n++] = digits[bytes[i] >> 4];
        out[n++] = digits[bytes[i] & 15];
    }
    return {out.data(), n};
}

}  // namespace

bool parse_certificate_message(std::span<const uint8_t> body, CertificateFacts& out) {
    out.subject = out.issuer = out.serial = out.fingerprint = {};
    out.chain_length = 0;
    if (body.size() < 3 || u24(body) != body.size() - 3) return false;
    std::span<const uint8_t> list = body.subspan(3);
    std::span<const uint8_t> leaf;
    while (!list.empty()) {
        if (list.size() < 3 || u24(list) > list.size() - 3) return false;
        const uint32_t len = u24(list);
        if (out.chain_length == 0) leaf = list.subspan(3, len);
        ++out.chain_length;
        list = list.subspan(3 + len);
    }
    if (leaf.empty()) return false;
    const unsigned char* p = leaf.data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(leaf.size()));
    if (x == nullptr) return false;
    out.subject = format_name(X509_get_subject_name(x), out.subject_buf_);
    out.issuer = format_name(X509_get_issuer_name(x), out.issuer_buf_);
    // The serial as encoded: the DER integer's content octets (a leading 00 kept).
    unsigned char der[80];
    unsigned char* d = der;
    const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
    const int dlen = i2d_ASN1_INTEGER(serial, nullptr);
    if (dlen > 2 && dlen <= static_cast<int>(sizeof der) && i2d_ASN1_INTEGER(serial, &d) == dlen) {
        // Tag, a short-form length (serials are at most 20 octets), then the content.
        out.serial = hex_bytes(std::span<const uint8_t>(der + 2, static_cast<size_t>(dlen - 2)),
                               true, out.serial_buf_);
    }
    const auto fp = sha1(leaf);
    out.fingerprint = hex_bytes(fp, false, out.fingerprint_buf_);
    X509_free(x);
    return true;
}

}  // namespace sluice::tls
