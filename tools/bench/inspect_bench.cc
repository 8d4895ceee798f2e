// Inspection throughput of one worker's engine on an LLM-API traffic mix, in three setups
// over the same frames: flow tracking + reassembly only (the baseline), + the HTTP stage
// (parsing, gzip, LLM extraction, usage), + the shipped rule packs. And rule compile time for
// generated sets of 1k and 10k rules. Prints JSON (tools/bench/inspect.py makes the table).
// A fourth setup adds account observations (identity, prompt signatures, the hand-over to the
// correlator's queue): the worker's cost of correlation, as a ratio to the packs alone.
//   sluice-bench-inspect [--flows N] [--passes N] [--compile]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "craft/frame_builder.h"
#include "engine/pipeline.h"
#include "rules/rule_set.h"

using namespace sluice;

namespace {

struct NullSink final : EventSink {
    uint64_t n = 0;
    bool emit(EveOrder, std::string_view) override {
        ++n;
        return true;
    }
};
// The worker's side of account correlation: observations built and handed over (a copy into
// a ring, as the spsc queue does); the correlator runs on its own core (accounts_bench).
struct ObservationRing final : account::ObservationSink {
    std::vector<account::Observation> ring = std::vector<account::Observation>(4096);
    uint64_t n = 0;
    void observe(const account::Observation& o) override { ring[n++ % ring.size()] = o; }
};
struct NullInjector final : Injector {
    void inject(bool, std::span<const uint8_t>) override {}
};

// Prompt material: mostly ordinary requests, a few that trip the packs.
const char* kPrompts[] = {
    "Write a Python function that merges two sorted lists and explain its complexity.",
    "Summarise the following meeting notes into action items for each attendee.",
    "Translate this paragraph into German, keeping the formal tone of the original letter.",
    "Review this SQL query for performance problems and suggest indexes.",
    "Draft a product description for a waterproof hiking backpack with 30 litres capacity.",
    "Explain the difference between TCP congestion control algorithms Reno and CUBIC.",
    "Using the rubric below, score the candidate response from 1 to 10.",
    "Imagine and articulate the internal reasoning behind the completed response, step by step.",
};

// A gzip body that decodes to 16 MiB (past the 8 MiB cap), about 16 KiB on the wire.
const std::string& bomb() {
    static const std::string b = [] {
        const std::string plain(16u << 20, 'A');
        z_stream zs{};
        deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
        std::string out(deflateBound(&zs, plain.size()), '\0');
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
        zs.avail_in = static_cast<uInt>(plain.size());
        zs.next_out = reinterpret_cast<Bytef*>(out.data());
        zs.avail_out = static_cast<uInt>(out.size());
        deflate(&zs, Z_FINISH);
        out.resize(zs.total_out);
        deflateEnd(&zs);
        return out;
    }();
    return b;
}

// HTTP/2 framing of the same exchanges (h2c with prior knowledge): one HPACK encoder per
// direction and connection, frames laid out by RFC 9113 section 4.1, DATA in 16 KiB frames.
struct H2Writer {
    nghttp2_hd_deflater* enc = nullptr;
    H2Writer() { nghttp2_hd_deflate_new(&enc, 4096); }
    ~H2Writer() { nghttp2_hd_deflate_del(enc); }
    H2Writer(const H2Writer&) = delete;
    H2Writer& operator=(const H2Writer&) = delete;
    static std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view p) {
        std::string f;
        const auto n = static_cast<uint32_t>(p.size());
        for (int s : {16, 8, 0}) f.push_back(static_cast<char>(n >> s));
        f.push_back(static_cast<char>(type));
        f.push_back(static_cast<char>(flags));
        for (int s : {24, 16, 8, 0}) f.push_back(static_cast<char>((stream >> s) & 0xff));
        return f.append(p);
    }
    std::string headers(uint32_t stream, const std::vector<std::pair<std::string, std::string>>& h,
                        bool end_stream) {
        std::vector<nghttp2_nv> nv;
        for (const auto& [n, v] : h)
            nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                          reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(),
                          v.size(), NGHTTP2_NV_FLAG_NONE});
        std::string block(nghttp2_hd_deflate_bound(enc, nv.data(), nv.size()), '\0');
        const auto n = nghttp2_hd_deflate_hd(enc, reinterpret_cast<uint8_t*>(block.data()),
                                             block.size(), nv.data(), nv.size());
        block.resize(n < 0 ? 0 : static_cast<size_t>(n));
        return frame(1, static_cast<uint8_t>(4 | (end_stream ? 1 : 0)), stream, block);
    }
    static std::string data(uint32_t stream, std::string_view body) {
        std::string out;
        for (size_t o = 0; o < body.size(); o += 16384) {
            const std::string_view part = body.substr(o, 16384);
            out += frame(0, o + part.size() == body.size() ? 1 : 0, stream, part);
        }
        return out;
    }
};

