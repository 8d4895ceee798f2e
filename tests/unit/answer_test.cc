// Answers to stopped requests: the templates (JSON bodies read back by nlohmann-json, an
// independent parser) and the TCP sender driven through the whole pipeline (every injected
// frame decoded by the engine's decoder and its checksums recomputed by the crafting tool).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include <nghttp2/nghttp2.h>

#include "answer/answer_templates.h"
#include "answer/h2_answer.h"
#include "pipeline_harness.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

struct HttpAnswer {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
};

// A strict reading of an HTTP/1.1 response: status line, headers, body of content-length.
HttpAnswer parse_answer(const std::string& s) {
    HttpAnswer a;
    const size_t end = s.find("\r\n\r\n");
    EXPECT_NE(end, std::string::npos) << s;
    if (end == std::string::npos) return a;
    std::string head = s.substr(0, end) + "\r\n";
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    EXPECT_EQ(status_line.substr(0, 9), "HTTP/1.1 ");
    a.status = std::stoi(status_line.substr(9, 3));
    for (size_t p = line_end + 2; p < head.size();) {
        const size_t e = head.find("\r\n", p);
        const std::string line = head.substr(p, e - p);
        const size_t colon = line.find(": ");
        EXPECT_NE(colon, std::string::npos) << line;
        a.headers[line.substr(0, colon)] = line.substr(colon + 2);
        p = e + 2;
    }
    a.body = s.substr(end + 4);
    EXPECT_EQ(std::to_string(a.body.size()), a.headers["content-length"]);
    return a;
}

std::string build(const AnswerTemplates& t, uint16_t status, std::string_view path,
                  uint32_t retry = 0) {
    std::array<char, AnswerTemplates::kMaxAnswer> out;
    AnswerFacts f;
    f.status = status;
    f.retry_after_s = retry;
    f.request_id = "req_00112233445566ff";
    f.path = path;
    const size_t n = t.build_http1(f, out);
    EXPECT_GT(n, 0u);
    return std::string(out.data(), n);
}

}  // namespace

TEST(AnswerTemplates, BuiltInStylesFollowThePath) {
    const AnswerTemplates t;
    HttpAnswer anth = parse_answer(build(t, 429, "/v1/messages?beta=true", 7));
    EXPECT_EQ(anth.status, 429);
    EXPECT_EQ(anth.headers["retry-after"], "7");
    EXPECT_EQ(anth.headers["content-type"], "application/json");
    EXPECT_EQ(anth.headers["request-id"], "req_00112233445566ff");
    EXPECT_EQ(anth.headers["connection"], "close");
    const auto j = nlohmann::json::parse(anth.body);
    EXPECT_EQ(j["type"], "error");
    EXPECT_EQ(j["error"]["type"], "rate_limit_error");
    EXPECT_EQ(j["request_id"], "req_00112233445566ff");

    HttpAnswer oai = parse_answer(build(t, 403, "/v1/chat/completions"));
    EXPECT_EQ(oai.status, 403);
    EXPECT_EQ(oai.headers.count("retry-after"), 0u);
    EXPECT_EQ(oai.headers["x-request-id"], "req_00112233445566ff");
    const auto o = nlohmann::json::parse(oai.body);
    EXPECT_EQ(o["error"]["type"], "request_forbidden");
    EXPECT_EQ(o["error"]["code"], "request_blocked");
    EXPECT_TRUE(o["error"]["param"].is_null());
    // Unknown paths: the default style.
    EXPECT_EQ(t.style_for("/other"), AnswerStyle::Anthropic);
}

