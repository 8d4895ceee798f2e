// The correlator on arbitrary observation streams: a policy (the input's text up to the first
// NUL, or a small-capacity policy with every kind of link and target when that text is not
// one), then 12-byte observations. Whatever arrives, nothing crashes, the table stays within
// its capacity and every query answers JSON.
#include <cstring>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "account/correlator.h"
#include "fuzz/fuzz_target.h"
#include "verdict/enforcement.h"

namespace {

using namespace sluice;
using namespace sluice::account;

constexpr const char* kFallback = R"(
window: 60
clusters: {link_by: [ip, prefix, ja4_ua, template], template_prompts: all, template_min_bytes: 0}
capacity: {accounts: 64, enforced: 16, keys: 256}
rules:
  - {name: d, signal: hits.distillation, above: 0, score: 100}
  - {name: r, signal: hits.reseller, above: 0, score: 60}
  - {name: c, signal: cluster_size, above: 3, score: 30}
  - {name: n, signal: prefix_new_accounts, above: 5, score: 30}
actions:
  - {score: 100, action: block, hold: 30}
  - {score: 60, action: rate-limit, rate_per_minute: 5, target: cluster}
  - {score: 50, action: block, target: prefix}
  - {score: 30, action: alert}
)";

struct Sink final : EventSink {
    bool emit(EveOrder, std::string_view json) override {
        if (!nlohmann::json::accept(json)) __builtin_trap();
        return true;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
    const size_t text_len = nul != nullptr ? static_cast<size_t>(nul - data) : 0;
    std::string err;
    std::optional<Policy> p;
    if (text_len > 0)
        p = Policy::parse(std::string(reinterpret_cast<const char*>(data), text_len), "f.yaml",
                          err);
    if (!p) p = Policy::parse(kFallback, "fallback.yaml", err);
    if (!p) __builtin_trap();
    auto policy = std::make_shared<const Policy>(std::move(*p));
    Sink sink;
    Correlator c(policy, &sink, 1);
    EnforcementSlot slot;
    RetainingPublisher pub(slot);
    c.set_publisher(&pub);
    const uint8_t* in = nul != nullptr ? nul + 1 : data;
    size_t left = size - static_cast<size_t>(in - data);
    uint64_t ts = 1'700'000'000'000'000'000ull, seq = 1;
    size_t n = 0;
    for (; left >= 12 && n < 1500; in += 12, left -= 12, ++n) {
        // account (1 byte: few distinct, so they repeat; high bit: one of many), time step,
        // address (2 bytes into 100.64.x.y, or IPv6 when the flag says), hits, JA4/UA, prompt.
        Observation o;
        const unsigned a = in[0] & 0x80 ? (in[0] << 8 | in[1]) : in[0];
        std::snprintf(o.account.data(), 17, "%016x", a);
        ts += uint64_t{in[2]} * (in[3] & 1 ? 1'000'000'000ull : 1'000'000ull);
        o.ts_ns = ts;
        o.seq = seq++;
        char addr[48];
        if (in[3] & 2)
            std::snprintf(addr, sizeof addr, "2001:db8:%x::%x", in[4], in[5]);
        else
            std::snprintf(addr, sizeof addr, "100.64.%u.%u", in[4], in[5]);
        o.src = *IpAddress::parse(addr);
        o.hit_classes = in[6] & 0x3f;
        o.ja4_hash = in[7] & 0x0f;
        o.ua_hash = in[7] >> 4;
        o.prompt_simhash = uint64_t{in[8]} * 0x0101010101010101ull ^ in[9];
        o.prompt_bytes = in[10];
        o.prompt_head = in[11] & 0x0f;
        o.prompt_tail = in[11] >> 4;
        o.pushed_ns = seq;
        c.observe(o);
        if (c.accounts() > policy->capacity().accounts) __builtin_trap();
        if ((n & 63) == 0) c.flush();
    }
    c.flush();
    for (const std::string& j : {c.top_json(20), c.clusters_json(20)})
        if (!nlohmann::json::accept(j)) __builtin_trap();
    std::ostringstream out;
    c.write_accounts(out);
    if (const Correlator::Entry* e = c.find("0000000000000001"))
        if (!nlohmann::json::accept(c.show_json(e->id))) __builtin_trap();
    return 0;
}