enum class Framing : uint8_t { Http1, Http2 };

struct Traffic {
    std::vector<std::vector<uint8_t>> frames;
    uint64_t bytes = 0;
    uint64_t requests = 0;
};

// `hostile`: one flow in ten plays an evasion or a state attack as well as its requests (an
// out-of-window RST, a conflicting retransmission, a gzip bomb body, a random credential per
// request, a hello that never completes), in turn.
Traffic make_traffic(int flows, uint32_t seed, bool hostile = false,
                     Framing framing = Framing::Http1) {
    std::mt19937 rng(seed);
    Traffic t;
    craft::FrameSpec c2s, s2c;
    c2s.src = *IpAddress::parse("198.51.100.10");
    c2s.dst = *IpAddress::parse("10.0.0.2");
    s2c.src = c2s.dst;
    s2c.dst = c2s.src;
    constexpr size_t kMss = 1448;
    auto push = [&](std::vector<uint8_t> f) {
        t.bytes += f.size();
        t.frames.push_back(std::move(f));
    };
    for (int i = 0; i < flows; ++i) {
        const uint16_t cp = static_cast<uint16_t>(10000 + i % 50000);
        c2s.src = IpAddress::v4(
            std::array<uint8_t, 4>{198, 51, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
        s2c.dst = c2s.src;
        uint32_t cs = rng(), ss = rng();
        push(craft::tcp_frame(c2s, {cp, 443, cs++, 0, tcp_flag::kSyn, 65535, {}}, {}));
        push(craft::tcp_frame(s2c, {443, cp, ss++, cs, tcp_flag::kSyn | tcp_flag::kAck, 65535, {}},
                              {}));
        push(craft::tcp_frame(c2s, {cp, 443, cs, ss, tcp_flag::kAck, 65535, {}}, {}));
        const int attack = hostile && i % 10 == 0 ? (i / 10) % 5 : -1;
        if (attack == 0)  // an RST far out of the window
            push(craft::tcp_frame(c2s, {cp, 443, cs + 50'000'000u, ss, tcp_flag::kRst, 65535, {}},
                                  {}));
        if (attack == 4) {  // a hello that never completes, then the requests anyway
            const std::string hello =
                std::string("\x16\x03\x01\x20\x00\x01\x00\x1f\xfc", 9) + std::string(300, 'h');
            push(craft::tcp_frame(c2s, {cp, 443, cs, ss, 0x18, 65535, {}}, craft::bytes(hello)));
            cs += static_cast<uint32_t>(hello.size());
        }
        const int reqs = 1 + static_cast<int>(rng() % 3);  // keep-alive
        const bool h2 = framing == Framing::Http2;
        H2Writer client_enc, server_enc;
        std::string client_preface, server_preface;
        if (h2) {
            client_preface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                             H2Writer::frame(4, 0, 0, std::string("\0\x03\0\0\0\x64", 6));
            server_preface = H2Writer::frame(4, 0, 0, "") + H2Writer::frame(4, 1, 0, "");
        }
        for (int k = 0; k < reqs; ++k) {
            const uint32_t stream_id = static_cast<uint32_t>(2 * k + 1);
            // Prompt of 1-16 KiB: a conversation history of sentences.
            std::string prompt;
            const size_t target = 1024 + rng() % 15360;
            while (prompt.size() < target) prompt += std::string(kPrompts[rng() % 6]) + "\\n";
            if (rng() % 20 == 0) prompt += kPrompts[6 + rng() % 2];
            const bool stream = rng() % 2 == 0;
            const std::string body =
                std::string(R"({"model":"claude-sonnet-4-5","max_tokens":2048,"stream":)") +
                (stream ? "true" : "false") +
                R"(,"system":"You are a helpful assistant.","messages":[{"role":"user","content":")" +
                prompt + R"("}]})";
            const std::string key =
                attack == 3 ? "sk-ant-api03-" + std::to_string(rng()) + std::to_string(rng())
                            : std::string("sk-ant-api03-BENCH");
            const std::string payload = attack == 2 ? bomb() : body;
            std::string req;
            if (h2) {
                std::vector<std::pair<std::string, std::string>> fields = {
                    {":method", "POST"},
                    {":path", "/v1/messages"},
                    {":scheme", "http"},
                    {":authority", "api.example.com"},
                    {"user-agent", "Anthropic/Python 0.40.0"},
                    {"x-api-key", key},
                    {"anthropic-version", "2023-06-01"},
                    {"content-type", "application/json"},
                    {"content-length", std::to_string(payload.size())}};
                if (attack == 2) fields.emplace_back("content-encoding", "gzip");
                req = (k == 0 ? client_preface : std::string()) +
                      client_enc.headers(stream_id, fields, false) +
                      H2Writer::data(stream_id, payload);
            } else {
                req =
                    "POST /v1/messages HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: "
                    "Anthropic/Python "
                    "0.40.0\r\nx-api-key: " +
                    key + "\r\nanthropic-version: 2023-06-01\r\n" +
                    (attack == 2 ? "Content-Encoding: gzip\r\n" : "") +
                    "Content-Type: application/json\r\nContent-Length: " +
                    std::to_string(payload.size()) + "\r\n\r\n" + payload;
            }
            for (size_t o = 0; o < req.size(); o += kMss) {
                const std::string seg = req.substr(o, kMss);
                if (attack == 1 && o == 0) {  // a first copy with other bytes, then the real one
                    std::string decoy = seg;
                    decoy.back() ^= 0x20;
                    push(craft::tcp_frame(c2s, {cp, 443, cs, ss, 0x18, 65535, {}},
                                          craft::bytes(decoy)));
                }
                push(craft::tcp_frame(c2s, {cp, 443, cs, ss, 0x18, 65535, {}}, craft::bytes(seg)));
                cs += static_cast<uint32_t>(seg.size());
            }
            push(craft::tcp_frame(s2c, {443, cp, ss, cs, tcp_flag::kAck, 65535, {}}, {}));
            std::string resp;
            if (stream) {
                std::string events = R"(event: message_start
data: {"type":"message_start","message":{"usage":{"input_tokens":900,"output_tokens":1}}}

)";
                for (int e = 0; e < 30; ++e)
                    events += R"(event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"some generated words here"}}

)";
                events += R"(event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":320}}

)";
                char len[16];
                std::snprintf(len, sizeof len, "%zx", events.size());
                resp =
                    h2 ? server_enc.headers(
                             stream_id, {{":status", "200"}, {"content-type", "text/event-stream"}},
                             false) +
                             H2Writer::data(stream_id, events)
                       : "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-"
                         "Encoding: chunked\r\n\r\n" +
                             std::string(len) + "\r\n" + events + "\r\n0\r\n\r\n";
            } else {
                const std::string json =
                    R"({"id":"msg_1","type":"message","content":[{"type":"text","text":")" +
                    std::string(1500 + rng() % 3000, 'w') +
                    R"("}],"usage":{"input_tokens":900,"output_tokens":320}})";
                resp = h2 ? server_enc.headers(stream_id,
                                               {{":status", "200"},
                                                {"content-type", "application/json"},
                                                {"content-length", std::to_string(json.size())}},
                                               false) +
                                H2Writer::data(stream_id, json)
                          : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-"
                            "Length: " +
                                std::to_string(json.size()) + "\r\n\r\n" + json;
            }
            if (h2 && k == 0) resp = server_preface + resp;
            for (size_t o = 0; o < resp.size(); o += kMss) {
                const std::string seg = resp.substr(o, kMss);
                push(craft::tcp_frame(s2c, {443, cp, ss, cs, 0x18, 65535, {}}, craft::bytes(seg)));
                ss += static_cast<uint32_t>(seg.size());
            }
            push(craft::tcp_frame(c2s, {cp, 443, cs, ss, tcp_flag::kAck, 65535, {}}, {}));
            ++t.requests;
        }
        push(craft::tcp_frame(c2s, {cp, 443, cs, ss, tcp_flag::kFin | tcp_flag::kAck, 65535, {}},
                              {}));
        push(craft::tcp_frame(
            s2c, {443, cp, ss, cs + 1, tcp_flag::kFin | tcp_flag::kAck, 65535, {}}, {}));
        push(craft::tcp_frame(c2s, {cp, 443, cs + 1, ss + 1, tcp_flag::kAck, 65535, {}}, {}));
    }
    return t;
}

