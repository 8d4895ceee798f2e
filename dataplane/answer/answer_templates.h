// What a client whose request sluice stops is told: the HTTP answer (403 for a block, 429 over
// a rate limit) in the error format of the API the request was for. Loaded from a YAML file
// next to the policy (rules/policy/answers.yaml is shipped); the style is chosen per path
// prefix. Nothing in an answer comes from the client: its only variable parts are the
// request id sluice made and the retry-after figure from the token bucket.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class AnswerStyle : uint8_t { Anthropic, OpenAi, Plain };
std::string_view answer_style_name(AnswerStyle s);
std::optional<AnswerStyle> answer_style_from_name(std::string_view n);

// One stopped request's facts the answer states.
struct AnswerFacts {
    uint16_t status = 403;        // 403 (block) or 429 (rate limit)
    uint32_t retry_after_s = 0;   // 429: whole seconds until the bucket admits again
    std::string_view request_id;  // also in the request's EVE records
    std::string_view path;        // the request target: chooses the style (never echoed)
};

class AnswerTemplates {
  public:
    static constexpr size_t kMaxMessage = 400;
    // The largest answer build() writes (head and body).
    static constexpr size_t kMaxAnswer = 1400;

    // The built-in templates (the same as the shipped answers.yaml).
    AnswerTemplates();
    // Parses YAML text; nullopt and `err` ("file:line:col: what") when it is not valid.
    static std::optional<AnswerTemplates> parse(std::string_view text, const std::string& source,
                                                std::string& err);

    AnswerStyle style_for(std::string_view path) const;
    // Writes the whole HTTP/1.1 answer into `out`; returns its length (0: `out` too small).
    size_t build_http1(const AnswerFacts& facts, std::span<char> out) const;
    // The JSON body alone (the HTTP/2 answer's DATA); returns its length (0: too small).
    size_t build_body(const AnswerFacts& facts, std::span<char> out) const;
    // The request-id header's name in the chosen style (request-id / x-request-id).
    static std::string_view request_id_header(AnswerStyle s);

  private:
    struct Route {
        std::string prefix;
        AnswerStyle style;
    };
    AnswerStyle default_style_ = AnswerStyle::Anthropic;
    std::vector<Route> routes_;                       // longest prefix first
    std::string block_message_, rate_limit_message_;  // JSON-escaped at load time
};

}  // namespace sluice
