// HTTP stage: head parsing, framing at every split point, smuggling shapes, bodies (chunked,
// gzip, deflate), LLM extraction and usage, and the stage inside the pipeline with rules.
#include <gtest/gtest.h>
#include <zlib.h>

#include <map>
#include <set>

#include "http/http_framer.h"
#include "http/http_head.h"
#include "http/llm_extract.h"
#include "pipeline_harness.h"
#include "rules/rule_set.h"
#include "support/gzip.h"

using namespace sluice;
using namespace sluice::http;
using namespace sluice::testing;

namespace {

// Records every framing event as text, so two runs can be compared.
struct RecordingSink final : MessageSink {
    std::string log;
    char head[16384];
    std::map<std::string, Framing> framing_for;  // start line -> framing to use
    std::span<char> head_buffer(Flow&, Dir) override { return head; }
    Framing on_head(Flow&, Dir d, std::string_view h) override {
        // Appended piece by piece: GCC 12 warns falsely on the chained operator+ (bug 105329).
        log.append("H")
            .append(std::to_string(static_cast<int>(d)))
            .append("[")
            .append(h)
            .append("]");
        const std::string line(h.substr(0, h.find('\r')));
        if (auto it = framing_for.find(line); it != framing_for.end()) return it->second;
        // Default: parse like a real server would.
        MessageHead mh;
        HeadError err;
        if (d == Dir::ToServer ? !parse_request_head(h, mh, err) : !parse_response_head(h, mh, err))
            return {Framing::Stop, 0};
        if (d == Dir::ToClient && mh.status < 200) return {Framing::None, 0};
        if (const Header* te = mh.find("transfer-encoding"); te && has_token(te->value, "chunked"))
            return {Framing::Chunked, 0};
        if (const Header* cl = mh.find("content-length"))
            return {Framing::Length, std::stoull(std::string(cl->value))};
        return {d == Dir::ToServer ? Framing::None : Framing::UntilClose, 0};
    }
    void on_body(Flow&, Dir, std::span<const uint8_t> b) override {
        body.append(reinterpret_cast<const char*>(b.data()), b.size());
    }
    void on_message_end(Flow&, Dir d, bool truncated) override {
        log += "B[" + body + "]E" + std::to_string(static_cast<int>(d)) + (truncated ? "T" : "");
        body.clear();
    }
    void on_anomaly(Flow&, Dir, Anomaly a) override {
        log += "A[" + std::string(anomaly_name(a)) + "]";
    }
    std::string body;
};

std::string frame_all(const std::string& stream, Dir d, size_t split, bool close = false,
                      bool lenient = false) {
    Flow f;
    FramerState st;
    RecordingSink sink;
    MessageFramer fr(16384, lenient);
    auto bytes = craft::bytes(stream);
    if (split == 0 || split >= stream.size()) {
        fr.feed(f, d, st, bytes, sink);
    } else {
        fr.feed(f, d, st, std::span<const uint8_t>(bytes).first(split), sink);
        fr.feed(f, d, st, std::span<const uint8_t>(bytes).subspan(split), sink);
    }
    if (close) fr.end(f, d, st, sink);
    return sink.log;
}

std::string frame_bytewise(const std::string& stream, Dir d, bool close = false) {
    Flow f;
    FramerState st;
    RecordingSink sink;
    MessageFramer fr(16384);
    for (char c : stream)
        fr.feed(f, d, st, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&c), 1), sink);
    if (close) fr.end(f, d, st, sink);
    return sink.log;
}

}  // namespace

TEST(HttpHead, ParsesRequestAndResponse) {
    MessageHead h;
    HeadError err;
    const std::string req =
        "POST /v1/messages?beta=1 HTTP/1.1\r\nHost: api.example\r\nX-Api-Key:  sk-x \r\n"
        "Content-Length: 2\r\n\r\n";
    ASSERT_EQ(find_head_end(req), req.size());
    ASSERT_TRUE(parse_request_head(req, h, err));
    EXPECT_EQ(h.method, "POST");
    EXPECT_EQ(h.target, "/v1/messages?beta=1");
    EXPECT_EQ(h.header_count, 3u);
    EXPECT_EQ(h.find("x-api-key")->value, "sk-x");
    EXPECT_EQ(h.find("HOST")->value, "api.example");
    EXPECT_EQ(h.header_block.substr(0, 18), "Host: api.example\r");
    const std::string resp = "HTTP/1.0 429 Too Many Requests\nRetry-After: 3\n\n";
    ASSERT_TRUE(parse_response_head(resp, h, err));
    EXPECT_EQ(h.status, 429);
    EXPECT_EQ(h.version_minor, 0);
    EXPECT_EQ(h.reason, "Too Many Requests");
}