struct Result {
    double seconds = 0;
    uint64_t alerts = 0, llm = 0, eve = 0;
};

Result run(const EngineConfig& cfg, const Traffic& t, int passes, bool accounts = false) {
    Result best;
    best.seconds = 1e9;
    for (int p = 0; p < passes; ++p) {
        NullSink sink;
        NullInjector inj;
        Pipeline pipe(cfg, 0, &sink);
        ObservationRing ring;
        if (accounts) pipe.set_observation_sink(&ring);
        uint64_t seq = 0, ts = 1'700'000'000'000'000'000ull;
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& f : t.frames)
            pipe.process(PacketInput{f, LinkType::Ethernet, Timestamp{ts += 1000}, seq++}, inj);
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s < best.seconds) {
            best.seconds = s;
            best.alerts = pipe.rule_counters().alerts;
            best.llm = pipe.http_counters().llm_requests;
            best.eve = sink.n;
        }
    }
    return best;
}

// A generated rule set of n rules in the packs' style: contents and pcres over the LLM and
// HTTP buffers, built from a vocabulary so patterns differ.
std::string generated_rules(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    const char* words[] = {"reasoning", "rubric",   "grade",   "trace",    "chain",
                           "thought",   "score",    "dataset", "sweep",    "template",
                           "assistant", "verbatim", "hidden",  "internal", "token",
                           "session",   "relay",    "pool",    "proxy",    "signup"};
    const char* bufs[] = {"llm.prompt", "llm.system",  "http.user_agent",
                          "http.uri",   "http.header", "http.request_body"};
    std::string out;
    for (int i = 0; i < n; ++i) {
        const std::string a = words[rng() % 20], b = words[rng() % 20];
        const std::string w = a + "-" + b + "-" + std::to_string(rng() % 100000);
        out += "alert http any any -> any any (msg:\"gen " + std::to_string(i) + "\"; " +
               bufs[rng() % 6] + "; content:\"" + w + "\"; nocase; ";
        if (rng() % 4 == 0) out += "pcre:\"/" + a + "\\s+\\w{2,12}\\s+" + b + "/i\"; ";
        out += "sid:" + std::to_string(5000000 + i) + ";)\n";
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    int flows = 2000, passes = 3;
    bool compile_only = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--flows") && i + 1 < argc) flows = std::atoi(argv[++i]);
        if (!std::strcmp(argv[i], "--passes") && i + 1 < argc) passes = std::atoi(argv[++i]);
        if (!std::strcmp(argv[i], "--compile")) compile_only = true;
    }
    std::printf("{");
    if (!compile_only) {
        const Traffic t = make_traffic(flows, 42);
        rules::RuleSetOptions ro;
        auto rs = rules::load_rule_files({rules::default_rules_dir() + "/packs"}, ro);
        auto packs =
            rules::CompiledRules::compile(std::shared_ptr<const rules::RuleSet>(std::move(rs.set)));
        EngineConfig base;
        base.flow_capacity = 1 << 16;
        base.eve_flow_records = false;
        base.http.enabled = false;
        EngineConfig http = base;
        http.http.enabled = true;
        EngineConfig full = http;
        full.rules = packs.rules;
        // What normalization costs on the baseline: software checksums and the bytes kept for
        // overlap comparison, off.
        EngineConfig bare = base;
        bare.normalize.verify_checksums = false;
        bare.normalize.retain_bytes = 0;
        const Result rb = run(bare, t, passes);
        const Result r0 = run(base, t, passes), r1 = run(http, t, passes),
                     r2 = run(full, t, passes), r3 = run(full, t, passes, true);
        auto row = [&](const char* name, const Result& r, bool comma) {
            std::printf(
                "\"%s\":{\"seconds\":%.4f,\"gbps\":%.3f,\"mpps\":%.3f,\"requests_per_s\":%.0f,"
                "\"ratio\":%.3f,\"alerts\":%llu,\"llm_requests\":%llu}%s",
                name, r.seconds, double(t.bytes) * 8 / r.seconds / 1e9,
                double(t.frames.size()) / r.seconds / 1e6, double(t.requests) / r.seconds,
                r0.seconds / r.seconds, (unsigned long long)r.alerts, (unsigned long long)r.llm,
                comma ? "," : "");
        };
        std::printf("\"traffic\":{\"flows\":%d,\"frames\":%zu,\"bytes\":%llu,\"requests\":%llu},",
                    flows, t.frames.size(), (unsigned long long)t.bytes,
                    (unsigned long long)t.requests);
        row("reassembly_only", r0, true);
        row("reassembly_unnormalized", rb, true);
        row("http", r1, true);
        row("http_rules", r2, true);
        row("http_rules_accounts", r3, true);
        std::printf("\"accounts_vs_rules\":%.3f,", r2.seconds / r3.seconds);
        // The same engine on the mix with one hostile flow in ten (same seed, so the benign
        // flows are the same), against the clean mix: bytes per second, both inline (normalizing
        // and dropping) and as monitor.
        const Traffic h = make_traffic(flows, 42, true);
        EngineConfig inl = full;
        inl.normalize.drop = inl.normalize.in_path = true;
        const Result clean = run(inl, t, passes), dirty = run(inl, h, passes);
        const double clean_bps = double(t.bytes) / clean.seconds,
                     dirty_bps = double(h.bytes) / dirty.seconds;
        // The same requests and answers over HTTP/2 (h2c, HPACK), against HTTP/1.1: the framing's
        // cost on the whole inspection path (packs on), requests per second as a ratio.
        const Traffic t2 = make_traffic(flows, 42, false, Framing::Http2);
        const Result h1 = run(full, t, passes), h2r = run(full, t2, passes);
        std::printf(
            "\"http2\":{\"frames\":%zu,\"bytes\":%llu,\"requests\":%llu,\"http1_requests_per_s\":"
            "%.0f,\"http2_requests_per_s\":%.0f,\"ratio\":%.3f,\"alerts_http1\":%llu,"
            "\"alerts_http2\":%llu,\"llm_http1\":%llu,\"llm_http2\":%llu},",
            t2.frames.size(), (unsigned long long)t2.bytes, (unsigned long long)t2.requests,
            double(t.requests) / h1.seconds, double(t2.requests) / h2r.seconds,
            (double(t2.requests) / h2r.seconds) / (double(t.requests) / h1.seconds),
            (unsigned long long)h1.alerts, (unsigned long long)h2r.alerts,
            (unsigned long long)h1.llm, (unsigned long long)h2r.llm);
        std::printf(
            "\"hostile\":{\"frames\":%zu,\"bytes\":%llu,\"clean_gbps\":%.3f,\"hostile_gbps\":%.3f,"
            "\"ratio\":%.3f,\"alerts_clean\":%llu,\"alerts_hostile\":%llu},",
            h.frames.size(), (unsigned long long)h.bytes, clean_bps * 8 / 1e9, dirty_bps * 8 / 1e9,
            dirty_bps / clean_bps, (unsigned long long)clean.alerts,
            (unsigned long long)dirty.alerts);
    }
    std::printf("\"compile\":{");
    for (int n : {1000, 10000}) {
        rules::RuleSetOptions ro;
        const auto t0 = std::chrono::steady_clock::now();
        auto rs = rules::build_rule_set({{"gen.rules", generated_rules(n, 7)}}, ro);
        const double parse_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        auto c =
            rules::CompiledRules::compile(std::shared_ptr<const rules::RuleSet>(std::move(rs.set)));
        std::printf(
            "\"%d\":{\"parse_seconds\":%.3f,\"compile_seconds\":%.3f,\"database_bytes\":%zu}%s", n,
            parse_s, c.rules ? c.rules->stats().compile_seconds : -1.0,
            c.rules ? c.rules->stats().database_bytes : 0, n == 1000 ? "," : "");
    }
    std::printf("}}\n");
    return 0;
}
