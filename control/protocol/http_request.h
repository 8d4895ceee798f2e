// One HTTP/1.x request read from a Stream for the control plane's small HTTP endpoints
// (/metrics, the dashboard), parsed by Boost.Beast's request parser fed by hand (no Asio):
// the head is bounded, the body too, and the whole request shares one deadline.
#pragma once

#include <atomic>
#include <map>
#include <string>

#include "control/protocol/stream.h"

namespace sluice::control {

struct HttpRequest {
    std::string method;                          // "GET", "POST", ...
    std::string target;                          // path and query as sent
    std::string path;                            // target up to '?'
    std::string query;                           // after '?', raw
    std::map<std::string, std::string> headers;  // names lower-cased; repeated ones joined ", "
    std::string body;
    bool keep_alive = false;

    const std::string* header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? nullptr : &it->second;
    }
};

struct HttpReadLimits {
    size_t max_head = 8192;
    size_t max_body = 4096;
};

// Reads and parses one request. On failure: 0 when the connection ended, timed out before a
// byte or was stopped (say nothing), else the HTTP status to answer (400, 408, 413, 431).
int read_http_request(Stream& s, Deadline d, const std::atomic<bool>& stop,
                      const HttpReadLimits& limits, HttpRequest& out);

// The value of `name` in an application/x-www-form-urlencoded body or query ("" if absent).
std::string form_value(const std::string& encoded, const std::string& name);
// The value of cookie `name` in a Cookie header ("" if absent).
std::string cookie_value(const std::string& header, const std::string& name);

}  // namespace sluice::control