TEST(HttpHead, ToleratesWhatServersAcceptAndSaysWhat) {
    struct Case {
        std::string head;
        uint16_t quirks;
        std::string_view target;  // parsed request target
        std::string_view field;   // first header's name ("" if none)
        std::string_view value;   // and value
    } cases[] = {
        {"GET  / HTTP/1.1\r\n\r\n", kQuirkRequestLine, "/", "", ""},
        {"GET\t/v1/messages HTTP/1.1\r\n\r\n", kQuirkRequestLine, "/v1/messages", "", ""},
        {"GET / HTTP/1.7\r\n\r\n", kQuirkVersion, "/", "", ""},
        {"GET /\x01 HTTP/1.1\r\n\r\n", kQuirkRequestLine, "/\x01", "", ""},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", kQuirkNameWhitespace, "/", "Host", "x"},
        {"GET / HTTP/1.1\r\nX@Y: v\r\n\r\n", kQuirkHeaderName, "/", "X@Y", "v"},
        {std::string("GET / HTTP/1.1\r\nX: a\0"
                     "b\r\n\r\n",
                     26),
         kQuirkHeaderValue, "/", "X",
         std::string_view("a\0"
                          "b",
                          3)},
        {"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", kQuirkObsFold, "/", "X", "a\r\n folded"},
        {"GET / HTTP/1.1\r\nnocolon\r\nX: 1\r\n\r\n", kQuirkNoColon, "/", "X", "1"},
        {"GET / HTTP/1.1\nHost: lf-only\n\n", 0, "/", "Host", "lf-only"},
    };
    for (auto& c : cases) {
        MessageHead h;
        HeadError err;
        ASSERT_TRUE(parse_request_head(c.head, h, err)) << c.head << " " << head_error_name(err);
        EXPECT_EQ(h.quirks, c.quirks) << c.head;
        EXPECT_EQ(h.method, "GET");
        EXPECT_EQ(h.target, c.target) << c.head;
        if (c.field.empty()) {
            EXPECT_EQ(h.header_count, 0u) << c.head;
        } else {
            ASSERT_GE(h.header_count, 1u) << c.head;
            EXPECT_EQ(h.headers[0].name, c.field) << c.head;
            EXPECT_EQ(h.headers[0].value, c.value) << c.head;
        }
    }
    MessageHead h;
    HeadError err;
    // Responses: no reason, a reason glued to the code, a tab, another version.
    ASSERT_TRUE(parse_response_head("HTTP/1.1 200\r\n\r\n", h, err));
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.quirks, 0);
    ASSERT_TRUE(parse_response_head("HTTP/1.1 200OK\r\n\r\n", h, err));
    EXPECT_EQ(h.quirks, kQuirkStatusLine);
    EXPECT_EQ(h.reason, "OK");
    ASSERT_TRUE(parse_response_head("HTTP/1.1\t404 Not Found\r\n\r\n", h, err));
    EXPECT_EQ(h.status, 404);
    EXPECT_EQ(h.quirks, kQuirkStatusLine);
    ASSERT_TRUE(parse_response_head("HTTP/1.2 204 No Content\r\n\r\n", h, err));
    EXPECT_EQ(h.quirks, kQuirkVersion);
    // A fold continues the value across lines; the field keeps its own quirk.
    ASSERT_TRUE(
        parse_request_head("GET / HTTP/1.1\r\nA: 1\r\nB: x\r\n\ty\r\n \r\nC: 3\r\n\r\n", h, err));
    ASSERT_EQ(h.header_count, 3u);
    EXPECT_EQ(h.headers[1].value, "x\r\n\ty");
    EXPECT_EQ(h.headers[1].quirks, kQuirkObsFold);
    EXPECT_EQ(h.headers[0].quirks, 0);
    EXPECT_EQ(h.headers[2].value, "3");
}

TEST(HttpHead, RejectsWhatIsNoHead) {
    struct Case {
        std::string head;
        HeadError err;
    } cases[] = {
        {"GET /\r\n\r\n", HeadError::BadRequestLine},
        {"GET / x HTTP/1.1\r\n\r\n", HeadError::BadRequestLine},
        {"G(T / HTTP/1.1\r\n\r\n", HeadError::BadRequestLine},
        {"GET / FTP/1.1\r\n\r\n", HeadError::BadVersion},
        {"\x16\x03\x01\x02\x00\x01\r\n\r\n", HeadError::BadRequestLine},
    };
    for (auto& c : cases) {
        MessageHead h;
        HeadError err;
        EXPECT_FALSE(parse_request_head(c.head, h, err)) << c.head;
        EXPECT_EQ(err, c.err) << c.head;
    }
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    many += "\r\n";
    MessageHead h;
    HeadError err;
    EXPECT_FALSE(parse_request_head(many, h, err));
    EXPECT_EQ(err, HeadError::TooManyHeaders);
    EXPECT_FALSE(parse_response_head("HTTP/1.1 20 OK\r\n\r\n", h, err));
    EXPECT_FALSE(parse_response_head("SIP/2.0 200 OK\r\n\r\n", h, err));
    // Every truncated prefix of a valid head is "not complete yet", never a crash.
    const std::string ok = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (size_t n = 0; n < ok.size(); ++n)
        EXPECT_EQ(find_head_end(std::string_view(ok).substr(0, n)), std::string_view::npos) << n;
}

TEST(HttpFramer, IdenticalAtEverySplitAndByteByByte) {
    const std::string requests =
        "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nchunk\r\n0A\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
        "GET /d HTTP/1.1\r\n\r\n";
    const std::string whole = frame_all(requests, Dir::ToServer, 0);
    EXPECT_EQ(whole,
              "H0[GET /a HTTP/1.1\r\nHost: x\r\n\r\n]B[]E0"
              "H0[POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\n]B[hello]E0"
              "H0[POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n]B[chunk0123456789]E0"
              "H0[GET /d HTTP/1.1\r\n\r\n]B[]E0");
    for (size_t k = 1; k < requests.size(); ++k)
        ASSERT_EQ(frame_all(requests, Dir::ToServer, k), whole) << "split at " << k;
    EXPECT_EQ(frame_bytewise(requests, Dir::ToServer), whole);

    const std::string responses =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
        "Content-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n\r\nuntil close";
    const std::string r_whole = frame_all(responses, Dir::ToClient, 0, true);
    EXPECT_NE(r_whole.find("B[until close]E1"), std::string::npos) << r_whole;
    for (size_t k = 1; k < responses.size(); ++k)
        ASSERT_EQ(frame_all(responses, Dir::ToClient, k, true), r_whole) << "split at " << k;
}

TEST(HttpFramer, BadChunksAndLongHeadsStopTheDirection) {
    EXPECT_NE(frame_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc",
                        Dir::ToServer, 0)
                  .find("A[bad_chunk_size]"),
              std::string::npos);
    EXPECT_NE(frame_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
                        Dir::ToServer, 0)
                  .find("A[bad_chunk_terminator]"),
              std::string::npos);
    // A chunk size that would overflow 64 bits is refused, not wrapped.
    EXPECT_NE(
        frame_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\n",
                  Dir::ToServer, 0)
            .find("A[bad_chunk_size]"),
        std::string::npos);
    std::string big =
        "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    const std::string log = frame_all(big, Dir::ToServer, 0);
    EXPECT_NE(log.find("A[header_too_long]"), std::string::npos);
    EXPECT_EQ(log.find("H0["), std::string::npos);  // nothing parsed after losing framing
}

