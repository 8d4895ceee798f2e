// Test helpers: a scripted TCP conversation fed through a Pipeline, with EVE records and
// injected frames collected for assertions.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "craft/frame_builder.h"
#include "decode/decoder.h"
#include "engine/pipeline.h"
#include "rules/compiled_rules.h"
#include "rules/rule_set.h"

namespace sluice::testing {

using craft::FrameSpec;
using craft::TcpSpec;

struct CollectSink final : EventSink {
    std::vector<std::pair<EveOrder, std::string>> records;
    bool emit(EveOrder o, std::string_view json) override {
        records.emplace_back(o, std::string(json));
        return true;
    }
    std::vector<nlohmann::json> of_type(const std::string& t) const {
        std::vector<nlohmann::json> out;
        for (const auto& [o, r] : records) {
            auto j = nlohmann::json::parse(r);
            if (j["event_type"] == t) out.push_back(j);
        }
        return out;
    }
};

struct CollectInjector final : Injector {
    std::vector<std::pair<bool, std::vector<uint8_t>>> frames;
    void inject(bool along, std::span<const uint8_t> f) override {
        frames.emplace_back(along, std::vector<uint8_t>(f.begin(), f.end()));
    }
};

// A scripted TCP conversation between a client and a server.
struct Conversation {
    FrameSpec c2s, s2c;
    uint32_t cseq = 1000, sseq = 5000;
    uint16_t cport = 43210, sport = 80;
    Conversation() {
        s2c.src = c2s.dst;
        s2c.dst = c2s.src;
    }
    std::vector<uint8_t> client(uint8_t flags, const std::string& data = "") {
        TcpSpec t{cport, sport, cseq, sseq, flags, 65535, {}};
        auto f = craft::tcp_frame(c2s, t, craft::bytes(data));
        cseq += static_cast<uint32_t>(data.size()) +
                ((flags & (tcp_flag::kSyn | tcp_flag::kFin)) ? 1 : 0);
        return f;
    }
    std::vector<uint8_t> server(uint8_t flags, const std::string& data = "") {
        TcpSpec t{sport, cport, sseq, cseq, flags, 65535, {}};
        auto f = craft::tcp_frame(s2c, t, craft::bytes(data));
        sseq += static_cast<uint32_t>(data.size()) +
                ((flags & (tcp_flag::kSyn | tcp_flag::kFin)) ? 1 : 0);
        return f;
    }
};

inline constexpr uint8_t kA = tcp_flag::kAck, kPA = tcp_flag::kAck | tcp_flag::kPsh;

// Compiles rule text (Suricata dialect); a parse or compile error fails the calling test.
inline std::shared_ptr<const rules::CompiledRules> compile_test_rules(const std::string& text) {
    rules::RuleSetOptions o;
    auto rs = rules::build_rule_set({{"t.rules", text}}, o);
    for (auto& e : rs.errors) ADD_FAILURE() << e.format();
    if (!rs.set) return nullptr;
    auto c =
        rules::CompiledRules::compile(std::shared_ptr<const rules::RuleSet>(std::move(rs.set)));
    for (auto& e : c.errors) ADD_FAILURE() << e.format();
    return c.rules;
}

// The rule the evasion and bounds tests aim at: "EVIL" in a request body.
inline std::shared_ptr<const rules::CompiledRules> evil_body_rule() {
    return compile_test_rules(
        "alert http any any -> any any (msg:\"evil body\"; http.request_body; "
        "content:\"EVIL\"; sid:9001; rev:1;)\n");
}

struct Harness {
    EngineConfig cfg;
    CollectSink sink;
    CollectInjector inj;
    std::unique_ptr<Pipeline> p;
    uint64_t seq = 0;
    uint64_t t = 1'700'000'000ull * 1'000'000'000ull;
    explicit Harness(EngineConfig c = {})
        : cfg(std::move(c)), p(std::make_unique<Pipeline>(cfg, 0, &sink)) {}
    Disposition feed(const std::vector<uint8_t>& f) {
        t += 1'000'000;
        return p->process(PacketInput{f, LinkType::Ethernet, Timestamp{t}, seq++}, inj);
    }
};

}  // namespace sluice::testing
