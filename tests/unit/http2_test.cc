// The HTTP/2 stage on conversations built frame by frame. Header blocks come from nghttp2's
// HPACK encoder (nghttp2_hd_deflate_hd: the reference the stage's decoder must agree with);
// frames are laid out here by RFC 9113 section 4.1. Each conversation runs through a whole
// Pipeline, so records are what the EVE log would hold.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <string>
#include <vector>

#include "pipeline_harness.h"
#include "rules/rule_parser.h"

namespace sluice::testing {
namespace {

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
    std::string f;
    const auto n = static_cast<uint32_t>(payload.size());
    f.push_back(static_cast<char>(n >> 16));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
    f.push_back(static_cast<char>(type));
    f.push_back(static_cast<char>(flags));
    for (int s = 24; s >= 0; s -= 8) f.push_back(static_cast<char>((stream >> s) & 0xff));
    return f.append(payload);
}

constexpr uint8_t kData = 0, kHeaders = 1, kRst = 3, kSettings = 4, kWindow = 8, kCont = 9;
constexpr uint8_t kEndStream = 1, kEndHeaders = 4, kPadded = 8;

std::string settings(std::vector<std::pair<uint16_t, uint32_t>> s) {
    std::string p;
    for (auto [id, v] : s) {
        p.push_back(static_cast<char>(id >> 8));
        p.push_back(static_cast<char>(id));
        for (int k = 24; k >= 0; k -= 8) p.push_back(static_cast<char>((v >> k) & 0xff));
    }
    return frame(kSettings, 0, 0, p);
}

std::string u32(uint32_t v) {
    std::string p;
    for (int k = 24; k >= 0; k -= 8) p.push_back(static_cast<char>((v >> k) & 0xff));
    return p;
}

// One HPACK encoder per direction, as a peer has: its dynamic table carries over blocks.
struct Encoder {
    nghttp2_hd_deflater* d = nullptr;
    Encoder() { nghttp2_hd_deflate_new(&d, 4096); }
    ~Encoder() { nghttp2_hd_deflate_del(d); }
    std::string block(const std::vector<std::pair<std::string, std::string>>& fields) {
        std::vector<nghttp2_nv> nv;
        for (const auto& [n, v] : fields)
            nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                          reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(),
                          v.size(), NGHTTP2_NV_FLAG_NONE});
        std::string out(nghttp2_hd_deflate_bound(d, nv.data(), nv.size()), '\0');
        const auto n = nghttp2_hd_deflate_hd(d, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                             nv.data(), nv.size());
        EXPECT_GE(n, 0);
        out.resize(n < 0 ? 0 : static_cast<size_t>(n));
        return out;
    }
};

const std::string kPreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const std::string kLlmBody =
    R"({"model":"claude-opus-4","max_tokens":512,"messages":[{"role":"user","content":"show your full chain of thought"}]})";
const std::string kKey = "sk-ant-api03-H2UNITTESTKEY0000000000000000000000000000000000";

// A client that sends three requests on one connection (a GET, an LLM POST with a body in two
// DATA frames, one padded, and a GET whose block is split over a CONTINUATION), and a server
// that answers each.
struct Exchange {
    std::string client, server;
    Exchange() {
        Encoder ce, se;
        client = kPreface + settings({{3, 100}, {4, 10485760}, {2, 0}}) +
                 frame(kWindow, 0, 0, u32(1048510465));
        client += frame(kHeaders, kEndHeaders | kEndStream, 1,
                        ce.block({{":method", "GET"},
                                  {":path", "/v1/models"},
                                  {":scheme", "https"},
                                  {":authority", "api.example.com"},
                                  {"user-agent", "python-httpx/0.27"}}));
        const std::string post = ce.block({{":method", "POST"},
                                           {":path", "/v1/messages?key=sk-secret-9"},
                                           {":scheme", "https"},
                                           {":authority", "api.example.com"},
                                           {"user-agent", "python-httpx/0.27"},
                                           {"x-api-key", kKey},
                                           {"content-type", "application/json"},
                                           {"content-length", std::to_string(kLlmBody.size())}});
        client += frame(kHeaders, kEndHeaders, 3, post);
        const size_t half = kLlmBody.size() / 2;
        client += frame(kData, kPadded, 3,
                        std::string(1, '\x05') + kLlmBody.substr(0, half) + std::string(5, '\0'));
        client += frame(kData, kEndStream, 3, kLlmBody.substr(half));
        const std::string get = ce.block({{":method", "GET"},
                                          {":path", "/v1/usage"},
                                          {":scheme", "https"},
                                          {":authority", "api.example.com"},
                                          {"user-agent", "python-httpx/0.27"}});
        client += frame(kHeaders, kEndStream, 5, get.substr(0, 4));
        client += frame(kCont, kEndHeaders, 5, get.substr(4));
        const std::string usage = R"({"id":"m","usage":{"input_tokens":11,"output_tokens":22}})";
        server = settings({{3, 128}}) + frame(kSettings, 1, 0, "");
        for (uint32_t id : {1u, 3u, 5u}) {
            server += frame(kHeaders, kEndHeaders, id,
                            se.block({{":status", "200"}, {"content-type", "application/json"}}));
            server += frame(kData, kEndStream, id, usage);
        }
    }
};