TEST(AnswerTemplates, OperatorTextIsEscapedAndValidated) {
    std::string err;
    auto t = AnswerTemplates::parse(
        "default: plain\n"
        "routes:\n  - {prefix: /v1, style: openai}\n  - {prefix: /v1/messages, style: anthropic}\n"
        "messages: {block: 'Say \"hi\" to C:\\\\support'}\n",
        "a.yaml", err);
    ASSERT_TRUE(t) << err;
    EXPECT_EQ(t->style_for("/v1/messages"), AnswerStyle::Anthropic);  // longest prefix
    EXPECT_EQ(t->style_for("/v1/models"), AnswerStyle::OpenAi);
    EXPECT_EQ(t->style_for("/x"), AnswerStyle::Plain);
    const auto j = nlohmann::json::parse(parse_answer(build(*t, 403, "/x")).body);
    EXPECT_EQ(j["error"]["message"], "Say \"hi\" to C:\\\\support");
    EXPECT_EQ(j["error"]["status"], 403);

    for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
             {"default: html\n", "a.yaml:1:10: style must be anthropic, openai or plain"},
             {"routes:\n  - {prefix: v1, style: openai}\n", "a.yaml:2:14: a route's prefix"},
             {"messages: {block: \"a\\tb\"}\n", "a.yaml:1:19: a message may not hold control"},
             {"messages: {deny: x}\n", "a.yaml:1:12: unknown message 'deny'"},
             {"colour: red\n", "a.yaml:1:1: unknown key 'colour'"},
             {"messages: {block: [\n", "a.yaml:"},
         }) {
        std::string e;
        EXPECT_FALSE(AnswerTemplates::parse(text, "a.yaml", e)) << text;
        EXPECT_EQ(e.substr(0, want.size()), want) << text;
    }
}

namespace {

constexpr uint8_t kF = tcp_flag::kFin;

std::vector<uint8_t> mss_option(uint16_t mss) {
    return {2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)};
}

// A client whose request the rule below drops, with a handshake carrying `mss`.
struct AnswerCase {
    Harness h;
    Conversation c;
    explicit AnswerCase(EngineConfig cfg = config()) : h(std::move(cfg)) {}
    static EngineConfig config() {
        EngineConfig cfg;
        cfg.rules = compile_test_rules(
            "drop http any any -> any any (msg:\"blocked path\"; http.uri; content:\"/blocked\"; "
            "sid:7001; rev:1;)\n");
        return cfg;
    }
    void handshake(uint16_t mss = 1460) {
        TcpSpec syn{c.cport, c.sport, c.cseq, 0, tcp_flag::kSyn, 65535, mss_option(mss)};
        h.feed(craft::tcp_frame(c.c2s, syn, {}));
        ++c.cseq;
        h.feed(c.server(tcp_flag::kSyn | kA));
        h.feed(c.client(kA));
    }
    // Decoded injected frames from index `from` on.
    std::vector<std::pair<bool, DecodedPacket>> frames(size_t from = 0) {
        std::vector<std::pair<bool, DecodedPacket>> out;
        for (size_t i = from; i < h.inj.frames.size(); ++i) {
            const auto& [along, f] = h.inj.frames[i];
            const DecodedPacket d = decode_frame(f, LinkType::Ethernet);
            EXPECT_EQ(d.status, DecodeStatus::Ok);
            auto copy = f;  // checksums valid: recomputing them changes nothing
            craft::fix_checksums(std::span<uint8_t>(copy).subspan(d.l3_offset));
            EXPECT_EQ(copy, f);
            out.emplace_back(along, d);
        }
        return out;
    }
    static std::string payload(const DecodedPacket& d) {
        return {reinterpret_cast<const char*>(d.payload.data()), d.payload.size()};
    }
};

const std::string kBlocked =
    "POST /v1/messages/blocked HTTP/1.1\r\nHost: api\r\nContent-Length: 2\r\n\r\n{}";

}  // namespace

