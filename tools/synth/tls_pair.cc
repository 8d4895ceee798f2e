#include "tls_pair.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace sluice::synth {

const std::vector<TlsProfile>& tls_profiles() {
    static const std::vector<TlsProfile> profiles = {
        // OpenSSL's defaults as Python's ssl module uses them (httpx, requests, the SDKs).
        {"python",
         "Python 3 ssl (OpenSSL defaults): anthropic/openai SDKs, httpx, requests",
         TLS1_2_VERSION,
         TLS1_3_VERSION,
         "",
         "",
         "",
         "",
         {"http/1.1"},
         true},
        // curl with OpenSSL, offering h2 and http/1.1.
        {"curl",
         "curl 7.88 / OpenSSL 3.0 (ALPN h2, http/1.1)",
         TLS1_2_VERSION,
         TLS1_3_VERSION,
         "",
         "",
         "",
         "",
         {"h2", "http/1.1"},
         true},
        // A Go net/http-like client: TLS 1.2+ with Go's ECDHE-only suite order, X25519/P-256/
        // P-384, no session tickets offered.
        {"go",
         "Go net/http (relay software is often written in Go)",
         TLS1_2_VERSION,
         TLS1_3_VERSION,
         "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
         "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
         "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
         "X25519:P-256:P-384",
         "",
         {"http/1.1"},
         false},
        // A Node.js-like client (the official CLI runs on Node): ChaCha20 late, P-521 offered.
        {"node",
         "Node.js 20 https (the official CLI's runtime)",
         TLS1_2_VERSION,
         TLS1_3_VERSION,
         "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
         "ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256",
         "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
         "X25519:P-256:P-384:P-521",
         "",
         {"http/1.1"},
         true},
        // A browser-like profile for console signups.
        {"browser",
         "a Chromium-family browser (console, signups)",
         TLS1_2_VERSION,
         TLS1_3_VERSION,
         "",
         "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
         "X25519:P-256:P-384",
         "ECDSA+SHA256:RSA-PSS+SHA256:RSA+SHA256:ECDSA+SHA384:RSA-PSS+SHA384:RSA+SHA384:RSA-PSS+"
         "SHA512:RSA+SHA512",
         {"h2", "http/1.1"},
         true},
        // An old TLS 1.2-only stack (scripts on old distributions, some proxies).
        {"legacy12",
         "a TLS 1.2-only client (old OpenSSL, Java 8)",
         TLS1_2_VERSION,
         TLS1_2_VERSION,
         "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
         "ECDHE-ECDSA-AES128-GCM-SHA256",
         "",
         "P-256:P-384",
         "",
         {},
         false},
    };
    return profiles;
}

const TlsProfile* find_profile(std::string_view name) {
    for (const TlsProfile& p : tls_profiles())
        if (p.name == name) return &p;
    return nullptr;
}

std::vector<std::string> tls_profiles_names() {
    std::vector<std::string> out;
    for (const TlsProfile& p : tls_profiles()) out.push_back(p.name + ": " + p.stands_for);
    return out;
}

