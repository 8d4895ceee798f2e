#include "control/protocol/http_endpoint.h"

#include <sys/socket.h>

#include "control/protocol/tcp_listen.h"

namespace sluice::control {

namespace {
std::string answer_text(const HttpAnswer& a) {
    const char* reason = a.status == 200   ? "OK"
                         : a.status == 404 ? "Not Found"
                         : a.status == 405 ? "Method Not Allowed"
                         : a.status == 408 ? "Request Timeout"
                         : a.status == 503 ? "Service Unavailable"
                                           : "Error";
    return "HTTP/1.0 " + std::to_string(a.status) + " " + reason +
           "\r\nContent-Type: " + a.content_type +
           "\r\nContent-Length: " + std::to_string(a.body.size()) +
           "\r\nConnection: close\r\n\r\n" + a.body;
}
}  // namespace

bool HttpEndpoint::start(const std::string& listen, Handler handler, std::string& error,
                         Limits limits) {
    const int fd = listen_tcp(listen, port_, error);
    if (fd < 0) return false;
    handler_ = std::move(handler);
    listener_.start(
        fd, limits, [](int c) { return tcp_peer(c); },
        [](int c, Peer&) -> std::unique_ptr<Stream> { return std::make_unique<FdStream>(c); },
        [this](Stream& s, const Peer&, const std::atomic<bool>& stop) { serve(s, stop); },
        [](int c, const Peer&, const std::string&) {
            const std::string busy = answer_text({503, "text/plain", "busy\n"});
            [[maybe_unused]] const ssize_t n =
                ::send(c, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        });
    return true;
}

void HttpEndpoint::serve(Stream& s, const std::atomic<bool>& stop) {
    const Limits& lim = listener_.limits();
    const Deadline d = Deadline::in_ms(lim.request_ms);  // the whole request, not per byte
    std::string req;
    char buf[1024];
    while (req.find("\r\n\r\n") == std::string::npos) {
        if (req.size() > 8192) {
            s.write_all(answer_text({431, "text/plain", "request head too large\n"}),
                        Deadline::in_ms(lim.write_ms));
            return;
        }
        size_t n = 0;
        const Io io = s.read_some(buf, sizeof buf, n, d, &stop);
        if (io == Io::Timeout) {
            s.write_all(answer_text({408, "text/plain", "request timeout\n"}),
                        Deadline::in_ms(lim.write_ms));
            return;
        }
        if (io != Io::Ok) return;
        req.append(buf, n);
    }
    HttpAnswer a;
    const size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos || req.compare(0, sp1, "GET") != 0)
        a = {405, "text/plain", "GET only\n"};
    else
        a = handler_(req.substr(sp1 + 1, sp2 - sp1 - 1));
    s.write_all(answer_text(a), Deadline::in_ms(lim.write_ms));
}

}  // namespace sluice::control
