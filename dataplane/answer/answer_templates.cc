#include "answer/answer_templates.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace sluice {

namespace {

constexpr std::array<std::string_view, 3> kStyleNames = {"anthropic", "openai", "plain"};

constexpr std::string_view kDefaultBlock =
    "This request was blocked by the provider's abuse protection. If you believe this is a "
    "mistake, contact support and quote the request id.";
constexpr std::string_view kDefaultRateLimit =
    "Too many requests for this account. Retry after the number of seconds in the retry-after "
    "header.";

struct ConfigError {
    std::string text;
};

[[noreturn]] void fail(const std::string& source, const YAML::Node& n, const std::string& what) {
    throw ConfigError{source + ":" + std::to_string(n.Mark().line + 1) + ":" +
                      std::to_string(n.Mark().column + 1) + ": " + what};
}

// Operator text made safe for a JSON string: control characters refused, quotes and
// backslashes escaped, bytes >= 0x80 passed through (YAML gave valid UTF-8).
std::optional<std::string> json_escaped(std::string_view s) {
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) return std::nullopt;
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(ch);
    }
    return out;
}

struct Writer {
    std::span<char> out;
    size_t n = 0;
    bool ok = true;
    void put(std::string_view s) {
        if (!ok || n + s.size() > out.size()) {
            ok = false;
            return;
        }
        std::memcpy(out.data() + n, s.data(), s.size());
        n += s.size();
    }
    void num(uint64_t v) {
        char b[24];
        const int k = std::snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(v));
        put({b, static_cast<size_t>(k)});
    }
};

std::string_view reason_phrase(uint16_t status) {
    return status == 429 ? "Too Many Requests" : "Forbidden";
}

}  // namespace

std::string_view answer_style_name(AnswerStyle s) {
    return kStyleNames[static_cast<size_t>(s)];
}

std::optional<AnswerStyle> answer_style_from_name(std::string_view n) {
    for (size_t i = 0; i < kStyleNames.size(); ++i)
        if (kStyleNames[i] == n) return static_cast<AnswerStyle>(i);
    return std::nullopt;
}

AnswerTemplates::AnswerTemplates()
    : routes_{{"/v1/chat/completions", AnswerStyle::OpenAi},
              {"/v1/completions", AnswerStyle::OpenAi},
              {"/v1/embeddings", AnswerStyle::OpenAi},
              {"/v1/responses", AnswerStyle::OpenAi},
              {"/v1/messages", AnswerStyle::Anthropic},
              {"/v1/complete", AnswerStyle::Anthropic}},
      block_message_(*json_escaped(kDefaultBlock)),
      rate_limit_message_(*json_escaped(kDefaultRateLimit)) {
    std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
        return a.prefix.size() > b.prefix.size();
    });
}