TEST(HttpFramer, LenientChunkSizesTakeTheDigitsStrictOnesStop) {
    const std::string stream =
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5 junk\r\nhello\r\n3z\r\nabc\r\n2 2\r\nxy\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
    for (size_t split = 0; split < stream.size(); ++split) {
        const std::string lenient = frame_all(stream, Dir::ToServer, split, false, true);
        EXPECT_NE(lenient.find("B[helloabcxy]E0"), std::string::npos) << split << lenient;
        EXPECT_NE(lenient.find("H0[GET /next"), std::string::npos) << split;
        size_t junk = 0;
        for (size_t at = lenient.find("A[chunk_size_junk]"); at != std::string::npos;
             at = lenient.find("A[chunk_size_junk]", at + 1))
            ++junk;
        EXPECT_EQ(junk, 3u) << split;
        const std::string strict = frame_all(stream, Dir::ToServer, split);
        EXPECT_NE(strict.find("A[bad_chunk_size]"), std::string::npos) << split;
        EXPECT_EQ(strict.find("H0[GET /next"), std::string::npos) << split;
    }
    // Junk before any digit is no size for anyone.
    EXPECT_NE(frame_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc",
                        Dir::ToServer, 0, false, true)
                  .find("A[bad_chunk_size]"),
              std::string::npos);
}

TEST(HttpFramer, GapInsideBodyKeepsFramingElsewhereStops) {
    Flow f;
    FramerState st;
    RecordingSink sink;
    MessageFramer fr(16384);
    fr.feed(f, Dir::ToServer, st,
            craft::bytes(std::string("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")), sink);
    fr.gap(f, Dir::ToServer, st, 4, sink);
    fr.feed(f, Dir::ToServer, st, craft::bytes(std::string("cdefGET /n HTTP/1.1\r\n\r\n")), sink);
    EXPECT_NE(sink.log.find("B[abcdef]E0"), std::string::npos) << sink.log;
    EXPECT_NE(sink.log.find("H0[GET /n HTTP/1.1"), std::string::npos) << sink.log;
    fr.gap(f, Dir::ToServer, st, 4, sink);  // between messages: framing is lost
    fr.feed(f, Dir::ToServer, st, craft::bytes(std::string("GET /lost HTTP/1.1\r\n\r\n")), sink);
    EXPECT_EQ(sink.log.find("/lost"), std::string::npos);
}

// --- LLM extraction -------------------------------------------------------------------------

namespace {
struct Padded {
    std::vector<char> buf;
    size_t len;
    explicit Padded(const std::string& s) : buf(s.size() + kJsonPadding), len(s.size()) {
        std::memcpy(buf.data(), s.data(), s.size());
    }
};
}  // namespace

TEST(LlmExtract, AnthropicMessages) {
    LlmExtractor x(1 << 16, 4096);
    Padded body(R"({"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,
      "system":[{"type":"text","text":"You are \"terse\"."}],
      "tools":[{"name":"a"},{"name":"b"}],
      "messages":[
        {"role":"user","content":"Think step by step:\nline two \u00e9 \ud83d\ude00"},
        {"role":"assistant","content":[{"type":"text","text":"NOT USER"}]},
        {"content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"tool out"}]},
                    {"type":"text","text":"and more"}],"role":"user"}]})");
    const LlmRequest r = x.parse_request(body.buf, body.len, "/v1/messages");
    ASSERT_TRUE(r.parsed);
    EXPECT_EQ(r.api, LlmApi::AnthropicMessages);
    EXPECT_EQ(r.model, "claude-sonnet-4-5");
    EXPECT_EQ(r.max_tokens, 1024);
    EXPECT_TRUE(r.stream);
    EXPECT_EQ(r.tools, 2u);
    EXPECT_EQ(r.messages, 3u);
    EXPECT_EQ(r.system, "You are \"terse\".");
    EXPECT_EQ(r.prompt,
              "Think step by step:\nline two \xC3\xA9 \xF0\x9F\x98\x80\ntool out\nand more");
}

TEST(LlmExtract, OpenAiChatAndResponses) {
    LlmExtractor x(1 << 16, 4096);
    Padded chat(R"({"model":"gpt-4o","messages":[{"role":"system","content":"sys"},
      {"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"tool","content":"42"}],
      "max_completion_tokens":5})");
    LlmRequest r = x.parse_request(chat.buf, chat.len, "/v1/chat/completions");
    ASSERT_TRUE(r.parsed);
    EXPECT_EQ(r.api, LlmApi::OpenAiChat);
    EXPECT_EQ(r.system, "sys");
    EXPECT_EQ(r.prompt, "hi\n42");
    EXPECT_EQ(r.max_tokens, 5);
    Padded resp(R"({"model":"o3","instructions":"be brief","input":[
      {"role":"user","content":[{"type":"input_text","text":"q1"}]},
      {"type":"function_call_output","call_id":"c","output":"result"}]})");
    r = x.parse_request(resp.buf, resp.len, "/v1/responses");
    ASSERT_TRUE(r.parsed);
    EXPECT_EQ(r.api, LlmApi::OpenAiResponses);
    EXPECT_EQ(r.system, "be brief");
    EXPECT_EQ(r.prompt, "q1\nresult");
    Padded s(R"({"model":"o3","input":"just a string"})");
    r = x.parse_request(s.buf, s.len, "/v1/responses");
    EXPECT_EQ(r.prompt, "just a string");
    // Not LLM-shaped, not JSON, broken JSON, bad surrogate: no fields, no crash.
    for (const char* bad : {R"({"a":1})", "not json", R"({"messages":[)",
                            R"({"messages":[{"role":"user","content":"\ud83d"}]})"}) {
        Padded b(bad);
        EXPECT_FALSE(x.parse_request(b.buf, b.len, "/").parsed) << bad;
    }
}

TEST(LlmExtract, PromptCapIsCountedNotOverrun) {
    LlmExtractor x(1 << 16, 16);
    Padded b(R"({"messages":[{"role":"user","content":"0123456789abcdefghijklmnop"}]})");
    const LlmRequest r = x.parse_request(b.buf, b.len, "/v1/chat/completions");
    ASSERT_TRUE(r.parsed);
    EXPECT_EQ(r.prompt, "0123456789abcdef");
    EXPECT_TRUE(r.prompt_truncated);
}

TEST(LlmExtract, UsageFromJsonAndSseEvents) {
    LlmExtractor x(1 << 16, 64);
    LlmUsage u;
    Padded a(R"({"id":"m","usage":{"input_tokens":12,"output_tokens":34}})");
    ASSERT_TRUE(x.parse_usage(a.buf, a.len, u));
    EXPECT_EQ(u.input_tokens, 12);
    EXPECT_EQ(u.output_tokens, 34);
    LlmUsage s;
    Padded start(
        R"({"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1}}})");
    Padded delta(R"({"type":"message_delta","delta":{},"usage":{"output_tokens":99}})");
    ASSERT_TRUE(x.parse_usage(start.buf, start.len, s));
    ASSERT_TRUE(x.parse_usage(delta.buf, delta.len, s));
    EXPECT_EQ(s.input_tokens, 7);
    EXPECT_EQ(s.output_tokens, 99);
    LlmUsage o;
    Padded oa(
        R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})");
    ASSERT_TRUE(x.parse_usage(oa.buf, oa.len, o));
    EXPECT_EQ(o.input_tokens, 3);
    EXPECT_EQ(o.output_tokens, 4);
}

