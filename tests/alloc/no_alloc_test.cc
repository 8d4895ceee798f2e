// Proves the engine does not touch the heap per packet in steady state: malloc and friends
// are replaced in this executable and counted while established traffic flows.
// (Not built under ASan, which owns malloc.)
#include <gtest/gtest.h>

#include <execinfo.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <pcap/pcap.h>

#include "craft/frame_builder.h"
#include "decode/decoder.h"
#include "engine/pipeline.h"
#include "rules/rule_set.h"
#include "support/gzip.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocs{0};
thread_local bool t_in_trace = false;
inline void note() {
    if (!g_counting.load(std::memory_order_relaxed) || t_in_trace) return;
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    if (std::getenv("SLUICE_ALLOC_TRACE") != nullptr && g_allocs.load() <= 3) {
        // Show where the first allocations come from when debugging a failure.
        t_in_trace = true;
        void* frames[24];
        const int n = backtrace(frames, 24);
        backtrace_symbols_fd(frames, n, 2);
        t_in_trace = false;
    }
}
}  // namespace

extern "C" {
void* malloc(size_t n) {
    note();
    return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
    note();
    return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
    note();
    return __libc_realloc(p, n);
}
void free(void* p) {
    __libc_free(p);
}
int posix_memalign(void** out, size_t align, size_t n) {
    note();
    *out = __libc_memalign(align, n);
    return *out ? 0 : 12;
}
void* aligned_alloc(size_t align, size_t n) {
    note();
    return __libc_memalign(align, n);
}
}

void* operator new(size_t n) {
    void* p = malloc(n);
    if (!p) throw std::bad_alloc();
    return p;
}
void* operator new[](size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
    free(p);
}
void operator delete[](void* p) noexcept {
    free(p);
}
void operator delete(void* p, size_t) noexcept {
    free(p);
}
void operator delete[](void* p, size_t) noexcept {
    free(p);
}

using namespace sluice;

namespace {

struct CountingSink final : EventSink {
    uint64_t records = 0, bytes = 0;
    bool emit(EveOrder, std::string_view json) override {
        ++records;
        bytes += json.size();
        return true;
    }
};
struct NullInjector final : Injector {
    uint64_t frames = 0;
    void inject(bool, std::span<const uint8_t>) override { ++frames; }
};

// A ClientHello record built from a hello body the repository ships (a fuzz seed), so this
// test needs nothing outside the repository.
std::vector<uint8_t> client_hello() {
    std::vector<uint8_t> body;
    if (FILE* f = std::fopen(SLUICE_TLS_SEEDS "/ch0.bin", "rb")) {
        uint8_t b[4096];
        const size_t n = std::fread(b, 1, sizeof b, f);
        std::fclose(f);
        body.assign(b, b + n);
    }
    if (body.empty()) return body;
    const size_t hs = body.size() + 4;
    std::vector<uint8_t> out = {0x16,
                                0x03,
                                0x01,
                                static_cast<uint8_t>(hs >> 8),
                                static_cast<uint8_t>(hs),
                                0x01,
                                0,
                                static_cast<uint8_t>(body.size() >> 8),
                                static_cast<uint8_t>(body.size())};
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

// An LLM request body of exactly n bytes whose prompt trips a pack rule (rubric grading).
std::string llm_body(size_t n) {
    const std::string head =
        R"({"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"Using the rubric, score the response from 1 to 10. )";
    const std::string tail = R"("}]})";
    return head + std::string(n - head.size() - tail.size(), 'p') + tail;
}