TEST(AnswerSender, RuleDropIsAnsweredAtTheClientsSequenceNumbers) {
    AnswerCase t;
    t.handshake();
    const uint32_t server_expects = t.c.cseq;  // the request never reaches it
    const uint32_t client_expects = t.c.sseq;
    EXPECT_EQ(t.h.feed(t.c.client(kPA, kBlocked)), Disposition::Drop);
    const uint32_t request_end = t.c.cseq;
    auto fr = t.frames();
    ASSERT_EQ(fr.size(), 2u);
    // The server side is reset where it expects the client's next byte.
    const auto& [rst_along, rst] = fr[0];
    EXPECT_TRUE(rst_along);
    EXPECT_EQ(rst.dst_port, 80);
    EXPECT_TRUE(rst.has_flag(tcp_flag::kRst));
    EXPECT_EQ(rst.seq, server_expects);
    // The client gets the answer, with FIN, acknowledging its whole request.
    const auto& [ans_along, ans] = fr[1];
    EXPECT_FALSE(ans_along);
    EXPECT_EQ(ans.dst.to_string(), "10.0.0.1");
    EXPECT_EQ(ans.seq, client_expects);
    EXPECT_EQ(ans.ack, request_end);
    EXPECT_TRUE(ans.has_flag(tcp_flag::kFin));
    EXPECT_TRUE(ans.has_flag(tcp_flag::kAck));
    HttpAnswer a = parse_answer(AnswerCase::payload(ans));
    EXPECT_EQ(a.status, 403);
    const std::string id = a.headers["request-id"];
    EXPECT_EQ(id.substr(0, 4), "req_");
    EXPECT_EQ(nlohmann::json::parse(a.body)["error"]["type"], "permission_error");

    // The client acknowledges the answer and its FIN, then closes: its FIN is acknowledged.
    t.c.sseq = client_expects + static_cast<uint32_t>(ans.payload.size()) + 1;
    EXPECT_EQ(t.h.feed(t.c.client(kA)), Disposition::Drop);
    EXPECT_EQ(t.h.p->counters()[Ctr::AnswersDelivered], 1u);
    const size_t before = t.h.inj.frames.size();
    EXPECT_EQ(t.h.feed(t.c.client(kF | kA)), Disposition::Drop);
    fr = t.frames(before);
    ASSERT_EQ(fr.size(), 1u);
    EXPECT_EQ(fr[0].second.ack, request_end + 1);
    EXPECT_EQ(fr[0].second.seq, t.c.sseq);
    // Our ACK of its FIN was lost: the client's FIN again is acknowledged again.
    t.c.cseq -= 1;
    EXPECT_EQ(t.h.feed(t.c.client(kF | kA)), Disposition::Drop);
    fr = t.frames(before + 1);
    ASSERT_EQ(fr.size(), 1u);
    EXPECT_EQ(fr[0].second.ack, request_end + 1);
    // The server's late packets are not forwarded.
    EXPECT_EQ(t.h.feed(t.c.server(kA)), Disposition::Drop);

    t.h.p->finish(Timestamp{t.h.t});
    const auto http = t.h.sink.of_type("http");
    ASSERT_EQ(http.size(), 1u);
    const auto& e = http[0]["sluice"]["enforcement"];
    EXPECT_EQ(e["source"], "rule");
    EXPECT_EQ(e["action"], "drop");
    EXPECT_EQ(e["request_id"], id);
    EXPECT_EQ(e["answer"]["kind"], "http");
    EXPECT_EQ(e["answer"]["status"], 403);
    const auto alerts = t.h.sink.of_type("alert");
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0]["sluice"]["request_id"], id);
    const auto c = t.h.p->counters();
    EXPECT_EQ(c[Ctr::AnswersForbidden], 1u);
    EXPECT_EQ(c[Ctr::RstInjected], 1u);  // the server side only
    EXPECT_EQ(t.h.p->pools().answers, 0u);
}