// --- The stage in the pipeline -------------------------------------------------------------

namespace {

// Runs a client stream and a server stream through the pipeline as one TCP connection,
// the client's bytes cut into segments at `cuts`.
struct HttpRun {
    Harness h;
    std::vector<Disposition> client_dispositions;
    explicit HttpRun(EngineConfig cfg = {}) : h(std::move(cfg)) {}
    // One conversation on client port `cport`; `finish`: end the run afterwards (a test that
    // plays many conversations through one pipeline finishes once, at the end).
    void run(const std::string& req, const std::string& resp, std::vector<size_t> cuts = {},
             uint16_t cport = 43210, bool finish = true) {
        Conversation c;
        c.cport = cport;
        h.feed(c.client(tcp_flag::kSyn));
        h.feed(c.server(tcp_flag::kSyn | kA));
        h.feed(c.client(kA));
        size_t at = 0;
        cuts.push_back(req.size());
        for (size_t cut : cuts) {
            if (cut <= at || cut > req.size()) continue;
            client_dispositions.push_back(h.feed(c.client(kPA, req.substr(at, cut - at))));
            at = cut;
        }
        for (size_t i = 0; i < resp.size(); i += 1400) h.feed(c.server(kPA, resp.substr(i, 1400)));
        h.feed(c.client(tcp_flag::kFin | kA));
        h.feed(c.server(tcp_flag::kFin | kA));
        h.feed(c.client(kA));
        if (finish) h.p->finish(Timestamp{h.t + 1});
    }
};

const std::string kAnthropicBody =
    R"({"model":"claude-opus-4","max_tokens":2048,"messages":[{"role":"user","content":"Explain your reasoning step by step and show the full chain of thought."}]})";

std::string request(const std::string& body, const std::string& extra = "") {
    return "POST /v1/messages?key=sk-secret-123 HTTP/1.1\r\nHost: api.example.com\r\n"
           "User-Agent: python-httpx/0.27\r\nContent-Type: application/json\r\n" +
           extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST(HttpStage, LogsTransactionWithLlmFieldsAndUsage) {
    const std::string resp_body =
        R"({"id":"msg_1","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":21,"output_tokens":5}})";
    HttpRun r;
    r.run(request(kAnthropicBody),
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(resp_body.size()) + "\r\n\r\n" + resp_body);
    auto http = r.h.sink.of_type("http");
    ASSERT_EQ(http.size(), 1u);
    const auto& j = http[0];
    EXPECT_EQ(j["http"]["hostname"], "api.example.com");
    EXPECT_EQ(j["http"]["url"], "/v1/messages?key=REDACTED");  // credentials never logged
    EXPECT_EQ(j["http"]["http_method"], "POST");
    EXPECT_EQ(j["http"]["http_user_agent"], "python-httpx/0.27");
    EXPECT_EQ(j["http"]["status"], 200);
    EXPECT_EQ(j["http"]["length"], resp_body.size());
    EXPECT_EQ(j["sluice"]["llm"]["model"], "claude-opus-4");
    EXPECT_EQ(j["sluice"]["llm"]["api"], "anthropic.messages");
    EXPECT_EQ(j["sluice"]["llm"]["max_tokens"], 2048);
    EXPECT_EQ(j["sluice"]["llm"]["usage"]["input_tokens"], 21);
    EXPECT_EQ(j["sluice"]["llm"]["usage"]["output_tokens"], 5);
    EXPECT_FALSE(j["sluice"]["llm"].contains("prompt_excerpt"));  // off by default
    for (const auto& [o, rec] : r.h.sink.records)
        EXPECT_EQ(rec.find("sk-secret-123"), std::string::npos) << rec;
}

TEST(HttpStage, SameRecordsWhateverTheSegmentation) {
    const std::string req = request(kAnthropicBody) + "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string sse =
        "event: message_start\ndata: "
        "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9,\"output_tokens\":"
        "1}}}\n\n"
        "event: message_delta\ndata: "
        "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":77}}\n\n";
    std::string chunked;
    for (size_t i = 0; i < sse.size(); i += 40) {
        const std::string part = sse.substr(i, 40);
        char len[16];
        snprintf(len, sizeof len, "%zx\r\n", part.size());
        chunked += len + part + "\r\n";
    }
    chunked += "0\r\n\r\n";
    const std::string resp =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunked + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    // What differs between conversations of one run: their time and client port.
    auto strip = [](std::vector<nlohmann::json> v) {
        for (auto& j : v)
            for (const char* k : {"timestamp", "src_port", "flow_id", "community_id"}) j.erase(k);
        return v;
    };
    HttpRun base;
    base.run(req, resp);
    const auto want = strip(base.h.sink.of_type("http"));
    ASSERT_EQ(want.size(), 2u);
    EXPECT_EQ(want[0]["sluice"]["llm"]["usage"]["input_tokens"], 9);
    EXPECT_EQ(want[0]["sluice"]["llm"]["usage"]["output_tokens"], 77);
    EXPECT_EQ(want[0]["sluice"]["sse"], true);
    EXPECT_EQ(want[1]["http"]["url"], "/v1/models");
    // Every cut through one pipeline, a conversation (client port) each: building a pipeline
    // per cut cost 38 s under ASan.
    HttpRun r;
    std::vector<size_t> cut_at;
    for (size_t k = 1; k < req.size(); k += 7) {
        r.run(req, resp, {k, k + 3}, static_cast<uint16_t>(20000 + cut_at.size()), false);
        cut_at.push_back(k);
    }
    r.h.p->finish(Timestamp{r.h.t + 1});
    std::map<uint16_t, std::vector<nlohmann::json>> by_port;
    for (const auto& j : r.h.sink.of_type("http"))
        by_port[j["src_port"].get<uint16_t>()].push_back(j);
    ASSERT_EQ(by_port.size(), cut_at.size());
    for (size_t i = 0; i < cut_at.size(); ++i)
        ASSERT_EQ(strip(by_port[static_cast<uint16_t>(20000 + i)]), want) << "cut at " << cut_at[i];
}

