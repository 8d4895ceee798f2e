// TLS client fingerprints from a parsed ClientHello:
//   JA3  (Salesforce): "SSLVersion,Ciphers,Extensions,EllipticCurves,ECPointFormats", MD5.
//   JA4  (FoxIO, BSD-3-Clause; the TLS client fingerprint only): ja4, ja4_r, ja4_o, ja4_ro.
// Everything is written into fixed buffers; nothing allocates.
#pragma once

#include <string_view>

#include "tls/hello.h"

namespace sluice::tls {

struct Fingerprints {
    std::string_view ja3;       // the JA3 string
    std::string_view ja3_hash;  // 32 hex chars
    std::string_view ja4;       // t13d1516h2_8daaf6152771_e5627efa2ab1
    std::string_view ja4_r;     // raw, sorted
    std::string_view ja4_o;     // hashed, original order
    std::string_view ja4_ro;    // raw, original order

  private:
    friend void compute_fingerprints(const ClientHello&, Fingerprints&, char);
    char ja3_buf_[3072];
    char ja3_hash_buf_[32];
    char ja4_buf_[40];
    char ja4_o_buf_[40];
    char ja4_r_buf_[3072];
    char ja4_ro_buf_[3072];
};

// JA3S of a ServerHello: "version,cipher,extensions" (decimal, extensions dash-joined in
// order) and its MD5.
struct ServerFingerprint {
    std::string_view ja3s;
    std::string_view ja3s_hash;

  private:
    friend void compute_server_fingerprint(const ServerHello&, ServerFingerprint&);
    char ja3s_buf_[256];
    char ja3s_hash_buf_[32];
};
void compute_server_fingerprint(const ServerHello& sh, ServerFingerprint& out);

// `transport`: JA4's first character, 't' for TLS over TCP, 'q' for QUIC.
void compute_fingerprints(const ClientHello& ch, Fingerprints& out, char transport = 't');

}  // namespace sluice::tls