TEST(AnswerSender, SegmentsToTheClientsMssAndResendsOnItsRetransmissions) {
    EngineConfig cfg = AnswerCase::config();
    cfg.answers.max_retransmits = 2;
    AnswerCase t(cfg);
    t.handshake(96);
    const uint32_t iss = t.c.sseq;
    const uint32_t req_seq = t.c.cseq;
    t.h.feed(t.c.client(kPA, kBlocked));
    auto fr = t.frames(1);  // after the server's RST
    ASSERT_EQ(fr.size(), AnswerSender::kMaxSegmentsPerPacket);
    std::string answer;
    for (const auto& [along, d] : fr) {
        EXPECT_EQ(d.seq, iss + answer.size());
        EXPECT_LE(d.payload.size(), 96u);
        EXPECT_FALSE(d.has_flag(tcp_flag::kFin));
        answer += AnswerCase::payload(d);
    }
    // The client acknowledges what came; the rest follows, FIN on the last segment.
    for (int round = 0; round < 20 && !fr.empty() && !fr.back().second.has_flag(kF); ++round) {
        t.c.sseq = iss + static_cast<uint32_t>(answer.size());
        const size_t before = t.h.inj.frames.size();
        t.h.feed(t.c.client(kA));
        fr = t.frames(before);
        for (const auto& [along, d] : fr) {
            EXPECT_EQ(d.seq, iss + answer.size());
            answer += AnswerCase::payload(d);
        }
    }
    ASSERT_FALSE(fr.empty());
    EXPECT_TRUE(fr.back().second.has_flag(kF));
    EXPECT_EQ(parse_answer(answer).status, 403);

    // The client never got the last segment: it sends a duplicate ACK, then retransmits its
    // request. Each time the unacknowledged tail is resent, until the bound, then an RST.
    const uint32_t una = iss + static_cast<uint32_t>(answer.size()) -
                         static_cast<uint32_t>(fr.back().second.payload.size());
    t.c.sseq = una;
    size_t before = t.h.inj.frames.size();
    t.h.feed(t.c.client(kA));
    fr = t.frames(before);
    ASSERT_EQ(fr.size(), 1u);
    EXPECT_EQ(fr[0].second.seq, una);
    EXPECT_TRUE(fr[0].second.has_flag(kF));
    t.c.cseq = req_seq;  // the request again
    before = t.h.inj.frames.size();
    t.h.feed(t.c.client(kPA, kBlocked));
    fr = t.frames(before);
    ASSERT_EQ(fr.size(), 1u);
    EXPECT_EQ(fr[0].second.seq, una);
    t.c.cseq = req_seq;
    before = t.h.inj.frames.size();
    t.h.feed(t.c.client(kPA, kBlocked));
    fr = t.frames(before);
    ASSERT_EQ(fr.size(), 1u);
    EXPECT_TRUE(fr[0].second.has_flag(tcp_flag::kRst));
    EXPECT_EQ(fr[0].second.seq, una);
    const auto c = t.h.p->counters();
    EXPECT_EQ(c[Ctr::AnswerRetransmits], 2u);
    EXPECT_EQ(c[Ctr::AnswersAbandoned], 1u);
    EXPECT_EQ(c[Ctr::AnswersDelivered], 0u);
    EXPECT_EQ(t.h.p->pools().answers, 0u);
}

namespace {
struct TimerInjector final : Injector {
    std::vector<std::pair<uint16_t, std::vector<uint8_t>>> sent;
    void inject(bool, std::span<const uint8_t>) override { ADD_FAILURE() << "timers name a port"; }
    bool inject_on(uint16_t port, std::span<const uint8_t> f) override {
        sent.emplace_back(port, std::vector<uint8_t>(f.begin(), f.end()));
        return true;
    }
};
}  // namespace

TEST(AnswerSender, TimerResendsOutOfTheClientsPort) {
    EngineConfig cfg = AnswerCase::config();
    cfg.answers.rto_ms = 100;
    AnswerCase t(cfg);
    t.handshake();
    t.h.t += 1'000'000;
    ASSERT_EQ(
        t.h.p->process(
            PacketInput{
                t.c.client(kPA, kBlocked), LinkType::Ethernet, Timestamp{t.h.t}, t.h.seq++, {}, 3},
            t.h.inj),
        Disposition::Drop);
    TimerInjector timers;
    t.h.p->tick(Timestamp{t.h.t + 50'000'000}, timers);
    EXPECT_TRUE(timers.sent.empty());  // not due yet
    t.h.p->tick(Timestamp{t.h.t + 150'000'000}, timers);
    ASSERT_EQ(timers.sent.size(), 1u);
    EXPECT_EQ(timers.sent[0].first, 3);
    EXPECT_EQ(timers.sent[0].second, t.h.inj.frames[1].second);  // the same segment again
    t.h.p->tick(Timestamp{t.h.t + 200'000'000}, timers);         // backed off: 200 ms now
    EXPECT_EQ(timers.sent.size(), 1u);
}

TEST(AnswerSender, PipelinedAnswerWaitsForTheEarlierResponse) {
    AnswerCase t;
    t.handshake();
    EXPECT_EQ(t.h.feed(t.c.client(kPA, "GET /fine HTTP/1.1\r\nHost: api\r\n\r\n")),
              Disposition::Forward);
    EXPECT_EQ(t.h.feed(t.c.client(kPA, kBlocked)), Disposition::Drop);
    EXPECT_EQ(t.h.inj.frames.size(), 0u);  // waits: the first request's answer is owed
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    EXPECT_EQ(t.h.feed(t.c.server(kPA, ok)), Disposition::Forward);
    auto fr = t.frames();
    ASSERT_EQ(fr.size(), 2u);
    EXPECT_FALSE(fr[0].first);  // the RST goes back toward the server
    EXPECT_EQ(fr[0].second.dst_port, 80);
    EXPECT_TRUE(fr[1].first);  // the answer travels on after the server's response
    EXPECT_EQ(fr[1].second.seq, t.c.sseq);
    EXPECT_EQ(parse_answer(AnswerCase::payload(fr[1].second)).status, 403);
}