TEST(HttpStage, GzipAndDeflateBodiesAreDecoded) {
    const std::string usage =
        R"({"usage":{"input_tokens":1,"output_tokens":2},"pad":")" + std::string(3000, 'x') + "\"}";
    for (int mode = 0; mode < 3; ++mode) {
        const std::string z = deflate_bytes(usage, mode == 0   ? Wrapper::Gzip
                                                   : mode == 1 ? Wrapper::Zlib
                                                               : Wrapper::Raw);
        const std::string enc = mode == 0 ? "gzip" : "deflate";
        HttpRun r;
        r.run("GET / HTTP/1.1\r\nHost: a\r\n\r\n",
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: " + enc +
                  "\r\nContent-Length: " + std::to_string(z.size()) + "\r\n\r\n" + z);
        auto http = r.h.sink.of_type("http");
        ASSERT_EQ(http.size(), 1u);
        EXPECT_EQ(http[0]["sluice"]["llm"]["usage"]["output_tokens"], 2) << enc << mode;
        EXPECT_EQ(http[0]["http"]["length"], z.size());
    }
}

// Encoding tricks: a body declared gzip but sent plain, gzip applied twice, a coding stacked
// past the layer limit. The prompt rule sees the plain text whenever a server could.
TEST(HttpStage, StackedAndFalseContentEncodingsAreStillInspected) {
    EngineConfig base;
    base.rules = compile_test_rules(
        "alert http any any -> any any (llm.prompt; content:\"chain of thought\"; nocase; "
        "sid:7;)\n"
        "alert http any any -> any any (http.request_body; content:\"full chain of\"; sid:8;)\n");
    ASSERT_TRUE(base.rules);
    const std::string gz = deflate_bytes(kAnthropicBody, Wrapper::Gzip);
    struct Case {
        std::string name, encoding, body, anomaly;
        size_t alerts;
    } cases[] = {
        {"declared gzip, sent plain", "gzip", kAnthropicBody, "decompression_failed", 2},
        {"gzip twice", "gzip, gzip", deflate_bytes(gz, Wrapper::Gzip), "", 2},
        {"deflate then gzip", "deflate, gzip",
         deflate_bytes(deflate_bytes(kAnthropicBody, Wrapper::Zlib), Wrapper::Gzip), "", 2},
        {"identity in the list", "identity, gzip", gz, "", 2},
        {"three layers", "gzip, gzip, gzip",
         deflate_bytes(deflate_bytes(gz, Wrapper::Gzip), Wrapper::Gzip), "unsupported_encoding", 0},
        {"gzip twice declared, once applied", "gzip, gzip", gz, "decompression_failed", 1},
    };
    for (const Case& c : cases) {
        for (size_t cut : {size_t{0}, size_t{150}, size_t{171}}) {
            HttpRun r(base);
            const std::string req =
                "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                "Content-Encoding: " +
                c.encoding + "\r\nContent-Length: " + std::to_string(c.body.size()) + "\r\n\r\n" +
                c.body;
            r.run(req, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                  cut ? std::vector<size_t>{cut} : std::vector<size_t>{});
            EXPECT_EQ(r.h.sink.of_type("alert").size(), c.alerts) << c.name << " cut " << cut;
            const auto an = r.h.sink.of_type("anomaly");
            if (c.anomaly.empty()) {
                EXPECT_TRUE(an.empty()) << c.name;
            } else {
                ASSERT_EQ(an.size(), 1u) << c.name;
                EXPECT_EQ(an[0]["anomaly"]["event"], c.anomaly) << c.name;
            }
        }
    }
}

TEST(HttpStage, SmugglingShapeRaisesAnomalyAndPolicyDrops) {
    EngineConfig cfg;
    cfg.http.smuggling_verdict = Verdict::Drop;
    HttpRun r(cfg);
    r.run(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: "
        "chunked\r\n\r\n0\r\n\r\n",
        "");
    auto an = r.h.sink.of_type("anomaly");
    ASSERT_FALSE(an.empty());
    EXPECT_EQ(an[0]["anomaly"]["event"], "content_length_and_chunked");
    EXPECT_EQ(an[0]["anomaly"]["smuggling"], true);
    EXPECT_EQ(r.client_dispositions.back(), Disposition::Drop);
    EXPECT_EQ(r.h.p->http_counters().smuggling, 1u);
}