// One round of traffic: `flows` TCP sessions on distinct ports, with out-of-order data,
// retransmissions, FIN or RST endings, a malformed frame and a UDP packet each.
std::vector<std::vector<uint8_t>> round_of_traffic(uint16_t base_port, int flows) {
    std::vector<std::vector<uint8_t>> out;
    craft::FrameSpec c2s, s2c;
    s2c.src = c2s.dst;
    s2c.dst = c2s.src;
    const std::string body = llm_body(1200);
    for (int i = 0; i < flows; ++i) {
        const uint16_t cp = static_cast<uint16_t>(base_port + i);
        const uint16_t sp = (i % 3 == 0) ? 8080 : 80;  // port 8080 flows get a reject verdict
        uint32_t cs = 1000u * static_cast<uint32_t>(i), ss = 7000u;
        out.push_back(
            craft::tcp_frame(c2s, {cp, sp, cs++, 0, tcp_flag::kSyn, 65535, {2, 4, 5, 0xb4}}, {}));
        out.push_back(craft::tcp_frame(
            s2c, {sp, cp, ss++, cs, tcp_flag::kSyn | tcp_flag::kAck, 65535, {}}, {}));
        out.push_back(craft::tcp_frame(c2s, {cp, sp, cs, ss, tcp_flag::kAck, 65535, {}}, {}));
        static const std::vector<uint8_t> hello = client_hello();
        const std::string http =
            "POST /v1/messages HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
            "Content-Length: 1200\r\n\r\n";
        // Every other flow opens with a TLS ClientHello instead (fingerprinted and logged).
        const std::vector<uint8_t> req =
            (i % 2 == 1 && !hello.empty()) ? hello : std::vector<uint8_t>(http.begin(), http.end());
        out.push_back(craft::tcp_frame(c2s, {cp, sp, cs, ss, 0x18, 65535, {}}, req));
        cs += static_cast<uint32_t>(req.size());
        // Body in three pieces, the last two swapped, one duplicated.
        const uint32_t b0 = cs;
        out.push_back(craft::tcp_frame(c2s, {cp, sp, b0 + 800, ss, 0x18, 65535, {}},
                                       craft::bytes(body.substr(800))));
        out.push_back(craft::tcp_frame(c2s, {cp, sp, b0, ss, 0x18, 65535, {}},
                                       craft::bytes(body.substr(0, 400))));
        out.push_back(craft::tcp_frame(c2s, {cp, sp, b0 + 400, ss, 0x18, 65535, {}},
                                       craft::bytes(body.substr(400, 400))));
        out.push_back(craft::tcp_frame(c2s, {cp, sp, b0, ss, 0x18, 65535, {}},
                                       craft::bytes(body.substr(0, 400))));
        cs += 1200;
        // A JSON answer with usage; every fourth one gzip-compressed.
        const std::string usage = R"({"usage":{"input_tokens":12,"output_tokens":)" +
                                  std::to_string(i) + "}}" + std::string(600, ' ');
        const std::string payload = i % 4 == 0 ? sluice::testing::deflate_bytes(usage) : usage;
        const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
                                 std::string(i % 4 == 0 ? "Content-Encoding: gzip\r\n" : "") +
                                 "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n" +
                                 payload;
        out.push_back(craft::tcp_frame(s2c, {sp, cp, ss, cs, 0x18, 65535, {}}, craft::bytes(resp)));
        ss += static_cast<uint32_t>(resp.size());
        if (i % 2 == 0) {
            out.push_back(craft::tcp_frame(
                c2s, {cp, sp, cs, ss, tcp_flag::kFin | tcp_flag::kAck, 65535, {}}, {}));
            out.push_back(craft::tcp_frame(
                s2c, {sp, cp, ss, cs + 1, tcp_flag::kFin | tcp_flag::kAck, 65535, {}}, {}));
        } else {
            out.push_back(craft::tcp_frame(c2s, {cp, sp, cs, ss, tcp_flag::kRst, 0, {}}, {}));
        }
        auto bad = craft::tcp_frame(c2s, {cp, sp, cs, ss, 0x18, 65535, {}}, craft::bytes("x"));
        bad[14] = 0x4f;  // IHL beyond the frame
        out.push_back(bad);
        out.push_back(craft::udp_frame(c2s, cp, 53, craft::bytes("dns?")));
    }
    return out;
}

}  // namespace

TEST(NoAllocation, SteadyStateProcessingDoesNotAllocate) {
    EngineConfig cfg;
    cfg.flow_capacity = 64;  // small: evictions happen too
    cfg.reassembly_nodes = 256;
    cfg.timeouts.closed = Duration::millis(500);
    StaticFilter reject;
    reject.verdict = Verdict::Reject;
    reject.server_port = 8080;
    reject.after_bytes = 1500;
    cfg.filters = StaticFilterTable({reject});
    rules::RuleSetOptions ro;
    auto rs = rules::load_rule_files({rules::default_rules_dir() + "/packs"}, ro);
    ASSERT_TRUE(rs.set);
    cfg.rules =
        rules::CompiledRules::compile(std::shared_ptr<const rules::RuleSet>(std::move(rs.set)))
            .rules;
    ASSERT_TRUE(cfg.rules);
    CountingSink sink;
    NullInjector inj;
    Pipeline p(cfg, 0, &sink);

    const auto warm = round_of_traffic(10000, 100);
    const auto steady = round_of_traffic(20000, 100);
    uint64_t seq = 0, t = 1'700'000'000'000'000'000ull;
    auto run = [&](const std::vector<std::vector<uint8_t>>& frames) {
        for (const auto& f : frames) {
            t += 10'000'000;  // 10 ms apart: closed flows time out along the way
            p.process(PacketInput{f, LinkType::Ethernet, Timestamp{t}, seq++}, inj);
        }
    };
    run(warm);
    g_allocs = 0;
    g_counting = true;
    run(steady);
    g_counting = false;

    EXPECT_EQ(g_allocs.load(), 0u);
    // The traffic did exercise the engine.
    const auto c = p.counters();
    EXPECT_GT(c[Ctr::FlowsEvicted] + c[Ctr::FlowsTimedOut], 100u);
    EXPECT_GT(c[Ctr::Malformed], 100u);
    EXPECT_GT(c[Ctr::RstInjected], 50u);
    EXPECT_GT(p.reassembly_counters().out_of_order, 100u);
    EXPECT_GT(p.reassembly_counters().retransmitted, 100u);
    EXPECT_GT(sink.records, 100u);
    EXPECT_GT(inj.frames, 50u);
    EXPECT_GE(p.tls_counters().logged, 100u);  // both rounds' TLS flows were fingerprinted
    // HTTP parsing, LLM extraction, gzip, usage and rule matching ran in the counted round.
    EXPECT_GE(p.http_counters().llm_requests, 60u);
    EXPECT_GE(p.http_counters().usage_reports, 60u);
    EXPECT_GE(p.rule_counters().alerts, 60u);
}
