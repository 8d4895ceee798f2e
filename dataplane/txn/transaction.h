// One request and its response, whatever framing carried them (HTTP/1.x today, HTTP/2 next):
// what LLM extraction, rules, account observations, enforcement and EVE records read. The
// framing stages (http/) fill it; nothing downstream looks at how the bytes were framed.
//
// Fixed-size: transactions live in per-session queues inside fixed pools, so every field is a
// bounded copy (credentials only as their keyed hash and masked hint, account/identity.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "account/identity.h"
#include "account/sketches.h"
#include "answer/answer_fallback.h"
#include "http/llm_extract.h"
#include "verdict/enforcement.h"
#include "verdict/verdict.h"

namespace sluice {

// Copies at most N bytes of `src` into a fixed field; returns the length kept.
template <size_t N>
uint8_t copy_bounded(char (&dst)[N], std::string_view src) {
    static_assert(N <= 255, "the length is a uint8_t");
    const size_t n = src.size() < N ? src.size() : N;
    std::memcpy(dst, src.data(), n);
    return static_cast<uint8_t>(n);
}

enum class HttpProtocol : uint8_t { Http10, Http11, Http2 };
std::string_view http_protocol_name(HttpProtocol p);  // "HTTP/1.0", "HTTP/1.1", "HTTP/2"

struct Transaction {
    static constexpr size_t kMaxExcerpt = 128;

    // Request.
    char method[12];
    char host[64];  // Host, or :authority
    char url[256];  // the target with secret query parameters masked
    char ua[128];
    uint8_t method_len = 0, host_len = 0, ua_len = 0;
    uint16_t url_len = 0;
    HttpProtocol protocol = HttpProtocol::Http11;
    uint32_t stream_id = 0;  // HTTP/2 stream; 0 for HTTP/1.x
    // The client's HTTP/2 framing fingerprint (Akamai format), kept by its connection, which
    // outlives the transaction; empty for HTTP/1.x.
    std::string_view client_fingerprint;
    bool head_request = false;
    bool connect = false;
    bool req_complete = false;
    bool req_truncated = false;
    bool req_over_cap = false;
    uint64_t req_body = 0;  // body bytes as sent

    // Response.
    char ctype[48];
    uint8_t ctype_len = 0;
    uint16_t status = 0;
    bool has_response = false;
    bool sse = false;
    bool resp_truncated = false;
    bool resp_over_cap = false;
    uint64_t resp_body = 0;

    // What the LLM request and answer said (http/llm_extract.h).
    bool llm = false;
    bool stream = false;
    http::LlmApi api = http::LlmApi::Unknown;
    char model[48];
    char excerpt[kMaxExcerpt];
    uint8_t model_len = 0, excerpt_len = 0;
    int64_t max_tokens = -1;
    uint32_t tools = 0, messages = 0, prompt_bytes = 0;
    http::LlmUsage usage;

    // Who sent it and what it looked like: for the correlator and enforcement.
    account::AccountRef account;  // keyed hash and hint only
    uint64_t prompt_simhash = 0;
    account::PromptFrame prompt_frame;
    uint16_t hit_classes = 0;  // account::RuleClass bits of the alerts it raised
    uint64_t ja4_hash = 0;     // of the TLS session that carried it, 0 if none

    // A decision that stopped this request (verdict/request_enforcer.h).
    Verdict enforced = Verdict::Pass;
    EnforceTarget enforced_target = EnforceTarget::Account;
    uint16_t enforced_status = 0;

    // Whoever stopped it (a decision or a rule): what the client was sent instead.
    enum class Answer : uint8_t { None, Http, Reset };
    Answer answer = Answer::None;
    AnswerFallback answer_fallback = AnswerFallback::Configured;  // Reset: why
    uint16_t answer_status = 0;                                   // Http: 403 or 429
    uint32_t retry_after_s = 0;                                   // Http 429
    bool stopped_by_rule = false;  // a rule's drop/reject verdict (not a decision)
    // Set by the framing stage: responses to earlier requests not complete yet (pipelining).
    uint8_t earlier_in_flight = 0;
    // Names the request in its answer and records ("req_" + 20 hex; request_id.h).
    uint64_t request_tag = 0;

    std::string_view method_view() const { return {method, method_len}; }
    std::string_view host_view() const { return {host, host_len}; }
    std::string_view url_view() const { return {url, url_len}; }
    std::string_view ua_view() const { return {ua, ua_len}; }
    std::string_view ctype_view() const { return {ctype, ctype_len}; }
    std::string_view model_view() const { return {model, model_len}; }
    std::string_view excerpt_view() const { return {excerpt, excerpt_len}; }
};

}  // namespace sluice