TEST(AnswerSender, FallsBackToResetsAndSaysWhy) {
    EngineConfig cfg = AnswerCase::config();
    cfg.answers.http = false;
    AnswerCase t(cfg);
    t.handshake();
    EXPECT_EQ(t.h.feed(t.c.client(kPA, kBlocked)), Disposition::Drop);
    // A rule's drop stays silent when not answered (as before answers existed).
    EXPECT_EQ(t.h.inj.frames.size(), 0u);
    t.h.p->finish(Timestamp{t.h.t});
    const auto http = t.h.sink.of_type("http");
    ASSERT_EQ(http.size(), 1u);
    EXPECT_EQ(http[0]["sluice"]["enforcement"]["answer"]["kind"], "reset");
    EXPECT_EQ(http[0]["sluice"]["enforcement"]["answer"]["fallback"], "configured");
    PipelineStats s;
    t.h.p->snapshot(s);
    EXPECT_EQ(s.engine.answer_fallback[static_cast<size_t>(AnswerFallback::Configured)], 1u);
}

namespace {

struct H2Frame {
    uint8_t type, flags;
    uint32_t stream;
    std::vector<uint8_t> payload;
};

std::vector<H2Frame> h2_frames(std::span<const uint8_t> b) {
    std::vector<H2Frame> out;
    for (size_t off = 0; off + 9 <= b.size();) {
        const uint32_t len = uint32_t{b[off]} << 16 | uint32_t{b[off + 1]} << 8 | b[off + 2];
        H2Frame f{b[off + 3],
                  b[off + 4],
                  (uint32_t{b[off + 5]} << 24 | uint32_t{b[off + 6]} << 16 |
                   uint32_t{b[off + 7]} << 8 | b[off + 8]) &
                      0x7fffffff,
                  {}};
        EXPECT_LE(off + 9 + len, b.size());
        f.payload.assign(b.begin() + off + 9, b.begin() + off + 9 + len);
        out.push_back(std::move(f));
        off += 9 + len;
    }
    return out;
}

// nghttp2's HPACK decoder (an independent implementation) reads the header block.
std::map<std::string, std::string> inflate(const std::vector<uint8_t>& block) {
    std::map<std::string, std::string> out;
    nghttp2_hd_inflater* inf = nullptr;
    EXPECT_EQ(nghttp2_hd_inflate_new(&inf), 0);
    const uint8_t* p = block.data();
    size_t left = block.size();
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        const ssize_t n = nghttp2_hd_inflate_hd2(inf, &nv, &flags, p, left, 1);
        EXPECT_GE(n, 0);
        if (n < 0) break;
        p += n;
        left -= static_cast<size_t>(n);
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
            out[std::string(reinterpret_cast<char*>(nv.name), nv.namelen)] =
                std::string(reinterpret_cast<char*>(nv.value), nv.valuelen);
            // Literals without indexing never enter the dynamic table.
            EXPECT_FALSE(nv.flags & NGHTTP2_NV_FLAG_NO_INDEX);
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) break;
        if (n == 0 && left == 0) break;
    }
    EXPECT_EQ(nghttp2_hd_inflate_get_dynamic_table_size(inf), 0u);
    nghttp2_hd_inflate_del(inf);
    return out;
}

}  // namespace