struct H2Run {
    Harness h;
    std::vector<Disposition> client_dispositions;
    explicit H2Run(EngineConfig cfg = {}) : h(std::move(cfg)) {}
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
    std::vector<std::string> anomalies() const {
        std::vector<std::string> out;
        for (const auto& a : h.sink.of_type("anomaly")) out.push_back(a["anomaly"]["event"]);
        return out;
    }
};

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST(Http2Stage, StreamsBecomeTransactionsLikeHttp1) {
    const Exchange x;
    H2Run r;
    r.run(x.client, x.server);
    const auto http = r.h.sink.of_type("http");
    ASSERT_EQ(http.size(), 3u);
    std::map<int, nlohmann::json> by_stream;
    for (const auto& j : http) by_stream[j["http"]["http2"]["stream_id"].get<int>()] = j;
    ASSERT_EQ(by_stream.size(), 3u);
    const auto& post = by_stream[3];
    EXPECT_EQ(post["http"]["protocol"], "HTTP/2");
    EXPECT_EQ(post["http"]["http_method"], "POST");
    EXPECT_EQ(post["http"]["hostname"], "api.example.com");
    EXPECT_EQ(post["http"]["url"], "/v1/messages?key=REDACTED");  // credentials never logged
    EXPECT_EQ(post["http"]["http_user_agent"], "python-httpx/0.27");
    EXPECT_EQ(post["http"]["status"], 200);
    EXPECT_EQ(post["http"]["request_length"], kLlmBody.size());
    EXPECT_EQ(post["sluice"]["llm"]["model"], "claude-opus-4");
    EXPECT_EQ(post["sluice"]["llm"]["max_tokens"], 512);
    EXPECT_EQ(post["sluice"]["llm"]["usage"]["output_tokens"], 22);
    EXPECT_TRUE(post.contains("account"));
    EXPECT_EQ(post.dump().find(kKey), std::string::npos);  // the key itself never
    EXPECT_EQ(by_stream[5]["http"]["url"], "/v1/usage");   // the block split by a CONTINUATION
    // The client's Akamai fingerprint: its SETTINGS, the connection WINDOW_UPDATE, no
    // PRIORITY frame, the pseudo-header order.
    EXPECT_EQ(post["http"]["http2"]["fingerprint"], "3:100;4:10485760;2:0|1048510465|0|m,p,s,a");
    EXPECT_TRUE(r.anomalies().empty());
    EXPECT_EQ(r.h.p->http2_counters()[http2::H2Ctr::Connections], 1u);
    EXPECT_EQ(r.h.p->http2_counters()[http2::H2Ctr::Streams], 3u);
    EXPECT_EQ(r.h.p->pools().body_buffers, 0u);
    EXPECT_EQ(r.h.p->audit(), "");
}

// The same bytes split anywhere give the same records: every cut through the client's bytes,
// each conversation on its own port through one pipeline.
TEST(Http2Stage, SameRecordsWhateverTheSegmentation) {
    const Exchange x;
    auto strip = [](std::vector<nlohmann::json> v) {
        for (auto& j : v)
            for (const char* k : {"timestamp", "src_port", "flow_id", "community_id"}) j.erase(k);
        std::sort(v.begin(), v.end(),
                  [](const auto& a, const auto& b) { return a.dump() < b.dump(); });
        return v;
    };
    H2Run base;
    base.run(x.client, x.server);
    const auto want = strip(base.h.sink.of_type("http"));
    ASSERT_EQ(want.size(), 3u);
    H2Run r;
    std::vector<size_t> cut_at;
    for (size_t k = 1; k < x.client.size(); k += 3) {
        r.run(x.client, x.server, {k, k + 1, k + 10}, static_cast<uint16_t>(20000 + cut_at.size()),
              false);
        cut_at.push_back(k);
    }
    r.h.p->finish(Timestamp{r.h.t + 1});
    std::map<uint16_t, std::vector<nlohmann::json>> by_port;
    for (const auto& j : r.h.sink.of_type("http"))
        by_port[j["src_port"].get<uint16_t>()].push_back(j);
    ASSERT_EQ(by_port.size(), cut_at.size());
    for (size_t i = 0; i < cut_at.size(); ++i)
        ASSERT_EQ(strip(by_port[static_cast<uint16_t>(20000 + i)]), want) << "cut at " << cut_at[i];
    EXPECT_EQ(r.h.p->audit(), "");
}

// Every truncated prefix of the client's bytes: no crash, records only for what completed,
// every pool back to empty.
TEST(Http2Stage, TruncatedConnectionsReturnEveryPool) {
    const Exchange x;
    H2Run r;
    for (size_t n = 1; n < x.client.size(); n += 5)
        r.run(x.client.substr(0, n), "", {}, static_cast<uint16_t>(30000 + n % 30000), false);
    r.h.p->finish(Timestamp{r.h.t + 1});
    const auto pools = r.h.p->pools();
    EXPECT_EQ(pools.body_buffers, 0u);
    EXPECT_EQ(r.h.p->audit(), "");
}

TEST(Http2Stage, RulesSeeHttp2RequestsThroughTheSameBuffers) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (msg:\"cot\"; http.method; content:\"POST\"; http.uri; "
        "content:\"/v1/messages\"; http.host; content:\"api.example.com\"; http.header; "
        "content:\"x-api-key|3a 20|\"; llm.prompt; content:\"chain of thought\"; sid:7001; "
        "rev:1;)\n");
    H2Run r(cfg);
    const Exchange x;
    r.run(x.client, x.server);
    const auto alerts = r.h.sink.of_type("alert");
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0]["alert"]["signature_id"], 7001);
    EXPECT_EQ(alerts[0]["http"]["protocol"], "HTTP/2");
}

