#include "control/protocol/http_endpoint.h"

#include <sys/socket.h>

#include <array>

#include "control/protocol/tcp_listen.h"

namespace sluice::control {

namespace {
constexpr std::array<std::pair<int, const char*>, 12> kReasons = {{
    {200, "OK"},
    {303, "See Other"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {413, "Content Too Large"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {503, "Service Unavailable"},
}};

const char* reason(int status) {
    for (const auto& [s, r] : kReasons)
        if (s == status) return r;
    return "Error";
}
}  // namespace

std::string http_answer_text(const HttpAnswer& a) {
    std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) +
                      "\r\nContent-Type: " + a.content_type +
                      "\r\nContent-Length: " + std::to_string(a.body.size()) + "\r\n";
    for (const auto& [k, v] : a.headers) out += k + ": " + v + "\r\n";
    out += "Connection: close\r\n\r\n";
    out += a.body;
    return out;
}

bool HttpEndpoint::start(const std::string& listen, Handler handler, std::string& error,
                         Limits limits) {
    const int fd = listen_tcp(listen, port_, error);
    if (fd < 0) return false;
    handler_ = [h = std::move(handler)](const HttpRequest& r, const Peer&) {
        if (r.method != "GET") return HttpAnswer{405, "text/plain", "GET only\n", {}};
        return h(r.path);
    };
    listener_.start(
        fd, limits, [](int c) { return tcp_peer(c); },
        [](int c, Peer&) -> std::unique_ptr<Stream> { return std::make_unique<FdStream>(c); },
        [this](Stream& s, const Peer& p, const std::atomic<bool>& stop) { serve(s, p, stop); },
        [](int c, const Peer&, const std::string&) {
            const std::string busy = http_answer_text({503, "text/plain", "busy\n", {}});
            [[maybe_unused]] const ssize_t n =
                ::send(c, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        });
    return true;
}

bool HttpEndpoint::start_tls(const std::string& listen, std::shared_ptr<SSL_CTX> tls,
                             RequestHandler handler, std::string& error, Limits limits) {
    const int fd = listen_tcp(listen, port_, error);
    if (fd < 0) return false;
    tls_ = std::move(tls);
    handler_ = std::move(handler);
    listener_.start(
        fd, limits, [](int c) { return tcp_peer(c); },
        [this](int c, Peer& p) -> std::unique_ptr<Stream> {
            auto s = std::make_unique<SslStream>(tls_, c);
            if (s->handshake(true, {}, Deadline::in_ms(listener_.limits().handshake_ms)) !=
                Io::Ok) {
                handshakes_failed_.fetch_add(1, std::memory_order_relaxed);
                return nullptr;
            }
            add_certificate(p, s->ssl());
            return s;
        },
        [this](Stream& s, const Peer& p, const std::atomic<bool>& stop) { serve(s, p, stop); },
        // Over a limit: closed before any handshake (a TLS answer would need one).
        [](int, const Peer&, const std::string&) {});
    return true;
}

void HttpEndpoint::serve(Stream& s, const Peer& peer, const std::atomic<bool>& stop) {
    const Limits& lim = listener_.limits();
    HttpRequest req;
    // The whole request under one deadline, not per byte.
    const int status = read_http_request(s, Deadline::in_ms(lim.request_ms), stop, {}, req);
    HttpAnswer a;
    if (status == 0) return;
    if (status != 200)
        a = {status, "text/plain", "bad request\n", {}};
    else
        a = handler_(req, peer);
    s.write_all(http_answer_text(a), Deadline::in_ms(lim.write_ms));
}

}  // namespace sluice::control
