// A small HTTP/1.1 endpoint for scrapes, probes and the dashboard: one request per connection,
// answered and closed. Served by control::Listener: each connection on its own bounded thread
// with one deadline for the whole request and one for the answer, so a trickling or
// non-reading client holds only itself. Plain (Prometheus `/metrics`, `/health`: bind it to
// loopback or a management network, it has no authentication) or over TLS (the dashboard,
// whose handler authenticates; docs/operations.md#threat-model).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "control/protocol/http_request.h"
#include "control/protocol/listener.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace sluice::control {

struct HttpAnswer {
    int status = 200;
    std::string content_type = "text/plain; version=0.0.4";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra ones
};

class HttpEndpoint {
  public:
    using Handler = std::function<HttpAnswer(const std::string& path)>;
    using RequestHandler = std::function<HttpAnswer(const HttpRequest&, const Peer&)>;
    ~HttpEndpoint() { stop(); }
    // `listen` is ADDR:PORT (IPv4, e.g. 127.0.0.1:9477; port 0 picks one, see port()).
    // Handlers run on connection threads, possibly several at once.
    // Plain HTTP, GET only (anything else is answered 405).
    bool start(const std::string& listen, Handler handler, std::string& error,
               Limits limits = default_limits());
    // HTTPS with `tls` (a server context; the peer carries a verified client certificate's
    // names when the context asked for one), every method.
    bool start_tls(const std::string& listen, std::shared_ptr<SSL_CTX> tls, RequestHandler handler,
                   std::string& error, Limits limits = default_limits());
    void stop() { listener_.stop(); }
    uint16_t port() const { return port_; }
    const Listener& listener() const { return listener_; }
    uint64_t handshakes_failed() const { return handshakes_failed_.load(); }
    static Limits default_limits() {
        Limits l;
        l.max_connections = 16;
        l.max_per_peer = 8;
        l.request_ms = 5000;
        l.idle_ms = 5000;
        l.write_ms = 5000;
        return l;
    }

  private:
    void serve(Stream& s, const Peer& peer, const std::atomic<bool>& stop);
    RequestHandler handler_;
    std::shared_ptr<SSL_CTX> tls_;
    Listener listener_;
    uint16_t port_ = 0;
    std::atomic<uint64_t> handshakes_failed_{0};
};

// The bytes of an answer (status line, headers, body; Connection: close).
std::string http_answer_text(const HttpAnswer& a);

}  // namespace sluice::control
