// The whole engine (decode, flows, reassembly, detection, verdicts, EVE) over a sequence of
// frames: input is [u16 length][frame]... Each frame is copied to an exact-size heap buffer
// so AddressSanitizer sees any overread.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "engine/pipeline.h"
#include "fuzz/fuzz_target.h"
#include "rules/rule_set.h"
#include "tls/secret_feed.h"

namespace {

using namespace sluice;

struct NullSink final : EventSink {
    bool emit(EveOrder, std::string_view json) override { return !json.empty(); }
};
struct NullInjector final : Injector {
    void inject(bool, std::span<const uint8_t> f) override {
        if (f.empty()) __builtin_trap();
    }
    bool inject_on(uint16_t, std::span<const uint8_t> f) override {
        if (f.empty()) __builtin_trap();
        return true;
    }
};

const EngineConfig& config() {
    static const EngineConfig cfg = [] {
        EngineConfig c;
        c.flow_capacity = 8;      // small tables so eviction paths run
        c.reassembly_nodes = 16;  // and the pool runs dry
        c.reassembly_per_direction = 4096;
        c.tls.handshake_buffers = 2;
        c.tls.decrypt_sessions = 2;  // and so does the TLS handshake buffer pool
        // Sessions wait for secrets that never come (an empty feed): the inline hold, its
        // timeout and the reclaim of decryption sessions all run.
        c.tls.wait_for_secrets = true;
        c.tls.hold_for_secrets = true;
        c.tls.secret_wait_ms = 30;
        c.tls.reclaim_after_ms = 0;
        c.tls.pending_bytes = 2048;
        c.timeouts.embryonic = Duration::millis(50);
        c.timeouts.closed = Duration::millis(20);
        StaticFilter reject;
        reject.verdict = Verdict::Reject;
        reject.server_port = 443;
        reject.after_bytes = 200;
        c.filters = StaticFilterTable({reject});
        // Small HTTP pools so exhaustion paths run too; the shipped packs so rules run.
        c.http.sessions = 4;
        c.http.header_buffers = 2;
        c.http.body_buffers = 2;
        c.http.body_cap = 4096;
        c.http.decoders = 1;
        c.http.reclaim_after_ms = 0;  // reclaim on every exhaustion: that path runs too
        // Answers to stopped requests: few sessions, a short timer, a drop rule the seeds'
        // requests match, so the sender's every path runs on what follows.
        c.answers.sessions = 2;
        c.answers.rto_ms = 10;
        c.answers.max_retransmits = 2;
        rules::RuleSetOptions ro;
        std::vector<rules::RuleSource> sources;
        for (const auto& e :
             std::filesystem::directory_iterator(rules::default_rules_dir() + "/packs"))
            if (e.path().extension() == ".rules") {
                std::ifstream in(e.path());
                sources.push_back(
                    {e.path().string(), std::string(std::istreambuf_iterator<char>(in), {})});
            }
        sources.push_back({"answer.rules",
                           "drop http any any -> any any (msg:\"fuzz answer\"; http.uri; "
                           "content:\"random\"; sid:9990001;)\n"
                           "reject http any any -> any any (msg:\"fuzz answer\"; http.uri; "
                           "content:\"/v1/messages\"; sid:9990002;)\n"});
        // Packet rules: header keywords, IPv4 and TCP header buffers and payload on every
        // packet (the headers are read from the frame, so odd ones must be safe).
        sources.push_back({"packet.rules",
                           "alert ip any any -> any any (ipopts:any; ttl:<200; sid:9990003;)\n"
                           "alert tcp-pkt any any -> any any (flags:S+; tcp.mss:>0; "
                           "tcp.hdr; content:\"|02 04|\"; sid:9990004;)\n"
                           "alert ip any any -> any any (ipv4.hdr; content:\"|45|\"; depth:1; "
                           "fragbits:!M; sid:9990005;)\n"
                           "alert tcp any any -> any any (dsize:>4; content:\"POST\"; "
                           "sid:9990006;)\n"
                           "alert ip any any -> any any (ipv6.hdr; content:\"|06|\"; "
                           "sid:9990007;)\n"
                           "alert ip any any -> any any (udp.hdr; content:\"|01 bb|\"; sameip; "
                           "sid:9990008;)\n"});
        auto rs = rules::build_rule_set(sources, ro);
        if (rs.set) {
            auto compiled = rules::CompiledRules::compile(
                std::shared_ptr<const rules::RuleSet>(std::move(rs.set)));
            c.rules = compiled.rules;
        }
        if (!c.rules) __builtin_trap();
        return c;
    }();
    return cfg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    NullSink sink;
    NullInjector inj;
    Pipeline p(config(), 0, &sink);
    tls::SecretFeed feed(4);
    p.attach_secret_feed(feed);
    uint64_t seq = 0, t = 1'000'000'000;
    size_t i = 0;
    while (i + 2 <= size) {
        const size_t len = std::min<size_t>(size - i - 2, size_t{data[i]} << 8 | data[i + 1]);
        i += 2;
        std::unique_ptr<uint8_t[]> frame(new uint8_t[len ? len : 1]);
        std::memcpy(frame.get(), data + i, len);
        i += len;
        t += 7'000'000;
        const LinkType link = (seq % 5 == 4) ? LinkType::Raw : LinkType::Ethernet;
        p.process(PacketInput{{frame.get(), len}, link, Timestamp{t}, seq++}, inj);
        if (seq % 8 == 0) p.poll_secrets(Timestamp{t});
        if (seq % 4 == 0) p.tick(Timestamp{t}, inj);
    }
    p.finish(Timestamp{t});
    return 0;
}
