// The server's certificate as Suricata's tls.cert_* keywords read it: the leaf of a TLS 1.0-1.2
// Certificate message (TLS 1.3 sends it encrypted). Parsed with OpenSSL, only when a loaded
// rule reads it; the strings live in the caller's (per-worker) CertificateFacts.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::tls {

struct CertificateFacts {
    // "C=US, O=Example, CN=api.example.test": the name's attributes in certificate order, short
    // names (OpenSSL's) and UTF-8 values, joined by ", " (Suricata's form).
    std::string_view subject;
    std::string_view issuer;
    std::string_view serial;       // "00:A1:..." - the DER integer's bytes, upper-case hex
    std::string_view fingerprint;  // SHA-1 of the DER certificate, "aa:bb:..." lower-case
    uint32_t chain_length = 0;     // certificates in the message

  private:
    friend bool parse_certificate_message(std::span<const uint8_t>, CertificateFacts&);
    char subject_buf_[1024];
    char issuer_buf_[1024];
    char serial_buf_[192];
    char fingerprint_buf_[60];
};

// `body` is the Certificate handshake message's body (after its 4-byte header). False when it
// is malformed or its first certificate cannot be parsed.
bool parse_certificate_message(std::span<const uint8_t> body, CertificateFacts& out);

}  // namespace sluice::tls
