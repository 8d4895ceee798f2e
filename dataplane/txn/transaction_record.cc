#include "txn/transaction_record.h"

#include <array>

#include "txn/request_id.h"

namespace sluice {

std::string_view http_protocol_name(HttpProtocol p) {
    static constexpr std::array<std::string_view, 3> kNames = {"HTTP/1.0", "HTTP/1.1", "HTTP/2"};
    const auto i = static_cast<size_t>(p);
    return i < kNames.size() ? kNames[i] : "unknown";
}

namespace {

void write_account(JsonBuilder& j, const Transaction& t) {
    if (!t.account.present()) return;
    j.object("account")
        .field("id", t.account.id_view())
        .field("hint", t.account.hint_view())
        .field("source", account::source_name(t.account.source))
        .end_object();
}

void write_http(JsonBuilder& j, const Transaction& t, bool with_response) {
    j.object("http");
    if (t.host_len) j.field("hostname", t.host_view());
    j.field("url", t.url_view());
    if (t.ua_len) j.field("http_user_agent", t.ua_view());
    if (with_response && t.ctype_len) j.field("http_content_type", t.ctype_view());
    j.field("http_method", t.method_view()).field("protocol", http_protocol_name(t.protocol));
    if (with_response && t.status) j.field("status", t.status);
    if (with_response) j.field("length", t.resp_body);
    j.field("request_length", t.req_body);
    if (t.protocol == HttpProtocol::Http2) {
        j.object("http2").field("stream_id", t.stream_id);
        if (!t.client_fingerprint.empty()) j.field("fingerprint", t.client_fingerprint);
        j.end_object();
    }
    j.end_object();
}

void write_llm(JsonBuilder& j, const Transaction& t) {
    j.object("llm")
        .field("api", http::llm_api_name(t.api))
        .field("model", t.model_view())
        .field("stream", t.stream)
        .field("tools", t.tools)
        .field("messages", t.messages)
        .field("prompt_bytes", t.prompt_bytes);
    if (t.max_tokens >= 0) j.field("max_tokens", t.max_tokens);
    if (t.excerpt_len) j.field("prompt_excerpt", t.excerpt_view());
    if (t.usage.any()) {
        j.object("usage");
        if (t.usage.input_tokens >= 0) j.field("input_tokens", t.usage.input_tokens);
        if (t.usage.output_tokens >= 0) j.field("output_tokens", t.usage.output_tokens);
        j.end_object();
    }
    j.end_object();
}

void write_ja4(JsonBuilder& j, std::string_view ja4) {
    // The JA4 of the TLS session that carried the transaction (decrypted flows).
    if (!ja4.empty()) j.object("tls").field("ja4", ja4).end_object();
}

// What stopped the request and what its client was sent (docs/detection.md).
void write_enforcement(JsonBuilder& j, const Flow& f, const Transaction& t) {
    j.object("enforcement");
    if (t.enforced != Verdict::Pass)
        j.field("action", verdict_name(t.enforced))
            .field("target", enforce_target_name(t.enforced_target))
            .field("http_status", t.enforced_status);
    else
        j.field("action", verdict_name(f.verdict.verdict)).field("source", "rule");
    if (t.answer != Transaction::Answer::None) {
        j.field("request_id", request_id_text(t.request_tag).view());
        j.object("answer");
        if (t.answer == Transaction::Answer::Http) {
            j.field("kind", "http").field("status", t.answer_status);
            if (t.answer_status == 429) j.field("retry_after", t.retry_after_s);
        } else {
            j.field("kind", "reset").field("fallback", answer_fallback_name(t.answer_fallback));
        }
        j.end_object();
    }
    j.end_object();
}

}  // namespace

void TransactionAlertContext::write(JsonBuilder& j) const {
    write_http(j, t_, response_);
    write_account(j, t_);
    write_ja4(j, ja4_);
}

void TransactionAlertContext::write_sluice(JsonBuilder& j) const {
    if (t_.llm || t_.usage.any()) write_llm(j, t_);
    // The id a stopped request's answer carries (the client can quote it).
    if (!response_) j.field("request_id", request_id_text(t_.request_tag).view());
}

void write_transaction_record(EveEmitter& eve, const Flow& f, const Transaction& t,
                              std::string_view ja4) {
    JsonBuilder& j = eve.begin(f, "http");
    write_http(j, t, t.has_response);
    write_account(j, t);
    write_ja4(j, ja4);
    if (t.llm || t.usage.any() || t.req_over_cap || t.resp_over_cap || t.req_truncated ||
        t.resp_truncated || t.sse || t.enforced != Verdict::Pass ||
        t.answer != Transaction::Answer::None) {
        j.object("sluice");
        if (t.llm || t.usage.any()) write_llm(j, t);
        if (t.sse) j.field("sse", true);
        if (t.req_over_cap) j.field("request_body_over_cap", true);
        if (t.resp_over_cap) j.field("response_body_over_cap", true);
        if (t.req_truncated) j.field("request_truncated", true);
        if (t.resp_truncated) j.field("response_truncated", true);
        if (t.enforced != Verdict::Pass || t.answer != Transaction::Answer::None)
            write_enforcement(j, f, t);
        j.end_object();
    }
    eve.finish();
}

}  // namespace sluice