TEST(H2Answer, FramesReadBackWithNghttp2sHpackDecoder) {
    const AnswerTemplates t;
    AnswerFacts facts;
    facts.status = 429;
    facts.retry_after_s = 12;
    facts.request_id = "req_0123456789abcdef";
    facts.path = "/v1/chat/completions";
    std::array<char, AnswerTemplates::kMaxAnswer> body;
    const size_t blen = t.build_body(facts, body);
    std::array<uint8_t, 256> block;
    const size_t hb = h2_answer_header_block(facts, AnswerStyle::OpenAi, blen, block);
    ASSERT_GT(hb, 0u);
    std::array<uint8_t, 2048> out;
    H2AnswerLimits limits;
    limits.last_client_stream = 7;
    limits.server_preface = true;
    size_t goaway_at = 0;
    const size_t n =
        h2_answer_frames({block.data(), hb}, {reinterpret_cast<const uint8_t*>(body.data()), blen},
                         5, limits, out, goaway_at);
    ASSERT_GT(n, 0u);
    const auto frames = h2_frames({out.data(), n});
    ASSERT_EQ(frames.size(), 4u);
    EXPECT_EQ(frames[0].type, 4);  // the server's preface: an empty SETTINGS
    EXPECT_TRUE(frames[0].payload.empty());
    EXPECT_EQ(frames[1].type, 1);  // HEADERS, END_HEADERS, not END_STREAM
    EXPECT_EQ(frames[1].flags, 0x4);
    EXPECT_EQ(frames[1].stream, 5u);
    auto h = inflate(frames[1].payload);
    EXPECT_EQ(h[":status"], "429");
    EXPECT_EQ(h["retry-after"], "12");
    EXPECT_EQ(h["content-type"], "application/json");
    EXPECT_EQ(h["x-request-id"], "req_0123456789abcdef");
    EXPECT_EQ(h.count("content-length"), 0u);  // the body may be left out: see h2_answer.h
    EXPECT_EQ(frames[2].type, 0);              // DATA with END_STREAM: the JSON body
    EXPECT_EQ(frames[2].flags, 0x1);
    EXPECT_EQ(nlohmann::json::parse(frames[2].payload)["error"]["code"], "rate_limit_exceeded");
    EXPECT_EQ(frames[3].type, 7);  // GOAWAY: last stream 7, NO_ERROR
    EXPECT_EQ(frames[3].stream, 0u);
    EXPECT_EQ(frames[3].payload, (std::vector<uint8_t>{0, 0, 0, 7, 0, 0, 0, 0}));
    EXPECT_EQ(goaway_at, n - 17);

    // No window for the body: the status and retry-after still go, the stream ends on HEADERS.
    limits.server_preface = false;
    limits.stream_window = 10;
    const size_t m =
        h2_answer_frames({block.data(), hb}, {reinterpret_cast<const uint8_t*>(body.data()), blen},
                         5, limits, out, goaway_at);
    const auto small = h2_frames({out.data(), m});
    ASSERT_EQ(small.size(), 2u);
    EXPECT_EQ(small[0].type, 1);
    EXPECT_EQ(small[0].flags, 0x5);  // END_HEADERS | END_STREAM
    EXPECT_EQ(small[1].type, 7);
}

TEST(AnswerSender, ClosedSessionsMakeRoomThenResetsWhenAllAreBusy) {
    EngineConfig cfg = AnswerCase::config();
    cfg.answers.sessions = 1;
    AnswerCase t(cfg);
    // The first answer runs to the end: answer and FIN acknowledged, the client's FIN too.
    t.handshake();
    const uint32_t iss = t.c.sseq;
    t.h.feed(t.c.client(kPA, kBlocked));
    const DecodedPacket ans = decode_frame(t.h.inj.frames.back().second, LinkType::Ethernet);
    t.c.sseq = iss + static_cast<uint32_t>(ans.payload.size()) + 1;
    t.h.feed(t.c.client(kF | kA));
    EXPECT_EQ(t.h.p->counters()[Ctr::AnswersDelivered], 1u);
    // A second connection: the closed one's slot is taken back for it.
    Conversation c2;
    c2.cport = 43211;
    t.c = c2;
    t.handshake();
    t.h.feed(t.c.client(kPA, kBlocked));
    EXPECT_EQ(t.h.p->counters()[Ctr::AnswersReclaimed], 1u);
    EXPECT_EQ(t.h.p->counters()[Ctr::AnswersForbidden], 2u);
    // A third while the second is still unacknowledged: resets, and the reason.
    Conversation c3;
    c3.cport = 43212;
    t.c = c3;
    t.handshake();
    const size_t before = t.h.inj.frames.size();
    EXPECT_EQ(t.h.feed(t.c.client(kPA, kBlocked)), Disposition::Drop);
    PipelineStats s;
    t.h.p->snapshot(s);
    EXPECT_EQ(s.engine.answer_fallback[static_cast<size_t>(AnswerFallback::NoSession)], 1u);
    // A rule's drop without an answer stays silent (as before answers existed).
    EXPECT_EQ(t.h.inj.frames.size(), before);
}
