// A minimal HTTP/1.0 endpoint for scrapes and probes (Prometheus `/metrics`, `/health`): GET
// only, one short request per connection, answered and closed. Served by control::Listener:
// each connection on its own bounded thread with one deadline for the whole request and one
// for the answer, so a trickling or non-reading client holds only itself. Bind it to loopback
// or a management network: it has no authentication (docs/operations.md#threat-model).
#pragma once

#include <functional>
#include <string>

#include "control/protocol/listener.h"

namespace sluice::control {

struct HttpAnswer {
    int status = 200;
    std::string content_type = "text/plain; version=0.0.4";
    std::string body;
};

class HttpEndpoint {
  public:
    using Handler = std::function<HttpAnswer(const std::string& path)>;
    ~HttpEndpoint() { stop(); }
    // `listen` is ADDR:PORT (IPv4, e.g. 127.0.0.1:9477; port 0 picks one, see port()).
    // The handler runs on connection threads, possibly several at once.
    bool start(const std::string& listen, Handler handler, std::string& error,
               Limits limits = default_limits());
    void stop() { listener_.stop(); }
    uint16_t port() const { return port_; }
    const Listener& listener() const { return listener_; }
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
    void serve(Stream& s, const std::atomic<bool>& stop);
    Handler handler_;
    Listener listener_;
    uint16_t port_ = 0;
};

}  // namespace sluice::control