// Hostile connections: each limit is counted and recorded, never a crash, every pool back.
TEST(Http2Stage, AbuseIsCountedAndRecorded) {
    struct Case {
        const char* name;
        std::string client;
        const char* event;
    };
    Encoder e;
    const std::string get =
        e.block({{":method", "GET"}, {":path", "/"}, {":scheme", "http"}, {":authority", "a"}});
    std::vector<Case> cases;
    {  // CONTINUATION flood: one block in 40 frames (limit 32)
        Encoder e2;
        const std::string b = e2.block({{":method", "GET"},
                                        {":path", "/"},
                                        {":scheme", "http"},
                                        {":authority", "a"},
                                        {"x-pad", std::string(200, 'p')}});
        std::string c = kPreface + settings({}) + frame(kHeaders, 0, 1, b.substr(0, 1));
        for (int i = 0; i < 40; ++i) c += frame(kCont, 0, 1, "");
        cases.push_back({"continuation flood", c, "h2_continuation_flood"});
    }
    {  // rapid reset: 150 streams opened and reset at once (limit 100 in the window)
        Encoder e3;
        std::string c = kPreface + settings({});
        for (uint32_t id = 1; id < 300; id += 2)
            c += frame(kHeaders, kEndHeaders | kEndStream, id,
                       e3.block({{":method", "GET"},
                                 {":path", "/"},
                                 {":scheme", "http"},
                                 {":authority", "a"}})) +
                 frame(kRst, 0, id, u32(8));
        cases.push_back({"rapid reset", c, "h2_rapid_reset"});
    }
    {  // too many concurrent streams (limit 128): 140 requests without END_STREAM
        Encoder e4;
        std::string c = kPreface + settings({});
        for (uint32_t id = 1; id < 281; id += 2)
            c += frame(kHeaders, kEndHeaders, id,
                       e4.block({{":method", "POST"},
                                 {":path", "/"},
                                 {":scheme", "http"},
                                 {":authority", "a"}}));
        cases.push_back({"too many streams", c, "h2_too_many_streams"});
    }
    cases.push_back({"oversize frame",
                     kPreface + settings({}) + frame(kData, 0, 1, std::string(20000, 'x')),
                     "h2_frame_too_large"});
    cases.push_back({"data on stream 0", kPreface + settings({}) + frame(kData, 0, 0, "x"),
                     "h2_protocol_error"});
    cases.push_back({"headers interrupted",
                     kPreface + settings({}) + frame(kHeaders, 0, 1, get) + frame(kData, 0, 1, "x"),
                     "h2_protocol_error"});
    cases.push_back(
        {"hpack garbage",
         kPreface + settings({}) + frame(kHeaders, kEndHeaders, 1, std::string(8, '\xff')),
         "h2_hpack_error"});
    {
        Encoder e5;
        cases.push_back({"uppercase name",
                         kPreface + settings({}) +
                             frame(kHeaders, kEndHeaders | kEndStream, 1,
                                   e5.block({{":method", "GET"},
                                             {":path", "/"},
                                             {":scheme", "http"},
                                             {":authority", "a"},
                                             {"X-Upper", "1"}})),
                         "h2_uppercase_header"});
    }
    {
        Encoder e6;
        cases.push_back({"transfer-encoding",
                         kPreface + settings({}) +
                             frame(kHeaders, kEndHeaders, 1,
                                   e6.block({{":method", "POST"},
                                             {":path", "/"},
                                             {":scheme", "http"},
                                             {":authority", "a"},
                                             {"transfer-encoding", "chunked"}})) +
                             frame(kData, kEndStream, 1, "0\r\n\r\n"),
                         "h2_connection_header"});
    }
    {
        Encoder e7;
        cases.push_back({"content-length mismatch",
                         kPreface + settings({}) +
                             frame(kHeaders, kEndHeaders, 1,
                                   e7.block({{":method", "POST"},
                                             {":path", "/"},
                                             {":scheme", "http"},
                                             {":authority", "a"},
                                             {"content-length", "3"}})) +
                             frame(kData, kEndStream, 1, "ten bytes!"),
                         "h2_content_length_mismatch"});
    }
    {
        Encoder e8;
        cases.push_back({"header list too large",
                         kPreface + settings({}) +
                             frame(kHeaders, kEndHeaders | kEndStream, 1,
                                   e8.block({{":method", "GET"},
                                             {":path", "/"},
                                             {":scheme", "http"},
                                             {":authority", "a"},
                                             {"x-big", std::string(15000, 'b')},
                                             {"x-big2", std::string(4000, 'c')}})),
                         "h2_header_list_too_large"});
    }
    for (const Case& c : cases) {
        H2Run r;
        r.run(c.client, "");
        EXPECT_TRUE(has(r.anomalies(), c.event)) << c.name;
        EXPECT_EQ(r.h.p->pools().body_buffers, 0u) << c.name;
        EXPECT_EQ(r.h.p->audit(), "") << c.name;
    }
}