// The tolerance corpus: each malformation real peers send, in a request whose body carries
// a rule's pattern, cut at every split point. The body is inspected (the rule alerts), the
// malformation is an anomaly record marked recovered, and the answer is paired.
TEST(HttpStage, MalformedButServedRequestsAreStillInspected) {
    struct Case {
        std::string head;
        std::string anomaly;
    } cases[] = {
        {"POST  /v1/messages HTTP/1.1\r\nHost: a\r\n", "bad_request_line"},
        {"POST /v1/messages HTTP/1.3\r\nHost: a\r\n", "bad_version"},
        {"POST /v1/messages HTTP/1.1\r\nHost: a\r\nX-Trace : 1\r\n", "header_name_whitespace"},
        {"POST /v1/messages HTTP/1.1\r\nHost: a\r\nX[id]: 1\r\n", "bad_header_name"},
        {"POST /v1/messages HTTP/1.1\r\nHost: a\r\nX-Id: a\x01b\r\n", "bad_header_value"},
        {"POST /v1/messages HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n b\r\n", "obs_fold"},
        {"POST /v1/messages HTTP/1.1\r\nHost: a\r\njunk line\r\n", "header_without_colon"},
    };
    EngineConfig base;
    base.rules = compile_test_rules(
        "alert http any any -> any any (msg:\"CoT\"; llm.prompt; content:\"chain of thought\"; "
        "nocase; sid:7;)\n");
    ASSERT_TRUE(base.rules);
    for (const Case& c : cases) {
        const std::string req = c.head + "Content-Type: application/json\r\nContent-Length: " +
                                std::to_string(kAnthropicBody.size()) + "\r\n\r\n" + kAnthropicBody;
        for (size_t cut = 1; cut < req.size(); cut += 7) {
            HttpRun r(base);
            r.run(req, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", {cut});
            const auto alerts = r.h.sink.of_type("alert");
            ASSERT_EQ(alerts.size(), 1u) << c.anomaly << " cut " << cut;
            const auto an = r.h.sink.of_type("anomaly");
            ASSERT_EQ(an.size(), 1u) << c.anomaly << " cut " << cut;
            EXPECT_EQ(an[0]["anomaly"]["event"], c.anomaly);
            EXPECT_EQ(an[0]["anomaly"]["recovered"], true);
            const auto http = r.h.sink.of_type("http");
            ASSERT_EQ(http.size(), 1u);
            EXPECT_EQ(http[0]["http"]["status"], 200) << c.anomaly;
            EXPECT_EQ(r.h.p->http_counters().parse_stopped, 0u);
            EXPECT_EQ(r.h.p->http_counters().parse_recovered, 1u);
        }
    }
    // Responses: a status line without a reason, glued to its code, another version.
    for (const std::string status :
         {"HTTP/1.1 200\r\n", "HTTP/1.1 200OK\r\n", "HTTP/1.2 200 OK\r\n"}) {
        HttpRun r(base);
        r.run(request(kAnthropicBody), status + "Content-Length: 2\r\n\r\nok");
        const auto http = r.h.sink.of_type("http");
        ASSERT_EQ(http.size(), 1u) << status;
        EXPECT_EQ(http[0]["http"]["status"], 200) << status;
        EXPECT_EQ(http[0]["http"]["length"], 2) << status;
    }
}

// Response buffers: the status line, its reason (glued or absent), Server and Location.
TEST(HttpStage, ResponseLineReasonServerAndLocation) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (http.response_line; content:\"HTTP/1.1 302\"; "
        "startswith; sid:1;)\n"
        "alert http any any -> any any (http.stat_msg; content:\"Found\"; bsize:5; sid:2;)\n"
        "alert http any any -> any any (http.location; content:\"/login\"; sid:3;)\n"
        "alert http any any -> any any (http.server; content:\"nginx\"; sid:4;)\n"
        "alert http any any -> any any (http.stat_msg; bsize:0; sid:5;)\n");
    ASSERT_TRUE(cfg.rules);
    struct Case {
        std::string status_line;
        std::string headers;
        std::set<int> sids;
    } cases[] = {
        {"HTTP/1.1 302 Found", "Location: /login?next=/v1\r\nServer: nginx/1.22\r\n", {1, 2, 3, 4}},
        {"HTTP/1.1 302Found", "Server: envoy\r\n", {1, 2}},
        {"HTTP/1.1 200", "", {5}},
    };
    for (const Case& c : cases) {
        HttpRun r(cfg);
        r.run("GET / HTTP/1.1\r\nHost: a\r\n\r\n",
              c.status_line + "\r\n" + c.headers + "Content-Length: 0\r\n\r\n");
        std::set<int> got;
        for (const auto& a : r.h.sink.of_type("alert"))
            got.insert(a["alert"]["signature_id"].get<int>());
        EXPECT_EQ(got, c.sids) << c.status_line;
    }
}

// Which server is protected decides a framing header servers disagree on.
TEST(HttpStage, PersonalityDecidesMalformedFramingHeaders) {
    const std::string req = "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length : " +
                            std::to_string(kAnthropicBody.size()) + "\r\n\r\n" + kAnthropicBody;
    using P = http::HttpOptions::Personality;
    for (P p : {P::Generic, P::Nginx, P::Envoy}) {
        EngineConfig cfg;
        cfg.http.personality = p;
        cfg.http.smuggling_verdict = Verdict::Drop;
        cfg.rules = compile_test_rules(
            "alert http any any -> any any (llm.prompt; content:\"chain of thought\"; nocase; "
            "sid:7;)\n");
        HttpRun r(cfg);
        r.run(req, "");
        const auto an = r.h.sink.of_type("anomaly");
        std::vector<std::string> events;
        nlohmann::json framing;
        for (const auto& a : an) {
            events.push_back(a["anomaly"]["event"]);
            if (a["anomaly"]["event"] == "malformed_framing_header") framing = a["anomaly"];
        }
        ASSERT_FALSE(framing.is_null());
        EXPECT_EQ(framing["smuggling"], true);
        EXPECT_EQ(r.client_dispositions.back(), Disposition::Drop) << "a smuggling shape";
        if (p == P::Generic) {
            // libhtp's reading: the length counts, the body is inspected.
            EXPECT_EQ(framing["interpretation"], "honoured");
            EXPECT_EQ(r.h.sink.of_type("alert").size(), 1u);
        } else {
            // nginx and envoy answer 400: nothing after the head is a request.
            EXPECT_EQ(framing["interpretation"], "rejected_by_server");
            EXPECT_EQ(r.h.p->http_counters().parse_stopped, 1u);
        }
    }
}

// flowbits: one rule marks a flow (silently), others test the mark on the same flow only.
TEST(HttpStage, FlowbitsTieRulesOnOneFlow) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (http.uri; content:\"/login\"; flowbits:set,auth; "
        "flowbits:noalert; sid:1;)\n"
        "alert http any any -> any any (flow:to_client; flowbits:isset,auth; http.stat_code; "
        "content:\"200\"; sid:2;)\n"
        "alert http any any -> any any (http.uri; content:\"/v1/\"; flowbits:isnotset,auth|x; "
        "sid:3;)\n"
        "alert http any any -> any any (http.uri; content:\"/logout\"; flowbits:unset,auth; "
        "flowbits:noalert; sid:4;)\n");
    ASSERT_TRUE(cfg.rules);
    HttpRun r(cfg);
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    // Flow A logs in, then calls the API; flow B never logs in; flow C logs in and out before
    // its call (pipelined: its answers come after all three requests, the bit unset by then).
    r.run(
        "POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n",
        ok + ok, {}, 40001, false);
    r.run("GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n", ok, {}, 40002, false);
    r.run(
        "POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        "GET /logout HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n",
        ok + ok + ok, {}, 40003);
    std::map<std::pair<int, int>, int> got;  // (client port, sid) -> alerts
    for (const auto& a : r.h.sink.of_type("alert"))
        ++got[{
            a["src_port"].get<int>() == 80 ? a["dest_port"].get<int>() : a["src_port"].get<int>(),
            a["alert"]["signature_id"].get<int>()}];
    const std::map<std::pair<int, int>, int> want = {
        {{40001, 2}, 2}, {{40002, 3}, 1}, {{40003, 3}, 1}};
    EXPECT_EQ(got, want);
    EXPECT_EQ(r.h.p->rule_counters().flowbits_set, 2u);
    EXPECT_GE(r.h.p->rule_counters().flowbits_unmet, 2u);
}

