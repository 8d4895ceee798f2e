#include "control/protocol/tls_context.h"

#include <openssl/ssl.h>

#include "control/protocol/stream.h"

namespace sluice::control {

namespace {
// Certificate, key and (when named) the CA to verify peers with.
std::shared_ptr<SSL_CTX> base_context(bool server, const TlsFiles& files, std::string& error) {
    std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()),
                                 SSL_CTX_free);
    if (!ctx) {
        error = ssl_error_string();
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert.c_str()) != 1) {
        error = files.cert + ": " + ssl_error_string();
        return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
        error = files.key + ": " + ssl_error_string();
        return nullptr;
    }
    if (!files.ca.empty() &&
        SSL_CTX_load_verify_locations(ctx.get(), files.ca.c_str(), nullptr) != 1) {
        error = files.ca + ": " + ssl_error_string();
        return nullptr;
    }
    // Writes resume with the same bytes after WANT_WRITE, but the buffer may move.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // A server that verifies client certificates must name its session context, or OpenSSL
    // fails every resumed handshake (a browser's second connection) outright.
    if (server) {
        static constexpr unsigned char kContext[] = "sluice";
        SSL_CTX_set_session_id_context(ctx.get(), kContext, sizeof kContext - 1);
    }
    return ctx;
}
}  // namespace

std::shared_ptr<SSL_CTX> make_tls_context(bool server, const TlsFiles& files, std::string& error) {
    if (!files.complete()) {
        error = "mutual TLS needs a certificate, its key and a CA";
        return nullptr;
    }
    auto ctx = base_context(server, files, error);
    if (!ctx) return nullptr;
    // Both sides verify: the server demands a client certificate from the CA.
    SSL_CTX_set_verify(ctx.get(),
                       server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                       nullptr);
    return ctx;
}

std::shared_ptr<SSL_CTX> make_tls_server_context_optional_clients(const TlsFiles& files,
                                                                  std::string& error) {
    if (files.cert.empty() || files.key.empty()) {
        error = "HTTPS needs a certificate and its key";
        return nullptr;
    }
    auto ctx = base_context(true, files, error);
    if (!ctx) return nullptr;
    if (!files.ca.empty()) {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
        // Which CA's certificates the browser should offer.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca.c_str()))
            SSL_CTX_set_client_CA_list(ctx.get(), names);
    }
    return ctx;
}

}  // namespace sluice::control