// A head padded past the limit cannot buy an uninspected request: with the cap action drop (the
// inline default), an over-long HTTP/1.1 head and an over-long HTTP/2 header list are dropped,
// their credential-bearing request never forwarded.
TEST(Http2Stage, HeadsPastTheLimitGetTheCapAction) {
    EngineConfig cfg;
    cfg.http.cap_verdict = Verdict::Drop;
    H2Run r(cfg);
    Encoder ce;
    const std::string h2 = kPreface + settings({}) +
                           frame(kHeaders, kEndHeaders | kEndStream, 1,
                                 ce.block({{":method", "POST"},
                                           {":path", "/v1/messages"},
                                           {":scheme", "http"},
                                           {":authority", "a"},
                                           {"x-filler", std::string(17000, 'f')},
                                           {"x-api-key", kKey}}));
    r.run(h2, "", {}, 44000, false);
    ASSERT_FALSE(r.client_dispositions.empty());
    EXPECT_EQ(r.client_dispositions.back(), Disposition::Drop);
    EXPECT_TRUE(has(r.anomalies(), "h2_header_list_too_large"));
    Conversation c;
    c.cport = 44001;
    r.h.feed(c.client(tcp_flag::kSyn));
    r.h.feed(c.server(tcp_flag::kSyn | kA));
    r.h.feed(c.client(kA));
    const std::string h1 =
        "POST /v1/messages HTTP/1.1\r\nHost: a\r\nX-Filler: " + std::string(17000, 'f') +
        "\r\nx-api-key: " + kKey + "\r\n\r\n";
    Disposition last = Disposition::Forward;
    for (size_t i = 0; i < h1.size(); i += 1400) last = r.h.feed(c.client(kPA, h1.substr(i, 1400)));
    EXPECT_EQ(last, Disposition::Drop);
    EXPECT_TRUE(has(r.anomalies(), "header_too_long"));
}

// Inline (drop), an abuse anomaly stops the connection: the packet that carried it is dropped.
TEST(Http2Stage, AbuseVerdictDropsTheConnection) {
    EngineConfig cfg;
    cfg.http2.abuse_verdict = Verdict::Drop;
    H2Run r(cfg);
    r.run(kPreface + settings({}) + frame(kData, 0, 0, "x"), "");
    ASSERT_FALSE(r.client_dispositions.empty());
    EXPECT_EQ(r.client_dispositions.back(), Disposition::Drop);
}

// The server's table size limit, once acknowledged, bounds the client's encoder: a client
// encoder allowed 8192 bytes still decodes; the table follows the SETTINGS exchange.
TEST(Http2Stage, HeaderTableFollowsAcknowledgedSettings) {
    nghttp2_hd_deflater* d = nullptr;
    ASSERT_EQ(nghttp2_hd_deflate_new(&d, 8192), 0);
    ASSERT_EQ(nghttp2_hd_deflate_change_table_size(d, 8192), 0);
    auto block = [&](const std::string& path) {
        std::vector<std::pair<std::string, std::string>> f = {{":method", "GET"},
                                                              {":path", path},
                                                              {":scheme", "http"},
                                                              {":authority", "a"},
                                                              {"x-long", std::string(3000, 'l')}};
        std::vector<nghttp2_nv> nv;
        for (const auto& [n, v] : f)
            nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                          reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(),
                          v.size(), NGHTTP2_NV_FLAG_NONE});
        std::string out(nghttp2_hd_deflate_bound(d, nv.data(), nv.size()), '\0');
        const auto n = nghttp2_hd_deflate_hd(d, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                             nv.data(), nv.size());
        out.resize(static_cast<size_t>(n));
        return out;
    };
    // The server announces 8192 first; the client acknowledges before its first request.
    const std::string server = settings({{1, 8192}});
    std::string client = kPreface + settings({}) + frame(kSettings, 1, 0, "");
    for (uint32_t id = 1; id <= 5; id += 2)
        client += frame(kHeaders, kEndHeaders | kEndStream, id, block("/p" + std::to_string(id)));
    nghttp2_hd_deflate_del(d);
    H2Run r;
    // The server's SETTINGS must be read before the client's ACK: feed it first.
    Conversation c;
    r.h.feed(c.client(tcp_flag::kSyn));
    r.h.feed(c.server(tcp_flag::kSyn | kA));
    r.h.feed(c.client(kA));
    r.h.feed(c.client(kPA, kPreface));
    r.h.feed(c.server(kPA, server));
    r.h.feed(c.client(kPA, client.substr(kPreface.size())));
    r.h.p->finish(Timestamp{r.h.t + 1});
    EXPECT_TRUE(r.anomalies().empty());
    EXPECT_EQ(r.h.sink.of_type("http").size(), 3u);
}

}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// HTTP/1.1 Upgrade: h2c (RFC 7540 section 3.2), as curl --http2 does on http:// URLs: a GET
// that asks to upgrade, the server's 101 followed at once by its SETTINGS and stream 1's
// answer, then the client's preface and an LLM POST on stream 3.
struct Upgrade {
    std::string request, switching, preface_and_post, answers;
    explicit Upgrade(const std::string& accept =
                         "HTTP/1.1 101 Switching Protocols\r\n"
                         "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n") {
        Encoder ce, se;
        request =
            "GET /v1/models HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/7.88.1\r\n"
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n";
        switching = accept + settings({{3, 100}}) +
                    frame(kHeaders, kEndHeaders, 1,
                          se.block({{":status", "200"}, {"content-type", "application/json"}})) +
                    frame(kData, kEndStream, 1, R"({"data":[{"id":"claude-opus-4"}]})");
        preface_and_post = kPreface + settings({{3, 100}, {4, 10485760}, {2, 0}}) +
                           frame(kSettings, 1, 0, "") +
                           frame(kHeaders, kEndHeaders, 3,
                                 ce.block({{":method", "POST"},
                                           {":path", "/v1/messages"},
                                           {":scheme", "http"},
                                           {":authority", "api.example.com"},
                                           {"user-agent", "curl/7.88.1"},
                                           {"x-api-key", kKey},
                                           {"content-type", "application/json"}})) +
                           frame(kData, kEndStream, 3, kLlmBody);
        answers = frame(kSettings, 1, 0, "") +
                  frame(kHeaders, kEndHeaders, 3,
                        se.block({{":status", "200"}, {"content-type", "application/json"}})) +
                  frame(kData, kEndStream, 3,
                        R"({"id":"m","usage":{"input_tokens":9,"output_tokens":33}})");
    }
};

