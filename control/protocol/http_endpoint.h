// A minimal HTTP/1.0 endpoint for scrapes and probes (Prometheus `/metrics`, `/health`): one
// thread, GET only, one short request per connection, answered and closed. Bind it to
// loopback or a management network: it has no authentication.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

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
    bool start(const std::string& listen, Handler handler, std::string& error);
    void stop();
    uint16_t port() const { return port_; }

  private:
    void run();
    void serve(int fd);
    Handler handler_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

}  // namespace sluice::control
