#include "control/protocol/http_request.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cctype>

namespace sluice::control {

namespace http = boost::beast::http;

namespace {
std::string lower(std::string_view s) {
    std::string o(s);
    std::transform(o.begin(), o.end(), o.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return o;
}
int hex_value(char c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
}  // namespace

int read_http_request(Stream& s, Deadline d, const std::atomic<bool>& stop,
                      const HttpReadLimits& limits, HttpRequest& out) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_head));
    parser.body_limit(limits.max_body);
    parser.eager(true);
    std::string pending;  // bytes read but not yet consumed by the parser
    char buf[2048];
    bool any = false;
    while (!parser.is_done()) {
        size_t n = 0;
        const Io io = s.read_some(buf, sizeof buf, n, d, &stop);
        if (io == Io::Timeout) return any ? 408 : 0;
        if (io != Io::Ok) return 0;
        any = true;
        pending.append(buf, n);
        boost::beast::error_code ec;
        const size_t used = parser.put(boost::asio::buffer(pending.data(), pending.size()), ec);
        pending.erase(0, used);
        if (ec == http::error::need_more) {
            if (pending.size() > limits.max_head + limits.max_body) return 413;
            continue;
        }
        if (ec == http::error::header_limit) return 431;
        if (ec == http::error::body_limit) return 413;
        if (ec) return 400;
    }
    const auto& msg = parser.get();
    out.method.assign(msg.method_string().data(), msg.method_string().size());
    out.target.assign(msg.target().data(), msg.target().size());
    const size_t q = out.target.find('?');
    out.path = out.target.substr(0, q);
    out.query = q == std::string::npos ? std::string() : out.target.substr(q + 1);
    for (const auto& f : msg) {
        const auto name = f.name_string();
        std::string& v = out.headers[lower(std::string_view(name.data(), name.size()))];
        if (!v.empty()) v += ", ";
        v.append(f.value().data(), f.value().size());
    }
    out.body = msg.body();
    out.keep_alive = msg.keep_alive();
    return 200;
}

std::string form_value(const std::string& encoded, const std::string& name) {
    size_t at = 0;
    while (at <= encoded.size()) {
        size_t end = encoded.find('&', at);
        if (end == std::string::npos) end = encoded.size();
        const std::string_view pair(encoded.data() + at, end - at);
        const size_t eq = pair.find('=');
        if (pair.substr(0, eq) == name && eq != std::string_view::npos) {
            std::string v(pair.substr(eq + 1));
            std::replace(v.begin(), v.end(), '+', ' ');
            std::string out;
            for (size_t i = 0; i < v.size(); ++i) {
                if (v[i] == '%' && i + 2 < v.size() &&
                    std::isxdigit(static_cast<unsigned char>(v[i + 1])) &&
                    std::isxdigit(static_cast<unsigned char>(v[i + 2]))) {
                    out.push_back(
                        static_cast<char>(hex_value(v[i + 1]) * 16 + hex_value(v[i + 2])));
                    i += 2;
                } else {
                    out.push_back(v[i]);
                }
            }
            return out;
        }
        at = end + 1;
    }
    return {};
}

std::string cookie_value(const std::string& header, const std::string& name) {
    size_t at = 0;
    while (at < header.size()) {
        size_t end = header.find(';', at);
        if (end == std::string::npos) end = header.size();
        std::string_view c(header.data() + at, end - at);
        while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
        const size_t eq = c.find('=');
        if (eq != std::string_view::npos && c.substr(0, eq) == name)
            return std::string(c.substr(eq + 1));
        at = end + 1;
    }
    return {};
}

}  // namespace sluice::control