// Feeds one connection: the client's request, the server's switch, the client's HTTP/2 bytes
// cut at `cut` (0: whole), the server's answers. `early`: the client sends its preface and
// POST before the 101 arrives, as a client may.
void run_upgrade(Harness& h, const Upgrade& u, uint16_t port, size_t cut = 0, bool early = false) {
    Conversation c;
    c.cport = port;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    auto client_h2 = [&] {
        const std::string& b = u.preface_and_post;
        if (cut == 0 || cut >= b.size()) {
            h.feed(c.client(kPA, b));
        } else {
            h.feed(c.client(kPA, b.substr(0, cut)));
            h.feed(c.client(kPA, b.substr(cut)));
        }
    };
    h.feed(c.client(kPA, u.request));
    if (early) client_h2();
    h.feed(c.server(kPA, u.switching));
    if (!early) client_h2();
    h.feed(c.server(kPA, u.answers));
    h.feed(c.client(tcp_flag::kFin | kA));
    h.feed(c.server(tcp_flag::kFin | kA));
    h.feed(c.client(kA));
}

std::map<int, nlohmann::json> by_stream(const std::vector<nlohmann::json>& http) {
    std::map<int, nlohmann::json> out;
    for (const auto& j : http)
        if (j["http"].contains("http2")) out[j["http"]["http2"]["stream_id"].get<int>()] = j;
    return out;
}

}  // namespace

// The upgraded request is stream 1 (its answer comes over HTTP/2), and what follows is parsed
// and ruled like any HTTP/2 connection: nothing after the 101 passes uninspected.
TEST(Http2Upgrade, UpgradedConnectionsAreInspected) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (msg:\"cot\"; http.method; content:\"POST\"; "
        "llm.prompt; content:\"chain of thought\"; sid:7101; rev:1;)\n");
    for (bool early : {false, true}) {
        SCOPED_TRACE(early ? "preface before the 101" : "preface after the 101");
        Harness h(cfg);
        run_upgrade(h, Upgrade(), 41000, 0, early);
        h.p->finish(Timestamp{h.t + 1});
        const auto http = h.sink.of_type("http");
        ASSERT_EQ(http.size(), 2u);
        auto s = by_stream(http);
        ASSERT_EQ(s.size(), 2u);
        EXPECT_EQ(s[1]["http"]["http_method"], "GET");
        EXPECT_EQ(s[1]["http"]["url"], "/v1/models");
        EXPECT_EQ(s[1]["http"]["status"], 200);
        EXPECT_EQ(s[1]["http"]["protocol"], "HTTP/2");
        EXPECT_EQ(s[1]["app_proto"], "http2");
        EXPECT_EQ(s[3]["http"]["http_method"], "POST");
        EXPECT_EQ(s[3]["sluice"]["llm"]["usage"]["output_tokens"], 33);
        EXPECT_TRUE(s[3].contains("account"));
        const auto alerts = h.sink.of_type("alert");
        ASSERT_EQ(alerts.size(), 1u);
        EXPECT_EQ(alerts[0]["alert"]["signature_id"], 7101);
        EXPECT_EQ(h.p->http_counters().h2c_upgrades, 1u);
        EXPECT_EQ(h.p->http_counters().tunnels, 0u);
        EXPECT_EQ(h.p->http2_counters()[http2::H2Ctr::Upgrades], 1u);
        EXPECT_EQ(h.p->http2_counters()[http2::H2Ctr::HpackErrors], 0u);
        EXPECT_TRUE(h.sink.of_type("anomaly").empty());
        EXPECT_EQ(h.p->audit(), "");
    }
}

// The client's HTTP/2 bytes cut anywhere, with the preface before or after the 101: the same
// records each time.
TEST(Http2Upgrade, SameRecordsWhateverTheSegmentation) {
    const Upgrade u;
    Harness h;
    uint16_t port = 42000;
    std::vector<size_t> cuts;
    for (size_t k = 1; k < u.preface_and_post.size(); k += 7) {
        for (bool early : {false, true}) {
            run_upgrade(h, u, port++, k, early);
            cuts.push_back(k);
        }
    }
    h.p->finish(Timestamp{h.t + 1});
    std::map<uint16_t, std::vector<nlohmann::json>> by_port;
    for (const auto& j : h.sink.of_type("http"))
        by_port[j["src_port"].get<uint16_t>()].push_back(j);
    ASSERT_EQ(by_port.size(), cuts.size());
    for (auto& [p, recs] : by_port) {
        auto s = by_stream(recs);
        ASSERT_EQ(s.size(), 2u) << "cut at " << cuts[p - 42000];
        EXPECT_EQ(s[1]["http"]["status"], 200) << "cut at " << cuts[p - 42000];
        EXPECT_EQ(s[3]["http"]["url"], "/v1/messages") << "cut at " << cuts[p - 42000];
    }
    EXPECT_EQ(h.p->pools().body_buffers, 0u);
    EXPECT_EQ(h.p->audit(), "");
}

