// The control protocol over TCP with mutual TLS (OpenSSL), for remote daemons and operators:
// both sides present a certificate signed by the CA the other trusts; a peer without one, or
// with one from another CA, is refused during the handshake. TLS 1.2 at least.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "control/protocol/frame.h"
#include "control/protocol/server.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace sluice::control {

struct TlsFiles {
    std::string cert, key, ca;  // PEM: own certificate (chain), its key, the CA to trust
    bool complete() const { return !cert.empty() && !key.empty() && !ca.empty(); }
};

// An SSL_CTX for one side; nullptr with `error` (OpenSSL's reason) on failure.
std::shared_ptr<SSL_CTX> make_tls_context(bool server, const TlsFiles& files, std::string& error);

class TlsServer {
  public:
    ~TlsServer() { stop(); }
    // `listen` is IPv4ADDR:PORT. Each connection is served on its own thread (at most 16).
    bool start(const std::string& listen, const TlsFiles& files, UnixServer::Handler handler,
               std::string& error);
    void stop();
    uint64_t refused() const { return refused_.load(); }

  private:
    void run();
    void serve(int fd);
    std::shared_ptr<SSL_CTX> ctx_;
    UnixServer::Handler handler_;
    int fd_ = -1;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<int> active_{0};
    std::atomic<uint64_t> refused_{0};
    std::mutex mu_;
    std::list<std::thread> conns_;
};

// A connected TLS client stream (used by Client).
class TlsStream {
  public:
    ~TlsStream();
    bool connect(const std::string& host_port, const TlsFiles& files, std::string& error);
    bool write(std::string_view bytes, std::string& error);
    bool read_frame(Frame& out, int timeout_ms, std::string& error);

  private:
    std::shared_ptr<SSL_CTX> ctx_;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
};

}  // namespace sluice::control
