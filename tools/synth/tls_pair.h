// A real TLS session between an OpenSSL client and server in memory (memory BIOs): handshake,
// application data both ways, close_notify. Each flight of TLS bytes is handed to the caller,
// who puts it on the wire (TCP segments in a capture). Client profiles differ only in
// OpenSSL configuration (versions, suites, groups, signature algorithms, ALPN, tickets), which
// is what gives them distinct JA3/JA4 fingerprints.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::synth {

enum class Side : uint8_t { Client, Server };

struct TlsProfile {
    std::string name;
    std::string stands_for;  // the client whose TLS stack this approximates (docs)
    int min_version = TLS1_2_VERSION;
    int max_version = TLS1_3_VERSION;
    std::string ciphers;       // TLS 1.2 cipher list ("" = OpenSSL default)
    std::string ciphersuites;  // TLS 1.3 suites ("" = default)
    std::string groups;        // "" = default
    std::string sigalgs;       // "" = default
    std::vector<std::string> alpn;
    bool tickets = true;  // offer the session_ticket extension
};

// The built-in profiles (see docs/synth.md for what each stands for).
const std::vector<TlsProfile>& tls_profiles();
const TlsProfile* find_profile(std::string_view name);
std::vector<std::string> tls_profiles_names();

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// Server context with a self-signed EC certificate for `host` (made with the process's
// current randomness, so deterministic under DeterministicRandom).
// `h2`: the server picks h2 when the client offers it (else HTTP/1.1).
SslCtxPtr make_server_ctx(const std::string& host, bool h2 = false);
// Client context for a profile; key log lines go to `keylog` (NSS format).
SslCtxPtr make_client_ctx(const TlsProfile& p, std::string* keylog);

using Emit = std::function<void(Side from, std::string_view bytes)>;

class TlsPair {
  public:
    TlsPair(SSL_CTX* client, SSL_CTX* server, const std::string& sni);
    ~TlsPair();
    TlsPair(const TlsPair&) = delete;
    TlsPair& operator=(const TlsPair&) = delete;

    bool handshake(const Emit& emit);
    // Encrypts `data` as one or more records from `from`, the peer reads it.
    void write(Side from, std::string_view data, const Emit& emit);
    void close(const Emit& emit);
    std::string error() const { return error_; }
    uint16_t version() const;

  private:
    void pump(const Emit& emit);
    SSL* c_ = nullptr;
    SSL* s_ = nullptr;
    BIO* c_out_ = nullptr;  // what the client sends
    BIO* s_out_ = nullptr;
    BIO* c_in_ = nullptr;
    BIO* s_in_ = nullptr;
    std::string error_;
};

}  // namespace sluice::synth