// With the HTTP/2 stage off (http2.enabled: false), an h2 connection is still visible.
TEST(HttpStage, Http2PrefaceIsCountedNotParsedWithoutTheHttp2Stage) {
    EngineConfig cfg;
    cfg.http2.enabled = false;
    HttpRun r(cfg);
    r.run(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
              std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9),
          "");
    EXPECT_EQ(r.h.p->http_counters().http2, 1u);
    auto http = r.h.sink.of_type("http");
    ASSERT_EQ(http.size(), 1u);
    EXPECT_EQ(http[0]["http"]["protocol"], "HTTP/2");
    EXPECT_EQ(http[0]["app_proto"], "http2");
}

TEST(HttpStage, RulesAlertOnPromptAndDropStopsTheRequest) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (msg:\"CoT elicitation\"; flow:to_server; llm.prompt; "
        "content:\"chain of thought\"; nocase; classtype:llm-distillation; sid:100; rev:2; "
        "metadata:pack distillation;)\n"
        "drop http any any -> any any (msg:\"blocked model\"; llm.model; content:\"claude-opus\"; "
        "sid:101;)\n"
        "alert http any any -> any any (msg:\"never\"; http.user_agent; content:\"curl\"; "
        "sid:102;)\n");
    ASSERT_TRUE(cfg.rules);
    HttpRun r(cfg);
    r.run(request(kAnthropicBody), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    auto alerts = r.h.sink.of_type("alert");
    ASSERT_EQ(alerts.size(), 2u);
    EXPECT_EQ(alerts[0]["alert"]["signature_id"], 100);
    EXPECT_EQ(alerts[0]["alert"]["rev"], 2);
    EXPECT_EQ(alerts[0]["alert"]["severity"], 2);
    EXPECT_EQ(alerts[0]["alert"]["category"], "LLM capability extraction (distillation)");
    EXPECT_EQ(alerts[0]["alert"]["metadata"]["pack"][0], "distillation");
    EXPECT_EQ(alerts[0]["http"]["hostname"], "api.example.com");
    EXPECT_EQ(alerts[0]["sluice"]["llm"]["model"], "claude-opus-4");
    EXPECT_EQ(alerts[1]["alert"]["signature_id"], 101);
    EXPECT_EQ(alerts[1]["alert"]["action"], "blocked");
    // The segment completing the request is dropped: the server never sees it whole.
    EXPECT_EQ(r.client_dispositions.back(), Disposition::Drop);
    auto flows = r.h.sink.of_type("flow");
    ASSERT_EQ(flows.size(), 1u);
    EXPECT_EQ(flows[0]["flow"]["alerted"], true);
    EXPECT_EQ(flows[0]["flow"]["action"], "drop");
}

TEST(HttpStage, PassRuleSilencesTheFlow) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "pass http any any -> any any (http.host; content:\"api.example.com\"; sid:1;)\n"
        "alert http any any -> any any (llm.prompt; content:\"reasoning\"; sid:2;)\n");
    HttpRun r(cfg);
    r.run(request(kAnthropicBody), "");
    EXPECT_TRUE(r.h.sink.of_type("alert").empty());
    EXPECT_EQ(r.h.p->rule_counters().passes, 1u);
}

TEST(HttpStage, BodyStreamsFindPlainPatternsBeyondTheCap) {
    EngineConfig cfg;
    cfg.http.body_cap = 1024;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (msg:\"tail\"; http.request_body; "
        "content:\"NEEDLE-IN-TAIL\"; "
        "sid:1;)\n"
        "alert http any any -> any any (msg:\"tail, positioned\"; http.request_body; "
        "content:\"NEEDLE-IN-TAIL\"; offset:1; sid:2;)\n"
        "alert http any any -> any any (msg:\"head\"; http.request_body; content:\"HEAD\"; "
        "depth:10; "
        "sid:3;)\n"
        "alert http any any -> any any (msg:\"split\"; http.request_body; "
        "pcre:\"/SPLIT-ACROSS$/\"; "
        "sid:4;)\n");
    ASSERT_TRUE(cfg.rules);
    // "SPLIT-ACROSS" straddles two segments and ends the body (an end-of-data match).
    const std::string body = "HEAD" + std::string(500, 'x') + "SPL" + std::string(0, ' ');
    const std::string tail =
        std::string(1500, 'y') + "NEEDLE-IN-TAIL" + std::string(10, 'z') + "SPLIT-ACROSS";
    const std::string all = body + tail;
    const std::string req =
        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(all.size()) +
        "\r\n\r\n" + all;
    HttpRun r(cfg);
    const size_t head_len = req.size() - all.size();
    r.run(req, "HTTP/1.1 204 No Content\r\n\r\n", {head_len + 300, head_len + 700, req.size() - 8});
    std::set<uint32_t> sids;
    for (const auto& a : r.h.sink.of_type("alert"))
        sids.insert(a["alert"]["signature_id"].get<uint32_t>());
    // 1: plain content past the cap, found by the stream. 2: needs confirmation, and the kept
    // part (the first 1024 bytes) does not hold it. 3: within the kept part. 4: end-anchored
    // pcre over a segment boundary, decided by the stream at the end of the body.
    EXPECT_EQ(sids, (std::set<uint32_t>{1, 3, 4}));
    EXPECT_EQ(r.h.p->matcher_counters().body_streams, 1u);
    EXPECT_EQ(r.h.p->http_counters().bodies_over_cap, 1u);
}

