// What sluice reads out of LLM API bodies: from requests (Anthropic /v1/messages,
// OpenAI-compatible /v1/chat/completions and /v1/responses) the model, max_tokens, stream
// flag, tool count, the user-turn text (llm.prompt: string contents, text blocks, tool_result
// and function_call_output text, in order, joined by '\n') and the system text (llm.system);
// from responses (one JSON document or one SSE event at a time) the token usage.
//
// Parsing is simdjson On-Demand over the caller's padded buffer; JSON escapes (\n, \", \uXXXX
// with surrogate pairs) are decoded by simdjson. Text beyond the configured cap is cut and
// counted. One extractor per worker; after construction nothing allocates for documents up
// to the capacity it was built for.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace sluice::http {

// simdjson reads up to this many bytes past a document's end: buffers handed to the
// extractor must have them allocated (their content does not matter).
constexpr size_t kJsonPadding = 64;

enum class LlmApi : uint8_t { Unknown, AnthropicMessages, OpenAiChat, OpenAiResponses };
std::string_view llm_api_name(LlmApi a);

struct LlmRequest {
    bool parsed = false;  // a JSON object with an LLM request shape
    LlmApi api = LlmApi::Unknown;
    std::string_view model;  // views into the extractor's buffers, valid until the next parse
    std::string_view prompt;
    std::string_view system;
    int64_t max_tokens = -1;
    bool stream = false;
    uint32_t tools = 0;
    uint32_t messages = 0;
    bool prompt_truncated = false;
};

struct LlmUsage {
    int64_t input_tokens = -1;
    int64_t output_tokens = -1;
    bool any() const { return input_tokens >= 0 || output_tokens >= 0; }
    // Later reports replace earlier ones field by field (SSE sends cumulative counts).
    void merge(const LlmUsage& u) {
        if (u.input_tokens >= 0) input_tokens = u.input_tokens;
        if (u.output_tokens >= 0) output_tokens = u.output_tokens;
    }
};

class LlmExtractor {
  public:
    // max_document: the largest body handed in; text_cap: bytes kept of prompt and system.
    LlmExtractor(size_t max_document, size_t text_cap);
    ~LlmExtractor();
    LlmExtractor(const LlmExtractor&) = delete;
    LlmExtractor& operator=(const LlmExtractor&) = delete;

    // `buf` holds the body in its first `len` bytes and has kJsonPadding more allocated.
    // `path` (the request target) picks the API when the body alone does not say.
    LlmRequest parse_request(std::span<const char> buf, size_t len, std::string_view path);
    // One JSON document (a whole response body or one SSE event's data).
    bool parse_usage(std::span<const char> buf, size_t len, LlmUsage& out);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::http
