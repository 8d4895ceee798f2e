#include "control/protocol/tls_channel.h"

#include "control/protocol/tcp_listen.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::control {

namespace {
std::string ssl_error() {
    const unsigned long e = ERR_get_error();
    if (e == 0) return "TLS error";
    char b[256];
    ERR_error_string_n(e, b, sizeof b);
    ERR_clear_error();
    return b;
}

bool split_host_port(const std::string& hp, std::string& host, std::string& port) {
    const size_t c = hp.rfind(':');
    if (c == std::string::npos || c == 0 || c + 1 == hp.size()) return false;
    host = hp.substr(0, c);
    port = hp.substr(c + 1);
    return true;
}

// Reads TLS bytes into `r` until a frame is whole.
bool ssl_read_frame(SSL* ssl, int fd, FrameReader& r, Frame& out, int timeout_ms,
                    std::string& error, const std::atomic<bool>* stop = nullptr) {
    char buf[16384];
    for (;;) {
        if (auto f = r.next()) {
            out = std::move(*f);
            return true;
        }
        if (!r.error().empty()) {
            error = r.error();
            return false;
        }
        if (SSL_pending(ssl) == 0) {
            pollfd p{fd, POLLIN, 0};
            const int rc = ::poll(&p, 1, stop ? 200 : timeout_ms);
            if (rc == 0) {
                if (stop && !stop->load()) continue;
                error = "timed out waiting for an answer";
                return false;
            }
            if (rc < 0 && errno != EINTR) {
                error = std::strerror(errno);
                return false;
            }
        }
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) {
            const int e = SSL_get_error(ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
            error = e == SSL_ERROR_ZERO_RETURN ? "the peer closed the connection" : ssl_error();
            return false;
        }
        r.feed({buf, static_cast<size_t>(n)});
    }
}

bool ssl_write_all(SSL* ssl, std::string_view bytes, std::string& error) {
    size_t off = 0;
    while (off < bytes.size()) {
        const int n = SSL_write(ssl, bytes.data() + off, static_cast<int>(bytes.size() - off));
        if (n <= 0) {
            error = ssl_error();
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return true;
}
}  // namespace

std::shared_ptr<SSL_CTX> make_tls_context(bool server, const TlsFiles& files, std::string& error) {
    if (!files.complete()) {
        error = "mutual TLS needs a certificate, its key and a CA";
        return nullptr;
    }
    std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()),
                                 SSL_CTX_free);
    if (!ctx) {
        error = ssl_error();
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert.c_str()) != 1) {
        error = files.cert + ": " + ssl_error();
        return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
        error = files.key + ": " + ssl_error();
        return nullptr;
    }
    if (SSL_CTX_load_verify_locations(ctx.get(), files.ca.c_str(), nullptr) != 1) {
        error = files.ca + ": " + ssl_error();
        return nullptr;
    }
    // Both sides verify: the server demands a client certificate from the CA.
    SSL_CTX_set_verify(ctx.get(),
                       server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                       nullptr);
    return ctx;
}

bool TlsServer::start(const std::string& listen, const TlsFiles& files, UnixServer::Handler handler,
                      std::string& error) {
    ctx_ = make_tls_context(true, files, error);
    if (!ctx_) return false;
    uint16_t port = 0;
    fd_ = listen_tcp(listen, port, error);
    if (fd_ < 0) return false;
    handler_ = std::move(handler);
    thread_ = std::thread([this] { run(); });
    return true;
}

void TlsServer::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    std::list<std::thread> conns;
    {
        std::lock_guard lock(mu_);
        conns.swap(conns_);
    }
    for (auto& t : conns)
        if (t.joinable()) t.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void TlsServer::run() {
    while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        if (active_.load() >= 16) {  // a bound on threads; the client may retry
            ::close(c);
            continue;
        }
        ++active_;
        std::lock_guard lock(mu_);
        conns_.emplace_back([this, c] {
            serve(c);
            ::close(c);
            --active_;
        });
    }
}

void TlsServer::serve(int fd) {
    timeval tv{5, 0};  // the handshake may not hang a thread
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_.get()), SSL_free);
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) != 1) {
        refused_.fetch_add(1);  // no certificate, another CA's, or not TLS at all
        ERR_clear_error();
        return;
    }
    FrameReader r;
    std::string err;
    while (!stop_.load()) {
        Frame f;
        if (!ssl_read_frame(ssl.get(), fd, r, f, 0, err, &stop_)) break;
        const Frame resp = handler_(f, UINT32_MAX);
        if (!ssl_write_all(ssl.get(), encode_frame(resp.json, resp.blob), err)) break;
    }
    SSL_shutdown(ssl.get());
}

TlsStream::~TlsStream() {
    if (ssl_) {
        SSL_shutdown(ssl_);
        SSL_free(ssl_);
    }
    if (fd_ >= 0) ::close(fd_);
}

bool TlsStream::connect(const std::string& host_port, const TlsFiles& files, std::string& error) {
    ctx_ = make_tls_context(false, files, error);
    if (!ctx_) return false;
    std::string host, port;
    if (!split_host_port(host_port, host, port)) {
        error = "'" + host_port + "': expected HOST:PORT";
        return false;
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
        error = host_port + ": cannot resolve";
        return false;
    }
    fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool ok = fd_ >= 0 && ::connect(fd_, res->ai_addr, res->ai_addrlen) == 0;
    ::freeaddrinfo(res);
    if (!ok) {
        error = host_port + ": " + std::strerror(errno);
        return false;
    }
    ssl_ = SSL_new(ctx_.get());
    SSL_set_fd(ssl_, fd_);
    // The server's certificate must name what we connected to.
    in_addr a4{};
    in6_addr a6{};
    if (::inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
        ::inet_pton(AF_INET6, host.c_str(), &a6) == 1)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
    else
        SSL_set1_host(ssl_, host.c_str());
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    if (SSL_connect(ssl_) != 1) {
        const long v = SSL_get_verify_result(ssl_);
        error = host_port + ": TLS handshake failed: " +
                (v != X509_V_OK ? std::string(X509_verify_cert_error_string(v)) : ssl_error());
        return false;
    }
    return true;
}

bool TlsStream::write(std::string_view bytes, std::string& error) {
    return ssl_write_all(ssl_, bytes, error);
}

bool TlsStream::read_frame(Frame& out, int timeout_ms, std::string& error) {
    FrameReader r;
    return ssl_read_frame(ssl_, fd_, r, out, timeout_ms, error);
}

}  // namespace sluice::control