TEST(HttpStage, RejectRuleResetsBothEnds) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "reject http any any -> any any (msg:\"no relays\"; http.header; content:\"x-relay-hop\"; "
        "nocase; sid:7;)\n");
    ASSERT_TRUE(cfg.rules);
    cfg.answers.http = false;  // the reset path (answer_test.cc: the HTTP answers)
    HttpRun r(cfg);
    r.run("GET /v1/models HTTP/1.1\r\nHost: a\r\nX-Relay-Hop: 2\r\n\r\n",
          "HTTP/1.1 200 OK\r\n\r\n");
    auto alerts = r.h.sink.of_type("alert");
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0]["alert"]["action"], "blocked");
    EXPECT_EQ(alerts[0]["sluice"]["verdict"], "reject");
    EXPECT_EQ(r.client_dispositions.back(), Disposition::Drop);
    // One RST toward each end, each a valid TCP frame with the RST flag.
    ASSERT_EQ(r.h.inj.frames.size(), 2u);
    for (const auto& [along, frame] : r.h.inj.frames) {
        const auto pkt = decode_frame(frame, LinkType::Ethernet);
        ASSERT_EQ(pkt.status, DecodeStatus::Ok);
        EXPECT_TRUE(pkt.has_flag(tcp_flag::kRst));
    }
    EXPECT_EQ(r.h.p->rule_counters().rejects, 1u);
}

namespace {
// For the reclaim tests: a handshake on client port `port`; a request answered and closed;
// the records of one client port and the reclaim anomalies.
void open_conversation(Harness& h, Conversation& c, uint16_t port) {
    c.cport = port;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
}
void answer_and_close(Harness& h, Conversation& c, const std::string& request) {
    h.feed(c.client(kPA, request));
    h.feed(c.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
    h.feed(c.client(tcp_flag::kFin | kA));
    h.feed(c.server(tcp_flag::kFin | kA));
    h.feed(c.client(kA));
}
std::vector<nlohmann::json> http_of_port(const Harness& h, uint16_t port) {
    std::vector<nlohmann::json> out;
    for (const auto& j : h.sink.of_type("http"))
        if (j["src_port"] == port) out.push_back(j);
    return out;
}
std::vector<nlohmann::json> reclaims(const Harness& h) {
    std::vector<nlohmann::json> out;
    for (const auto& j : h.sink.of_type("anomaly"))
        if (j["anomaly"]["event"] == "http_buffer_reclaimed") out.push_back(j);
    return out;
}

}  // namespace

// Two clients trickle heads that never end and hold every head buffer; a third client's request
// still gets parsed once they have held them past reclaim_after_ms (packet time), and the
// oldest holder is the one that gives its buffer up, recorded. Younger holders keep theirs.
TEST(HttpStage, IdleHeadsAreReclaimedForANewRequest) {
    for (const bool aged : {true, false}) {
        SCOPED_TRACE(aged ? "holders older than reclaim_after_ms" : "holders too young");
        EngineConfig cfg;
        cfg.http.header_buffers = 2;
        cfg.http.reclaim_after_ms = 1000;
        cfg.http.reclaim_verdict = Verdict::Alert;
        Harness h(cfg);
        Conversation slow1, slow2, fresh;
        open_conversation(h, slow1, 30001);
        h.feed(slow1.client(kPA, "POST /v1/messages HTTP/1.1\r\nHost: a\r\n"));
        open_conversation(h, slow2, 30002);
        h.feed(slow2.client(kPA, "POST /v1/messages HTTP/1.1\r\nHost: b\r\n"));
        if (aged) h.t += 2'000'000'000ull;
        open_conversation(h, fresh, 30003);
        answer_and_close(h, fresh, "GET /v1/models HTTP/1.1\r\nHost: c\r\n\r\n");
        h.p->finish(Timestamp{h.t + 1});
        const auto fresh_txns = http_of_port(h, 30003);
        const auto reclaimed = reclaims(h);
        const auto& c = h.p->http_counters();
        if (aged) {
            ASSERT_EQ(fresh_txns.size(), 1u);
            EXPECT_EQ(fresh_txns[0]["http"]["url"], "/v1/models");
            EXPECT_EQ(c.buffers_reclaimed, 1u);
            ASSERT_EQ(reclaimed.size(), 1u);
            EXPECT_EQ(reclaimed[0]["src_port"], 30001) << "the oldest holder gives it up";
            EXPECT_EQ(reclaimed[0]["anomaly"]["resource"], "head_buffer");
            EXPECT_EQ(reclaimed[0]["anomaly"]["action"], "alert");
            EXPECT_GE(reclaimed[0]["anomaly"]["held_ms"].get<uint64_t>(), 1000u);
        } else {
            EXPECT_TRUE(fresh_txns.empty() || !fresh_txns[0]["http"].contains("url"));
            EXPECT_EQ(c.buffers_reclaimed, 0u);
            EXPECT_TRUE(reclaimed.empty());
            EXPECT_GE(c.header_buffers_exhausted, 1u);
        }
        PoolOccupancy held = h.p->pools();
        held.flows = 0;  // finish() reports flows, the table keeps their slots
        EXPECT_EQ(held, PoolOccupancy{}) << "every HTTP buffer and session back in its pool";
    }
}

// The same for body buffers: two uploads that stall mid-body hold both; a third request's body
// is still buffered and read (its LLM fields) once they are older than reclaim_after_ms.
TEST(HttpStage, StalledBodiesAreReclaimedForANewRequest) {
    EngineConfig cfg;
    cfg.http.body_buffers = 2;
    cfg.http.reclaim_after_ms = 1000;
    cfg.http.reclaim_verdict = Verdict::Alert;
    Harness h(cfg);
    Conversation slow1, slow2, fresh;
    for (auto [c, port] : {std::pair{&slow1, 31001}, std::pair{&slow2, 31002}}) {
        open_conversation(h, *c, static_cast<uint16_t>(port));
        h.feed(
            c->client(kPA, "POST /v1/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" +
                               std::string(100, 'x')));
    }
    h.t += 2'000'000'000ull;
    open_conversation(h, fresh, 31003);
    answer_and_close(h, fresh, request(kAnthropicBody));
    h.p->finish(Timestamp{h.t + 1});
    const auto fresh_txns = http_of_port(h, 31003);
    const auto reclaimed = reclaims(h);
    ASSERT_EQ(fresh_txns.size(), 1u);
    EXPECT_EQ(fresh_txns[0]["sluice"]["llm"]["model"], "claude-opus-4");
    ASSERT_EQ(reclaimed.size(), 1u);
    EXPECT_EQ(reclaimed[0]["src_port"], 31001);
    EXPECT_EQ(reclaimed[0]["anomaly"]["resource"], "body_buffer");
    EXPECT_EQ(h.p->http_counters().body_buffers_exhausted, 0u);
    PoolOccupancy held = h.p->pools();
    held.flows = 0;
    EXPECT_EQ(held, PoolOccupancy{});
}