// A server that declines (answers the request itself over HTTP/1.1) keeps the connection
// HTTP/1.1; a 101 to another protocol (websocket) stays a tunnel, as before.
TEST(Http2Upgrade, DeclinedOrOtherUpgradesStayHttp1) {
    Harness h;
    Conversation c;
    c.cport = 43000;
    const Upgrade u;
    h.feed(c.client(tcp_flag::kSyn));
    h.feed(c.server(tcp_flag::kSyn | kA));
    h.feed(c.client(kA));
    h.feed(c.client(kPA, u.request));
    h.feed(c.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    h.feed(c.client(kPA, "GET /again HTTP/1.1\r\nHost: api.example.com\r\n\r\n"));
    h.feed(c.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    Conversation w;
    w.cport = 43001;
    h.feed(w.client(tcp_flag::kSyn));
    h.feed(w.server(tcp_flag::kSyn | kA));
    h.feed(w.client(kA));
    h.feed(w.client(
        kPA, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
    h.feed(w.server(
        kPA,
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
    h.p->finish(Timestamp{h.t + 1});
    const auto http = h.sink.of_type("http");
    ASSERT_EQ(http.size(), 3u);
    for (const auto& j : http) EXPECT_EQ(j["http"]["protocol"], "HTTP/1.1");
    EXPECT_EQ(h.p->http_counters().h2c_upgrades, 0u);
    EXPECT_EQ(h.p->http_counters().tunnels, 1u);
    EXPECT_EQ(h.p->audit(), "");
}

}  // namespace sluice::testing

namespace sluice::testing {

// Suricata's http2.* keywords on the frames of the exchange above: the client sent SETTINGS
// {3:100, 4:10485760, 2:0}, a connection WINDOW_UPDATE of 1048510465, and a CONTINUATION on
// stream 5; the server SETTINGS {3:128}. Each count below is worked out from those frames.
TEST(Http2Keywords, FrameFactsMatchTheirTransactions) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (msg:\"cont\"; http2.frametype:CONTINUATION; sid:1;)\n"
        "alert http any any -> any any (msg:\"push off\"; http2.settings:SETTINGS_ENABLE_PUSH=0; "
        "sid:2;)\n"
        "alert http any any -> any any (msg:\"streams\"; "
        "http2.settings:SETTINGS_MAX_CONCURRENT_STREAMS>100; sid:3;)\n"
        "alert http any any -> any any (msg:\"window\"; http2.window:>1000000; sid:4;)\n"
        "alert http any any -> any any (msg:\"name\"; http2.header_name; content:\"x-api-key\"; "
        "sid:5;)\n"
        "alert http any any -> any any (msg:\"server\"; flow:to_client; "
        "http2.settings:SETTINGS_MAX_CONCURRENT_STREAMS=128; sid:6;)\n"
        "alert http any any -> any any (msg:\"data+post\"; http2.frametype:DATA; http.method; "
        "content:\"POST\"; sid:7;)\n"
        "alert http any any -> any any (msg:\"window range\"; http2.window:1-1000; sid:8;)\n");
    H2Run r(cfg);
    const Exchange x;
    r.run(x.client, x.server);
    std::map<int, int> by_sid;
    for (const auto& a : r.h.sink.of_type("alert")) ++by_sid[a["alert"]["signature_id"].get<int>()];
    EXPECT_EQ(by_sid, (std::map<int, int>{{1, 1}, {2, 3}, {4, 3}, {5, 1}, {6, 3}, {7, 1}}));

    // The same rules over HTTP/1.1: no HTTP/2 frames, no match.
    Harness h1(cfg);
    Conversation c;
    h1.feed(c.client(tcp_flag::kSyn));
    h1.feed(c.server(tcp_flag::kSyn | kA));
    h1.feed(c.client(kA));
    h1.feed(c.client(kPA,
                     "POST /v1/messages HTTP/1.1\r\nHost: a\r\nx-api-key: k\r\n"
                     "Content-Length: 2\r\n\r\n{}"));
    h1.feed(c.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    h1.p->finish(Timestamp{h1.t + 1});
    EXPECT_TRUE(h1.sink.of_type("alert").empty());
}

// A connection picked up after its preface (the capture started late): its header blocks
// cannot be decoded, so it is counted and said, never silently passed; HTTP/1.1 and TLS
// picked up mid-stream are not mistaken for it.
TEST(Http2Stage, MidstreamConnectionsAreSaid) {
    Harness h;
    Encoder ce;
    Conversation c;
    const std::string frames =
        frame(kHeaders, kEndHeaders, 7, ce.block({{":method", "GET"}, {":path", "/x"}})) +
        frame(kData, kEndStream, 7, "{}");
    h.feed(c.client(kPA, frames));  // no SYN: mid-stream
    Conversation h1;
    h1.cport = 40001;
    h.feed(h1.client(kPA, "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"));
    Conversation tls;
    tls.cport = 40002;
    h.feed(tls.client(kPA, std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, 'x')));
    h.p->finish(Timestamp{h.t + 1});
    EXPECT_EQ(h.p->http2_counters()[http2::H2Ctr::Midstream], 1u);
    const auto an = h.sink.of_type("anomaly");
    ASSERT_EQ(an.size(), 1u);
    EXPECT_EQ(an[0]["anomaly"]["event"], "h2_midstream");
    EXPECT_EQ(an[0]["src_port"], c.cport);
    EXPECT_EQ(an[0]["app_proto"], "http2");
}

// Flow control and stream states (RFC 9113 sections 6.9 and 5.1), recorded as alerts: DATA
// past a window the server cut (and the client acknowledged), DATA after END_STREAM and on a
// stream never opened; a raised window counts at once, so a large upload under it is clean.
TEST(Http2Stage, FlowControlAndStreamStateViolations) {
    auto conversation = [](uint32_t server_window, size_t body, bool extra_data) {
        Encoder ce, se;
        std::string client = kPreface + settings({{4, 1u << 20}});
        const std::string server = settings({{4, server_window}}) + frame(kSettings, 1, 0, "") +
                                   frame(kWindow, 0, 0, u32(1u << 20));
        client += frame(kSettings, 1, 0, "");  // the client acknowledges the server's settings
        client += frame(kHeaders, kEndHeaders, 1,
                        ce.block({{":method", "POST"},
                                  {":path", "/v1/messages"},
                                  {":scheme", "https"},
                                  {":authority", "a"}}));
        for (size_t sent = 0; sent < body; sent += 16000) {
            const size_t n = std::min<size_t>(16000, body - sent);
            client += frame(kData, sent + n == body ? kEndStream : 0, 1, std::string(n, 'b'));
        }
        if (extra_data) {
            client += frame(kData, 0, 1, "late");   // after END_STREAM
            client += frame(kData, 0, 9, "ghost");  // a stream never opened
        }
        return std::make_pair(client, server);
    };
    // The client's preface and SETTINGS, then the server's settings (in force before the
    // client's DATA), then the rest of the client's bytes in segments.
    auto feed = [](H2Run& r, const std::string& c, const std::string& s) {
        Conversation conv;
        r.h.feed(conv.client(tcp_flag::kSyn));
        r.h.feed(conv.server(tcp_flag::kSyn | kA));
        r.h.feed(conv.client(kA));
        const size_t first = kPreface.size() + 15;
        r.h.feed(conv.client(kPA, c.substr(0, first)));
        r.h.feed(conv.server(kPA, s));
        for (size_t i = first; i < c.size(); i += 1400)
            r.h.feed(conv.client(kPA, c.substr(i, 1400)));
        r.h.p->finish(Timestamp{r.h.t + 1});
    };
    {  // the server cut the window to 100 bytes: 1,000 bytes of DATA overrun it
        H2Run r;
        const auto [c, s] = conversation(100, 1000, false);
        feed(r, c, s);
        EXPECT_TRUE(has(r.anomalies(), "h2_flow_control"));
        EXPECT_FALSE(has(r.anomalies(), "h2_stream_state"));
    }
    {  // raised to 1 MiB with the connection window: 200,000 bytes are in bounds; then the
       // stream-state violations
        H2Run r;
        const auto [c, s] = conversation(1u << 20, 200000, true);
        feed(r, c, s);
        EXPECT_FALSE(has(r.anomalies(), "h2_flow_control"));
        EXPECT_TRUE(has(r.anomalies(), "h2_stream_state"));
        EXPECT_EQ(
            r.h.p->http2_counters().anomalies[static_cast<size_t>(http2::H2Anomaly::StreamState)],
            2u);
        EXPECT_EQ(r.h.sink.of_type("http").size(), 1u);  // the request itself is inspected
    }
}

// Bodies held by HTTP/2 streams: one connection gets at most its quota, and under pressure an
// idle stream gives its buffer up to a request of either framing (and the other way round), so
// slow bodies cannot keep other flows' bodies from the rules.
TEST(Http2Stage, BodyBuffersHaveAQuotaAndAreReclaimedAcrossFramings) {
    auto open_bodies = [](Encoder& ce, int n) {
        std::string c = kPreface + settings({});
        for (int i = 0; i < n; ++i) {
            const uint32_t id = static_cast<uint32_t>(2 * i + 1);
            c += frame(kHeaders, kEndHeaders, id,
                       ce.block({{":method", "POST"},
                                 {":path", "/v1/messages"},
                                 {":scheme", "https"},
                                 {":authority", "a"}}));
            c += frame(kData, 0, id, "partial body, never finished");  // held
        }
        return c;
    };
    // A connection that stays open (no FIN): its bodies stay held.
    auto hold = [](Harness& h, uint16_t port, const std::string& client,
                   const std::string& server) {
        Conversation c;
        c.cport = port;
        h.feed(c.client(tcp_flag::kSyn));
        h.feed(c.server(tcp_flag::kSyn | kA));
        h.feed(c.client(kA));
        h.feed(c.client(kPA, client));
        h.feed(c.server(kPA, server));
    };
    {  // the quota
        EngineConfig cfg;
        cfg.http2.body_buffers_per_connection = 2;
        H2Run r(cfg);
        Encoder ce;
        hold(r.h, 43210, open_bodies(ce, 3), settings({}));
        EXPECT_TRUE(has(r.anomalies(), "h2_body_quota"));
        r.h.p->finish(Timestamp{r.h.t + 1});
        EXPECT_EQ(r.h.p->pools().body_buffers, 0u);
        EXPECT_EQ(r.h.p->audit(), "");
    }
    {  // HTTP/2 streams hold every body buffer; an HTTP/1.1 request still gets one
        EngineConfig cfg;
        cfg.http.body_buffers = 2;
        cfg.http.reclaim_after_ms = 1;
        cfg.rules = evil_body_rule();
        H2Run r(cfg);
        Encoder ce;
        hold(r.h, 43211, open_bodies(ce, 2), settings({}));
        EXPECT_EQ(r.h.p->pools().body_buffers, 2u);
        r.h.t += 5'000'000;
        Conversation h1;
        h1.cport = 43212;
        r.h.feed(h1.client(tcp_flag::kSyn));
        r.h.feed(h1.server(tcp_flag::kSyn | kA));
        r.h.feed(h1.client(kA));
        r.h.feed(h1.client(kPA,
                           "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n"
                           "xEVILx"));
        const auto alerts = r.h.sink.of_type("alert");
        ASSERT_EQ(alerts.size(), 1u);
        EXPECT_EQ(alerts[0]["src_port"], 43212);
        EXPECT_EQ(r.h.p->http2_counters()[http2::H2Ctr::BodiesReclaimed], 1u);
        bool said = false;
        for (const auto& a : r.h.sink.of_type("anomaly"))
            said |= a["anomaly"]["event"] == "http_buffer_reclaimed" &&
                    a["anomaly"]["layer"] == "http2" && a["src_port"] == 43211;
        EXPECT_TRUE(said);
        // And the other way round: an HTTP/1.1 body held, an HTTP/2 request takes it back.
        Conversation h1b;
        h1b.cport = 43213;
        r.h.feed(h1b.client(tcp_flag::kSyn));
        r.h.feed(h1b.server(tcp_flag::kSyn | kA));
        r.h.feed(h1b.client(kA));
        r.h.feed(h1b.client(kPA,
                            "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 90\r\n\r\n"
                            "slow"));
        r.h.t += 5'000'000;
        Encoder ce2;
        std::string c2 = kPreface + settings({}) +
                         frame(kHeaders, kEndHeaders, 1,
                               ce2.block({{":method", "POST"},
                                          {":path", "/v1/messages"},
                                          {":scheme", "https"},
                                          {":authority", "a"}})) +
                         frame(kData, kEndStream, 1, "yEVILy");
        r.run(c2, settings({}), {}, 43214, false);
        size_t evil = 0;
        for (const auto& a : r.h.sink.of_type("alert")) evil += a["src_port"] == 43214;
        EXPECT_EQ(evil, 1u);
        r.h.p->finish(Timestamp{r.h.t + 1});
        EXPECT_EQ(r.h.p->pools().body_buffers, 0u);
        EXPECT_EQ(r.h.p->audit(), "");
    }
}

// Each HTTP/2 transaction hands the correlator its client's fingerprint, next to the JA4.
TEST(Http2Stage, ObservationsCarryTheClientFingerprint) {
    struct Sink final : account::ObservationSink {
        std::vector<account::Observation> seen;
        void observe(const account::Observation& o) override { seen.push_back(o); }
    } sink;
    H2Run r;
    r.h.p->set_observation_sink(&sink);
    const Exchange x;
    r.run(x.client, x.server);
    ASSERT_EQ(sink.seen.size(), 1u);  // one request carried a credential (stream 3)
    EXPECT_EQ(sink.seen[0].h2fp_hash,
              account::hash_item("3:100;4:10485760;2:0|1048510465|0|m,p,s,a"));
}

// RST_STREAM and GOAWAY error codes.
TEST(Http2Keywords, ErrorCodes) {
    EngineConfig cfg;
    cfg.rules = compile_test_rules(
        "alert http any any -> any any (msg:\"cancel\"; http2.errorcode:CANCEL; sid:11;)\n"
        "alert http any any -> any any (msg:\"calm\"; flow:to_client; "
        "http2.errorcode:ENHANCE_YOUR_CALM; sid:12;)\n"
        "alert http any any -> any any (msg:\"numeric\"; http2.errorcode:8; sid:13;)\n");
    H2Run r(cfg);
    Encoder ce;
    std::string client = kPreface + settings({{3, 100}});
    client += frame(kHeaders, kEndHeaders, 1,
                    ce.block({{":method", "POST"},
                              {":path", "/v1/messages"},
                              {":scheme", "https"},
                              {":authority", "a"}}));
    client += frame(kRst, 0, 1, u32(8));  // CANCEL: the request ends truncated
    const std::string server = settings({}) + frame(7, 0, 0, u32(1) + u32(11));  // GOAWAY
    r.run(client, server);
    std::map<int, int> by_sid;
    for (const auto& a : r.h.sink.of_type("alert")) ++by_sid[a["alert"]["signature_id"].get<int>()];
    EXPECT_EQ(by_sid[11], 1);
    EXPECT_EQ(by_sid[13], 1);
    EXPECT_EQ(by_sid.count(12), 0u);  // the stream ended before the server's GOAWAY
}

// Mistakes point at the keyword's value (file:line:col), as for every other keyword.
TEST(Http2Keywords, ErrorsNameThePlace) {
    struct Case {
        std::string rule, message;
    };
    for (const Case& c : std::vector<Case>{
             {"http2.frametype:FOO;", "expects a frame type"},
             {"http2.errorcode:-1;", "expects an error code"},
             {"http2.settings:SETTINGS_BOGUS=1;", "expects a setting"},
             {"http2.settings:SETTINGS_ENABLE_PUSH=x;", "NAME=N"},
             {"http2.window:abc;", "http2.window expects"},
             {"http2.window:5-6;", "http2.window expects"},
             {"http2.priority:1;", "unknown keyword 'http2.priority'"},
         }) {
        const std::string text = "alert http any any -> any any (msg:\"m\"; " + c.rule + " sid:1;)";
        const auto f = rules::parse_rules(text, "t.rules");
        ASSERT_FALSE(f.ok()) << c.rule;
        EXPECT_NE(f.errors[0].format().find(c.message), std::string::npos) << f.errors[0].format();
        EXPECT_EQ(f.errors[0].format().find("t.rules:1:"), 0u) << f.errors[0].format();
    }
    const auto tls = rules::parse_rules(
        "alert tls any any -> any any (msg:\"m\"; http2.frametype:DATA; sid:1;)", "t.rules");
    ASSERT_FALSE(tls.ok());
}

}  // namespace sluice::testing