namespace {

std::string* g_keylog = nullptr;

void keylog_cb(const SSL*, const char* line) {
    if (g_keylog != nullptr) {
        g_keylog->append(line);
        g_keylog->push_back('\n');
    }
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
    // h2 when the server speaks it and the client offers it, else HTTP/1.1 if offered, else
    // no ALPN.
    if (arg != nullptr) {
        for (unsigned i = 0; i < inlen;) {
            const unsigned len = in[i];
            if (i + 1 + len > inlen) break;
            if (len == 2 && in[i + 1] == 'h' && in[i + 2] == '2') {
                *out = in + i + 1;
                *outlen = 2;
                return SSL_TLSEXT_ERR_OK;
            }
            i += 1 + len;
        }
    }
    for (unsigned i = 0; i < inlen;) {
        const unsigned len = in[i];
        if (i + 1 + len > inlen) break;
        if (len == 8 &&
            std::string_view(reinterpret_cast<const char*>(in + i + 1), 8) == "http/1.1") {
            *out = in + i + 1;
            *outlen = 8;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

SslCtxPtr make_server_ctx(const std::string& host, bool h2) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    // Fixed validity: the certificate must not depend on the clock.
    ASN1_TIME_set_string(X509_getm_notBefore(cert), "20260101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(cert), "20360101000000Z");
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(ctx.get(), cert);
    SSL_CTX_use_PrivateKey(ctx.get(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    // No tickets: their contents carry the clock, and sessions are not resumed here.
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx.get(), 0);
    static int speaks_h2 = 1;
    SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, h2 ? &speaks_h2 : nullptr);
    return ctx;
}

SslCtxPtr make_client_ctx(const TlsProfile& p, std::string* keylog) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_min_proto_version(ctx.get(), p.min_version);
    SSL_CTX_set_max_proto_version(ctx.get(), p.max_version);
    if (!p.ciphers.empty()) SSL_CTX_set_cipher_list(ctx.get(), p.ciphers.c_str());
    if (!p.ciphersuites.empty()) SSL_CTX_set_ciphersuites(ctx.get(), p.ciphersuites.c_str());
    if (!p.groups.empty()) SSL_CTX_set1_groups_list(ctx.get(), p.groups.c_str());
    if (!p.sigalgs.empty()) SSL_CTX_set1_sigalgs_list(ctx.get(), p.sigalgs.c_str());
    if (!p.alpn.empty()) {
        std::string wire;
        for (const std::string& a : p.alpn) {
            wire.push_back(static_cast<char>(a.size()));
            wire += a;
        }
        SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size()));
    }
    if (!p.tickets) SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    g_keylog = keylog;
    SSL_CTX_set_keylog_callback(ctx.get(), keylog_cb);
    return ctx;
}

TlsPair::TlsPair(SSL_CTX* client, SSL_CTX* server, const std::string& sni) {
    c_ = SSL_new(client);
    s_ = SSL_new(server);
    c_in_ = BIO_new(BIO_s_mem());
    c_out_ = BIO_new(BIO_s_mem());
    s_in_ = BIO_new(BIO_s_mem());
    s_out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(c_, c_in_, c_out_);
    SSL_set_bio(s_, s_in_, s_out_);
    SSL_set_tlsext_host_name(c_, sni.c_str());
    SSL_set_connect_state(c_);
    SSL_set_accept_state(s_);
}

TlsPair::~TlsPair() {
    SSL_free(c_);  // frees its BIOs
    SSL_free(s_);
}

uint16_t TlsPair::version() const {
    return static_cast<uint16_t>(SSL_version(c_));
}

// Moves whatever each side wrote to the other, one flight at a time.
void TlsPair::pump(const Emit& emit) {
    char buf[16384];
    for (auto [out, in, side] :
         {std::tuple{c_out_, s_in_, Side::Client}, std::tuple{s_out_, c_in_, Side::Server}}) {
        std::string flight;
        int n;
        while ((n = BIO_read(out, buf, sizeof buf)) > 0) flight.append(buf, static_cast<size_t>(n));
        if (flight.empty()) continue;
        emit(side, flight);
        BIO_write(in, flight.data(), static_cast<int>(flight.size()));
    }
}

bool TlsPair::handshake(const Emit& emit) {
    for (int round = 0; round < 16; ++round) {
        const int rc = SSL_do_handshake(c_);
        if (rc != 1 && SSL_get_error(c_, rc) != SSL_ERROR_WANT_READ) break;
        pump(emit);
        const int rs = SSL_do_handshake(s_);
        if (rs != 1 && SSL_get_error(s_, rs) != SSL_ERROR_WANT_READ) break;
        pump(emit);
        if (SSL_is_init_finished(c_) && SSL_is_init_finished(s_)) {
            // TLS 1.3: the client's Finished may still be in flight to the server.
            char tmp[1];
            SSL_read(s_, tmp, 0);
            pump(emit);
            return true;
        }
    }
    error_ = ERR_error_string(ERR_get_error(), nullptr);
    return false;
}

void TlsPair::write(Side from, std::string_view data, const Emit& emit) {
    SSL* w = from == Side::Client ? c_ : s_;
    SSL* r = from == Side::Client ? s_ : c_;
    SSL_write(w, data.data(), static_cast<int>(data.size()));
    pump(emit);
    char buf[16384];
    while (SSL_read(r, buf, sizeof buf) > 0) {
    }
    pump(emit);
}

void TlsPair::close(const Emit& emit) {
    SSL_shutdown(c_);
    pump(emit);
    SSL_shutdown(s_);
    pump(emit);
}

}  // namespace sluice::synth
