#include "txn/transaction_stage.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "account/sketches.h"
#include "txn/request_id.h"
#include "txn/transaction_record.h"

namespace sluice {

using rules::Buffer;
using rules::BufferSet;
using rules::InspectPoint;

namespace {

std::string_view json_start(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    return s.substr(i);
}

// Finds `"usage": {...}` in the tail of a long JSON body and copies it as a document of its
// own ({"usage":{...}}) into out; returns its length, or 0.
size_t usage_from_tail(std::string_view tail, std::span<char> out) {
    const size_t k = tail.rfind("\"usage\"");
    if (k == std::string_view::npos) return 0;
    size_t i = tail.find('{', k + 7);
    if (i == std::string_view::npos) return 0;
    const size_t start = i;
    int depth = 0;
    bool in_str = false;
    for (; i < tail.size(); ++i) {
        const char c = tail[i];
        if (in_str) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') in_str = true;
        if (c == '{') ++depth;
        if (c == '}' && --depth == 0) break;
    }
    if (i >= tail.size()) return 0;
    const std::string_view obj = tail.substr(start, i - start + 1);
    constexpr std::string_view kOpen = "{\"usage\":";
    if (kOpen.size() + obj.size() + 1 + http::kJsonPadding > out.size()) return 0;
    std::memcpy(out.data(), kOpen.data(), kOpen.size());
    std::memcpy(out.data() + kOpen.size(), obj.data(), obj.size());
    out[kOpen.size() + obj.size()] = '}';
    return kOpen.size() + obj.size() + 1;
}

}  // namespace

TransactionStage::TransactionStage(EveEmitter& eve, const http::HttpOptions& opts,
                                   RuleInspector* rules, const account::IdentityOptions& identity,
                                   const FlowTable* flows)
    : eve_(eve),
      opts_(opts),
      rules_(rules),
      llm_(std::make_unique<http::LlmExtractor>(opts.body_cap + kBodySide, opts.body_cap)),
      identity_(identity),
      observer_(identity.client_claims),
      flows_(flows),
      ja4_(flows != nullptr ? flows->capacity() : 0),
      usage_scratch_(kBodySide + 32 + http::kJsonPadding),
      header_names_(kHeaderNamesCap),
      header_lines_(kHeaderLinesCap) {
    opts_.prompt_excerpt = std::min<uint32_t>(opts_.prompt_excerpt, Transaction::kMaxExcerpt);
}

TransactionStage::~TransactionStage() = default;

std::string_view TransactionStage::header_names(std::span<const http::Header> headers) {
    // "\r\n" before each name and one more at the end, as Suricata builds it; a name that does
    // not fit whole is left out with all after it, and the closing "\r\n" still ends the buffer.
    char* out = header_names_.data();
    size_t n = 0;
    const size_t room = header_names_.size() - 4;
    for (const http::Header& h : headers) {
        if (n + 2 + h.name.size() > room) break;
        out[n++] = '\r';
        out[n++] = '\n';
        std::memcpy(out + n, h.name.data(), h.name.size());
        n += h.name.size();
    }
    std::memcpy(out + n, "\r\n\r\n", 4);
    return {out, n + 4};
}

std::string_view TransactionStage::header_lines(std::span<const http::Header> headers) {
    char* out = header_lines_.data();
    size_t n = 0;
    for (const http::Header& h : headers) {
        const size_t need = (n > 0 ? 2 : 0) + h.name.size() + 2 + h.value.size();
        if (n + need > header_lines_.size()) break;
        if (n > 0) {
            std::memcpy(out + n, "\r\n", 2);
            n += 2;
        }
        std::memcpy(out + n, h.name.data(), h.name.size());
        n += h.name.size();
        std::memcpy(out + n, ": ", 2);
        n += 2;
        std::memcpy(out + n, h.value.data(), h.value.size());
        n += h.value.size();
    }
    return {out, n};
}

void TransactionStage::on_client_hello(Flow& f, const tls::ClientHello&,
                                       const tls::Fingerprints& fp) {
    if (flows_ == nullptr) return;
    Ja4Slot& slot = ja4_[flows_->index_of(f)];
    slot.flow_id = f.flow_id;
    slot.len = static_cast<uint8_t>(std::min(fp.ja4.size(), slot.ja4.size()));
    std::memcpy(slot.ja4.data(), fp.ja4.data(), slot.len);
}

std::string_view TransactionStage::ja4_of(const Flow& f) const {
    if (flows_ == nullptr) return {};
    const Ja4Slot& slot = ja4_[flows_->index_of(f)];
    if (slot.flow_id != f.flow_id || slot.len == 0) return {};
    return {slot.ja4.data(), slot.len};
}

void TransactionStage::on_request(Flow& f, Transaction& t, MessageView& req,
                                  TransactionAnomalies& anomalies) {
    MessageBodyView& b = req.body;
    const bool stopped_before = f.verdict.stops_flow();
    t.request_tag = request_tag(request_salt_, worker_, requests_++);
    BufferSet bufs;
    bufs.set(Buffer::HttpMethod, req.method);
    bufs.set(Buffer::HttpUri, req.target);
    bufs.set(Buffer::HttpHeader, req.header_block);
    bufs.http2 = req.http2;
    if (req.http2 != nullptr) bufs.set(Buffer::Http2HeaderName, req.header_names);
    // The buffers only some rule sets read are built only when the set in force reads them
    // (every request passes here, rules or not).
    auto wanted = [&](Buffer which) { return rules_ != nullptr && rules_->uses(which); };
    if (wanted(Buffer::HttpHeaderNames))
        bufs.set(Buffer::HttpHeaderNames, header_names(req.headers));
    if (wanted(Buffer::HttpRequestHeader))
        bufs.set(Buffer::HttpRequestHeader, header_lines(req.headers));
    if (!req.start_line.empty()) {
        bufs.set(Buffer::HttpRequestLine, req.start_line);
        bufs.set(Buffer::HttpStart, req.head);
        std::string_view proto = req.start_line.substr(req.start_line.find_last_of(" \t") + 1);
        if (proto.starts_with("HTTP/")) bufs.set(Buffer::HttpProtocol, proto);
    }
    // Single header values, when the header is there (absent otherwise, as in Suricata).
    static constexpr std::pair<std::string_view, Buffer> kValueBuffers[] = {
        {"content-length", Buffer::HttpContentLen},
        {"content-type", Buffer::HttpContentType},
        {"accept", Buffer::HttpAccept},
        {"accept-encoding", Buffer::HttpAcceptEnc},
        {"accept-language", Buffer::HttpAcceptLang},
        {"referer", Buffer::HttpReferer},
        {"connection", Buffer::HttpConnection},
    };
    for (const auto& [name, buffer] : kValueBuffers)
        if (wanted(buffer))
            if (const http::Header* x = req.find(name)) bufs.set(buffer, x->value);
    if (const http::Header* x = req.find("host"))
        bufs.set(Buffer::HttpHost, x->value);
    else if (!req.authority.empty())
        bufs.set(Buffer::HttpHost, req.authority);
    if (const http::Header* x = req.find("user-agent")) bufs.set(Buffer::HttpUserAgent, x->value);
    if (const http::Header* x = req.find("cookie")) bufs.set(Buffer::HttpCookie, x->value);
    t.account =
        identity_.identify(req.headers, req.target, b.present ? b.kept() : std::string_view());
    if (t.account.ambiguous || t.account.repeated)
        anomalies.transaction_anomaly(f, Dir::ToServer, http::Anomaly::MultipleCredentials);
    std::string_view prompt;  // valid until the body buffer is released
    if (b.present) {
        const std::string_view body = b.kept();
        bufs.set(Buffer::HttpRequestBody, body);
        if (b.json || json_start(body).starts_with("{")) {
            if (b.overflow) {
                ++ctr_.llm_truncated;  // a cut JSON document cannot be read
            } else {
                const http::LlmRequest r = llm_->parse_request(b.buf, b.len, req.target);
                if (r.parsed) {
                    ++ctr_.llm_requests;
                    if (r.prompt_truncated) ++ctr_.llm_truncated;
                    t.llm = true;
                    t.api = r.api;
                    t.model_len = copy_bounded(t.model, r.model);
                    t.max_tokens = r.max_tokens;
                    t.stream = r.stream;
                    t.tools = r.tools;
                    t.messages = r.messages;
                    t.prompt_bytes = static_cast<uint32_t>(r.prompt.size());
                    if (opts_.prompt_excerpt > 0)
                        t.excerpt_len = static_cast<uint8_t>(std::min<size_t>(
                            {r.prompt.size(), opts_.prompt_excerpt, sizeof t.excerpt}));
                    std::memcpy(t.excerpt, r.prompt.data(), t.excerpt_len);
                    bufs.set(Buffer::LlmPrompt, r.prompt);
                    // Only the correlator reads it: no hashing when accounts are off.
                    prompt = r.prompt;
                    bufs.set(Buffer::LlmSystem, r.system);
                    bufs.set(Buffer::LlmModel, r.model);
                }
            }
        }
    }
    if (rules_ != nullptr) {
        TransactionAlertContext ctx(t, false, ja4_of(f));
        const uint32_t streams[1] = {b.stream};
        const size_t n = b.stream != rules::Matcher::kNoStream ? 1 : 0;
        b.stream = rules::Matcher::kNoStream;  // ended by the inspection
        rules_->inspect(f, Dir::ToServer, InspectPoint::Request, bufs, &ctx, {streams, n});
        t.hit_classes |= rules_->last_hit_classes();
    }
    if (const std::string_view ja4 = ja4_of(f); !ja4.empty()) t.ja4_hash = account::hash_item(ja4);
    // Only the correlator reads prompt signatures, and by default only of flagged requests:
    // ordinary traffic pays nothing for them. Long prompts are signed on their first 8 KiB
    // (templates sit at the start) and their frame (first and last tokens).
    using PS = http::HttpOptions::PromptSignatures;
    if (observer_.active() && !prompt.empty() &&
        (opts_.prompt_signatures == PS::All ||
         (opts_.prompt_signatures == PS::Flagged && t.hit_classes != 0))) {
        t.prompt_simhash = account::simhash(prompt.substr(0, 8192));
        t.prompt_frame = account::prompt_frame(prompt);
    }
    switch (enforcer_.apply(f, t, eve_.now().ns)) {
        case RequestEnforcer::Outcome::Admitted:
            ++ctr_.rate_limit_admitted;
            break;
        case RequestEnforcer::Outcome::RateLimited:
            ++ctr_.enforced_rate_limit;
            break;
        case RequestEnforcer::Outcome::Blocked:
            ++ctr_.enforced_block;
            break;
        case RequestEnforcer::Outcome::None:
            break;
    }
    if (!stopped_before && f.verdict.stops_flow()) answer_stopped(f, t, req.target);
}

void TransactionStage::answer_stopped(Flow& f, Transaction& t, std::string_view target) {
    t.stopped_by_rule = t.enforced == Verdict::Pass;
    // A decision says its status (0: reset); a rule's drop or reject is a block.
    const uint16_t status = t.stopped_by_rule ? 403 : t.enforced_status;
    if (answers_ == nullptr) return;
    const RequestIdText id = request_id_text(t.request_tag);
    StoppedRequest r;
    r.facts.status = status;
    r.facts.retry_after_s = t.retry_after_s;
    r.facts.request_id = id.view();
    r.facts.path = target;
    r.earlier_in_flight = t.earlier_in_flight;
    r.http2 = t.protocol == HttpProtocol::Http2;
    r.stream_id = t.stream_id;
    if (const auto why = answers_->open(f, r, eve_.now().ns)) {
        t.answer = Transaction::Answer::Reset;
        t.answer_fallback = *why;
    } else {
        t.answer = Transaction::Answer::Http;
        t.answer_status = status;
    }
}

void TransactionStage::on_response(Flow& f, Transaction& t, MessageView& resp) {
    MessageBodyView& b = resp.body;
    std::string_view body;
    if (b.present) {
        body = b.kept();
        if (!b.sse && (b.json || json_start(body).starts_with("{"))) {
            if (!b.overflow) {
                if (llm_->parse_usage(b.buf, b.len, t.usage)) ++ctr_.usage_reports;
            } else {
                const size_t n =
                    usage_from_tail({b.buf.data() + opts_.body_cap, b.side_len}, usage_scratch_);
                if (n > 0 && llm_->parse_usage(usage_scratch_, n, t.usage)) ++ctr_.usage_reports;
            }
        }
    }
    if (rules_ != nullptr && b.stream != rules::Matcher::kNoStream &&
        !rules_->inspects(InspectPoint::Response)) {
        rules_->discard_body_stream(b.stream);
        b.stream = rules::Matcher::kNoStream;
    }
    if (rules_ != nullptr && rules_->inspects(InspectPoint::Response)) {
        char status[4];
        std::snprintf(status, sizeof status, "%03u", static_cast<unsigned>(t.status % 1000));
        BufferSet bufs;
        bufs.http2 = resp.http2;
        bufs.set(Buffer::HttpStatCode, std::string_view(status, 3));
        if (b.present) bufs.set(Buffer::HttpResponseBody, body);
        if (!resp.start_line.empty()) {
            bufs.set(Buffer::HttpResponseLine, resp.start_line);
            // "HTTP/1.1 200 OK": the reason follows the code and its separator (if any).
            const std::string_view line = resp.start_line;
            const bool sep = line.size() > 12 && (line[12] == ' ' || line[12] == '\t');
            bufs.set(Buffer::HttpStatMsg,
                     line.size() > 12 ? line.substr(sep ? 13 : 12) : std::string_view());
        }
        if (const http::Header* x = resp.find("server")) bufs.set(Buffer::HttpServer, x->value);
        if (const http::Header* x = resp.find("location")) bufs.set(Buffer::HttpLocation, x->value);
        if (rules_->uses(Buffer::HttpResponseHeader))
            bufs.set(Buffer::HttpResponseHeader, header_lines(resp.headers));
        TransactionAlertContext ctx(t, true, ja4_of(f));
        const uint32_t streams[1] = {b.stream};
        const size_t n = b.stream != rules::Matcher::kNoStream ? 1 : 0;
        b.stream = rules::Matcher::kNoStream;
        rules_->inspect(f, Dir::ToClient, InspectPoint::Response, bufs, &ctx, {streams, n});
        t.hit_classes |= rules_->last_hit_classes();
    }
}

void TransactionStage::on_event(Transaction& t, std::span<char> buf, size_t len) {
    if (llm_->parse_usage(buf, len, t.usage)) ++ctr_.usage_reports;
}

void TransactionStage::on_complete(Flow& f, Transaction& t) {
    ++ctr_.transactions;
    if (answers_ != nullptr && t.has_response) answers_->on_response_complete(f);
    observer_.observe(f, t, ja4_of(f), eve_.now().ns, eve_.seq());
    if (eve_.enabled() && opts_.eve_http) write_transaction_record(eve_, f, t, ja4_of(f));
}

}  // namespace sluice
