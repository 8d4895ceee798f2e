// Mutual TLS for the control protocol (OpenSSL): both sides present a certificate signed by
// the CA the other trusts; a peer without one, or with another CA's, is refused during the
// handshake. TLS 1.2 at least. Who a verified certificate may act as is access.h's business.
#pragma once

#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace sluice::control {

struct TlsFiles {
    std::string cert, key, ca;  // PEM: own certificate (chain), its key, the CA to trust
    bool complete() const { return !cert.empty() && !key.empty() && !ca.empty(); }
};

// An SSL_CTX for one side; nullptr with `error` (the file and OpenSSL's reason) on failure.
std::shared_ptr<SSL_CTX> make_tls_context(bool server, const TlsFiles& files, std::string& error);

// A server context for a browser-facing endpoint (the dashboard): certificate and key needed;
// with a CA, a client certificate is asked for and verified when one is sent, but a client
// without one is let in (the endpoint then wants another credential).
std::shared_ptr<SSL_CTX> make_tls_server_context_optional_clients(const TlsFiles& files,
                                                                  std::string& error);

}  // namespace sluice::control
