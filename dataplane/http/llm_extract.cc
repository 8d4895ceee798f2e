#include "http/llm_extract.h"

#include <simdjson.h>

#include <cstring>
#include <new>
#include <string>

namespace sluice::http {

namespace dom = simdjson::dom;

std::string_view llm_api_name(LlmApi a) {
    switch (a) {
        case LlmApi::Unknown:
            return "unknown";
        case LlmApi::AnthropicMessages:
            return "anthropic.messages";
        case LlmApi::OpenAiChat:
            return "openai.chat_completions";
        case LlmApi::OpenAiResponses:
            return "openai.responses";
    }
    return "?";
}

namespace {

// Appends text to a fixed buffer, '\n' between parts; remembers truncation.
struct TextSink {
    std::span<char> buf;
    size_t len = 0;
    bool truncated = false;
    bool any = false;
    void add(std::string_view s) {
        if (any) put("\n");
        any = true;
        put(s);
    }
    void put(std::string_view s) {
        const size_t n = std::min(s.size(), buf.size() - len);
        std::memcpy(buf.data() + len, s.data(), n);
        len += n;
        if (n < s.size()) truncated = true;
    }
    std::string_view view() const { return {buf.data(), len}; }
};

// Text of a content value: a string, or an array of blocks whose text counts:
// {type:"text"|"input_text", text}, {type:"tool_result", content}, {output}.
void content_text(dom::element v, TextSink& out, int depth = 0) {
    std::string_view s;
    if (!v.get_string().get(s)) {
        out.add(s);
        return;
    }
    dom::array arr;
    if (depth > 4 || v.get_array().get(arr)) return;
    for (dom::element el : arr) {
        dom::object block;
        if (el.get_object().get(block)) continue;
        for (auto [key, fv] : block) {
            if (key == "text") {
                if (!fv.get_string().get(s)) out.add(s);
            } else if (key == "content" || key == "output") {
                content_text(fv, out, depth + 1);
            }
        }
    }
}

// One message (chat) or input item (responses): its role decides where its text goes.
void message_text(dom::object msg, TextSink& prompt, TextSink& system) {
    std::string_view role, type;
    if (msg["role"].get_string().get(role)) role = {};
    if (msg["type"].get_string().get(type)) type = {};
    const bool user = role == "user" || role == "tool" || type == "function_call_output";
    const bool sys = role == "system" || role == "developer";
    if (!user && !sys) return;
    for (auto [key, v] : msg)
        if (key == "content" || key == "output") content_text(v, sys ? system : prompt);
}

void read_usage(dom::element v, LlmUsage& u) {
    dom::object obj;
    if (v.get_object().get(obj)) return;
    for (auto [key, fv] : obj) {
        int64_t n;
        if (key == "input_tokens" || key == "prompt_tokens") {
            if (!fv.get_int64().get(n)) u.input_tokens = n;
        } else if (key == "output_tokens" || key == "completion_tokens") {
            if (!fv.get_int64().get(n)) u.output_tokens = n;
        }
    }
}

}  // namespace

struct LlmExtractor::Impl {
    dom::parser parser;
    std::vector<char> prompt, system;
    char model[128];
};

LlmExtractor::LlmExtractor(size_t max_document, size_t text_cap) : impl_(std::make_unique<Impl>()) {
    // Sized once: parse() with realloc disabled never allocates for documents up to this.
    if (impl_->parser.allocate(max_document + kJsonPadding) != simdjson::SUCCESS)
        throw std::bad_alloc();
    impl_->prompt.resize(text_cap);
    impl_->system.resize(text_cap);
}

LlmExtractor::~LlmExtractor() = default;

LlmRequest LlmExtractor::parse_request(std::span<const char> buf, size_t len,
                                       std::string_view path) {
    LlmRequest out;
    if (len + kJsonPadding > buf.size() || len > impl_->parser.capacity()) return out;
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) ++i;
    if (i == len || buf[i] != '{') return out;
    Impl& m = *impl_;
    dom::element doc;
    if (m.parser.parse(buf.data(), len, false).get(doc)) return out;
    dom::object root;
    if (doc.get_object().get(root)) return out;

    TextSink prompt{m.prompt};
    TextSink system{m.system};
    size_t model_len = 0;
    bool shape = false, has_input = false, has_system = false;
    for (auto [key, v] : root) {
        if (key == "model") {
            std::string_view s;
            if (!v.get_string().get(s)) {
                model_len = std::min(s.size(), sizeof m.model);
                std::memcpy(m.model, s.data(), model_len);
            }
        } else if (key == "max_tokens" || key == "max_completion_tokens" ||
                   key == "max_output_tokens") {
            int64_t n;
            if (!v.get_int64().get(n)) out.max_tokens = n;
        } else if (key == "stream") {
            bool b;
            if (!v.get_bool().get(b)) out.stream = b;
        } else if (key == "tools" || key == "functions") {
            dom::array arr;
            if (!v.get_array().get(arr)) out.tools += static_cast<uint32_t>(arr.size());
        } else if (key == "system") {
            has_system = true;
            content_text(v, system);
        } else if (key == "instructions") {
            has_input = true;
            std::string_view s;
            if (!v.get_string().get(s)) system.add(s);
        } else if (key == "messages" || key == "input") {
            if (key == "input") has_input = true;
            shape = true;
            std::string_view s;
            if (!v.get_string().get(s)) {
                prompt.add(s);
                ++out.messages;
                continue;
            }
            dom::array arr;
            if (v.get_array().get(arr)) continue;
            for (dom::element el : arr) {
                dom::object msg;
                if (el.get_object().get(msg)) continue;
                ++out.messages;
                message_text(msg, prompt, system);
            }
        }
    }
    if (!shape) return out;
    out.parsed = true;
    out.model = std::string_view(m.model, model_len);
    out.prompt = prompt.view();
    out.system = system.view();
    out.prompt_truncated = prompt.truncated || system.truncated;
    if (has_input || path.find("/responses") != std::string_view::npos)
        out.api = LlmApi::OpenAiResponses;
    else if (has_system || path.find("/messages") != std::string_view::npos)
        out.api = LlmApi::AnthropicMessages;
    else
        out.api = LlmApi::OpenAiChat;
    return out;
}

bool LlmExtractor::parse_usage(std::span<const char> buf, size_t len, LlmUsage& out) {
    if (len + kJsonPadding > buf.size() || len > impl_->parser.capacity()) return false;
    dom::element doc;
    if (impl_->parser.parse(buf.data(), len, false).get(doc)) return false;
    dom::object root;
    if (doc.get_object().get(root)) return false;
    LlmUsage u;
    for (auto [key, v] : root) {
        if (key == "usage") {
            read_usage(v, u);
        } else if (key == "message" || key == "response") {
            // Anthropic message_start {message:{usage}}; OpenAI response.completed
            // {response:{usage}}
            dom::element inner;
            if (!v["usage"].get(inner)) read_usage(inner, u);
        }
    }
    if (!u.any()) return false;
    out.merge(u);
    return true;
}

}  // namespace sluice::http