std::optional<AnswerTemplates> AnswerTemplates::parse(std::string_view text,
                                                      const std::string& source, std::string& err) {
    AnswerTemplates t;
    try {
        const YAML::Node root = YAML::Load(std::string(text));
        if (!root.IsMap()) fail(source, root, "answers must be a map (default, routes, messages)");
        auto style = [&](const YAML::Node& v) {
            const auto s = v.IsScalar() ? answer_style_from_name(v.Scalar()) : std::nullopt;
            if (!s) fail(source, v, "style must be anthropic, openai or plain");
            return *s;
        };
        auto message = [&](const YAML::Node& v) {
            if (!v.IsScalar() || v.Scalar().empty())
                fail(source, v, "a message is a non-empty string");
            if (v.Scalar().size() > kMaxMessage)
                fail(source, v, "a message is at most " + std::to_string(kMaxMessage) + " bytes");
            auto m = json_escaped(v.Scalar());
            if (!m) fail(source, v, "a message may not hold control characters");
            return *m;
        };
        for (const auto& kv : root) {
            const std::string key = kv.first.as<std::string>();
            const YAML::Node& v = kv.second;
            if (key == "default") {
                t.default_style_ = style(v);
            } else if (key == "routes") {
                if (!v.IsSequence()) fail(source, v, "routes must be a list");
                t.routes_.clear();
                for (const auto& r : v) {
                    if (!r.IsMap()) fail(source, r, "a route is {prefix: /path, style: NAME}");
                    Route route{"", AnswerStyle::Anthropic};
                    bool have_prefix = false, have_style = false;
                    for (const auto& f : r) {
                        const std::string k = f.first.as<std::string>();
                        if (k == "prefix") {
                            if (!f.second.IsScalar() || !f.second.Scalar().starts_with("/"))
                                fail(source, f.second,
                                     "a route's prefix is a path starting with /");
                            route.prefix = f.second.Scalar();
                            have_prefix = true;
                        } else if (k == "style") {
                            route.style = style(f.second);
                            have_style = true;
                        } else {
                            fail(source, f.first,
                                 "unknown key '" + k + "' in a route (prefix, style)");
                        }
                    }
                    if (!have_prefix || !have_style)
                        fail(source, r, "a route needs prefix and style");
                    t.routes_.push_back(std::move(route));
                }
            } else if (key == "messages") {
                if (!v.IsMap()) fail(source, v, "messages must be a map (block, rate_limit)");
                for (const auto& f : v) {
                    const std::string k = f.first.as<std::string>();
                    if (k == "block")
                        t.block_message_ = message(f.second);
                    else if (k == "rate_limit")
                        t.rate_limit_message_ = message(f.second);
                    else
                        fail(source, f.first, "unknown message '" + k + "' (block, rate_limit)");
                }
            } else {
                fail(source, kv.first, "unknown key '" + key + "' (default, routes, messages)");
            }
        }
    } catch (const ConfigError& e) {
        err = e.text;
        return std::nullopt;
    } catch (const YAML::Exception& e) {
        err = source + ":" + std::to_string(e.mark.line + 1) + ":" +
              std::to_string(e.mark.column + 1) + ": " + e.msg;
        return std::nullopt;
    }
    std::stable_sort(t.routes_.begin(), t.routes_.end(), [](const Route& a, const Route& b) {
        return a.prefix.size() > b.prefix.size();
    });
    return t;
}

AnswerStyle AnswerTemplates::style_for(std::string_view path) const {
    for (const Route& r : routes_)
        if (path.starts_with(r.prefix)) return r.style;
    return default_style_;
}

std::string_view AnswerTemplates::request_id_header(AnswerStyle s) {
    return s == AnswerStyle::OpenAi ? "x-request-id" : "request-id";
}

size_t AnswerTemplates::build_body(const AnswerFacts& a, std::span<char> out) const {
    const bool limited = a.status == 429;
    const std::string& msg = limited ? rate_limit_message_ : block_message_;
    Writer w{out};
    switch (style_for(a.path)) {
        case AnswerStyle::Anthropic:
            // As the Messages API reports errors.
            w.put(R"({"type":"error","error":{"type":")");
            w.put(limited ? "rate_limit_error" : "permission_error");
            w.put(R"(","message":")");
            w.put(msg);
            w.put(R"("},"request_id":")");
            w.put(a.request_id);
            w.put("\"}");
            break;
        case AnswerStyle::OpenAi:
            // As the Chat Completions and Responses APIs report errors.
            w.put(R"({"error":{"message":")");
            w.put(msg);
            w.put(R"(","type":")");
            w.put(limited ? "requests" : "request_forbidden");
            w.put(R"(","param":null,"code":")");
            w.put(limited ? "rate_limit_exceeded" : "request_blocked");
            w.put("\"}}");
            break;
        case AnswerStyle::Plain:
            w.put(R"({"error":{"status":)");
            w.num(a.status);
            w.put(R"(,"message":")");
            w.put(msg);
            w.put(R"(","request_id":")");
            w.put(a.request_id);
            w.put("\"}}");
            break;
    }
    return w.ok ? w.n : 0;
}

size_t AnswerTemplates::build_http1(const AnswerFacts& a, std::span<char> out) const {
    std::array<char, kMaxAnswer> body;
    const size_t blen = build_body(a, body);
    if (blen == 0) return 0;
    Writer w{out};
    w.put("HTTP/1.1 ");
    w.num(a.status);
    w.put(" ");
    w.put(reason_phrase(a.status));
    w.put("\r\ncontent-type: application/json\r\ncontent-length: ");
    w.num(blen);
    if (a.status == 429) {
        w.put("\r\nretry-after: ");
        w.num(std::max<uint32_t>(a.retry_after_s, 1));
    }
    w.put("\r\n");
    w.put(request_id_header(style_for(a.path)));
    w.put(": ");
    w.put(a.request_id);
    // The connection ends after the answer: sluice is the client's peer from here on.
    w.put("\r\nconnection: close\r\n\r\n");
    w.put({body.data(), blen});
    return w.ok ? w.n : 0;
}

}  // namespace sluice
