// The rule language on arbitrary text: parse in both dialects; when a set is valid, compile
// it and match it against fixed buffers. Errors must carry a location inside the input.
#include <string>

#include "fuzz/fuzz_target.h"
#include "rules/compiled_rules.h"
#include "rules/reference_evaluator.h"
#include "rules/rule_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace sluice;
    using namespace sluice::rules;
    if (size > 4096) return 0;
    const std::string text(reinterpret_cast<const char*>(data), size);
    for (Dialect d : {Dialect::Auto, Dialect::Suricata, Dialect::Snort3}) {
        ParseOptions po;
        po.dialect = d;
        const ParsedFile pf = parse_rules(text, "f.rules", po);
        for (const RuleError& e : pf.errors)
            if (e.where.line == 0 || e.message.empty()) __builtin_trap();
    }
    // Both loading modes (by the input's length, so the text stays the fuzzer's): a set built
    // rule by rule lists each skipped rule with a location.
    RuleSetOptions o;
    o.skip_invalid = (size & 1) != 0;
    auto rs = build_rule_set({{"f.rules", text}}, o);
    if (rs.set)
        for (const RuleError& e : rs.set->skipped)
            if (e.where.line == 0 || e.message.empty()) __builtin_trap();
    if (!rs.set || rs.set->rules.size() > 32) return 0;
    auto shared = std::shared_ptr<const RuleSet>(std::move(rs.set));
    auto c = CompiledRules::compile(shared);
    if (!c.rules) return 0;
    Matcher m(c.rules);
    ReferenceEvaluator ref(shared);
    BufferSet b;
    // Lines (per-line buffers), base64 ("admin"), digits and small binary numbers (byte
    // variables), and TLS facts.
    static constexpr char kValue[] =
        "POST /v1/messages abc ABC chain of thought \xE6\x80\x9D 200\r\nHost: YWRtaW4=\r\n"
        "L05\x01\x03E";
    for (size_t i = 0; i < kBufferCount; ++i)
        b.set(static_cast<Buffer>(i), std::string_view(kValue, sizeof kValue - 1));
    TlsFacts tls;
    tls.version = 0x0303;
    tls.states = ssl_state_bit::kServerHello | ssl_state_bit::kServerKeyx;
    b.tls = &tls;
    MatchContext ctx;
    ctx.src = *IpAddress::parse("10.0.0.1");
    ctx.dst = *IpAddress::parse("10.0.0.2");
    std::vector<uint32_t> got, want;
    for (size_t p = 0; p < kInspectPointCount; ++p) {
        m.match(static_cast<InspectPoint>(p), b, ctx, got);
        ref.match(static_cast<InspectPoint>(p), b, ctx, want);
        // The matcher may give up on pathological rules (work budget): only then may they differ.
        if (got != want && m.counters().budget_exhausted == 0) __builtin_trap();
    }
    return 0;
}
