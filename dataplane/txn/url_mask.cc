#include "txn/url_mask.h"

#include <algorithm>
#include <cstring>

#include "http/http_head.h"

namespace sluice {

namespace {

// Query parameters whose values are credentials; their values never reach a log.
bool secret_param(std::string_view name) {
    for (std::string_view s : {"key", "api_key", "apikey", "api-key", "access_token", "token",
                               "auth", "sig", "signature", "password", "secret", "session"})
        if (http::iequals(name, s)) return true;
    return false;
}

}  // namespace

size_t masked_url(std::span<char> dst, std::string_view target) {
    size_t n = 0;
    auto put = [&](std::string_view s) {
        const size_t k = std::min(s.size(), dst.size() - n);
        std::memcpy(dst.data() + n, s.data(), k);
        n += k;
    };
    const size_t q = target.find('?');
    put(target.substr(0, q));
    if (q == std::string_view::npos) return n;
    put("?");
    std::string_view query = target.substr(q + 1);
    bool first = true;
    while (true) {
        const size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        if (!first) put("&");
        first = false;
        const size_t eq = pair.find('=');
        if (eq != std::string_view::npos && secret_param(pair.substr(0, eq))) {
            put(pair.substr(0, eq + 1));
            put("REDACTED");
        } else {
            put(pair);
        }
        if (amp == std::string_view::npos) break;
        query = query.substr(amp + 1);
    }
    return n;
}

}  // namespace sluice
