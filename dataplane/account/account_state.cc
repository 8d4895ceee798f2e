#include "account/account_state.h"

#include <cmath>
#include <type_traits>

#include "common/hash.h"

namespace sluice::account {

RuleClass rule_class_of(std::string_view ct) {
    if (ct.starts_with("llm-distillation")) return RuleClass::Distillation;
    if (ct == "llm-reseller") return RuleClass::Reseller;
    if (ct == "llm-client-spoofing") return RuleClass::ClientSpoofing;
    if (ct == "bot-farm") return RuleClass::BotFarm;
    if (ct == "llm-recon") return RuleClass::Recon;
    return RuleClass::Other;
}

std::string_view rule_class_name(RuleClass c) {
    switch (c) {
        case RuleClass::Distillation:
            return "distillation";
        case RuleClass::Reseller:
            return "reseller";
        case RuleClass::ClientSpoofing:
            return "client_spoofing";
        case RuleClass::BotFarm:
            return "bot_farm";
        case RuleClass::Recon:
            return "recon";
        case RuleClass::Other:
        case RuleClass::Count:
            break;
    }
    return "other";
}

IpAddress network_prefix(const IpAddress& a) {
    return a.masked(a.version == IpVersion::V4 ? 24 : 48);
}

void AccountState::Generation::clear() {
    ips.clear();
    prefixes.clear();
    ja4.clear();
    uas.clear();
    asns.clear();
    requests = in_tokens = out_tokens = bytes = mismatches = 0;
    hits.fill(0);
}

AccountState::AccountState(uint64_t window_ns) : half_ns_(std::max<uint64_t>(window_ns / 2, 1)) {}

size_t AccountState::bytes_per_account() {
    return sizeof(AccountState);  // sketches inline
}

void AccountState::roll(uint64_t now) {
    if (gen_start_ == 0) gen_start_ = now;
    if (now < gen_start_ + half_ns_) return;
    if (now >= gen_start_ + 2 * half_ns_) {
        prev_.clear();  // idle for a whole window: nothing recent remains
        cur_.clear();
    } else {
        std::swap(prev_, cur_);
        cur_.clear();
    }
    gen_start_ = now;
}

void AccountState::observe(const Observation& o, uint32_t asn) {
    roll(o.ts_ns);
    if (last_ns_ != 0 && o.ts_ns >= last_ns_) {
        const double gap = double(o.ts_ns - last_ns_) / 1e9;
        gap_n_ += 1;
        const double d = gap - gap_mean_;
        gap_mean_ += d / gap_n_;
        gap_m2_ += d * (gap - gap_mean_);
    }
    last_ns_ = o.ts_ns;
    Generation& g = cur_;
    g.requests += 1;
    const auto bytes_of = [](const IpAddress& a) {
        return std::span<const uint8_t>(a.bytes.data(), a.size());
    };
    g.ips.add(hash_bytes(bytes_of(o.src), 1));
    g.prefixes.add(hash_bytes(bytes_of(network_prefix(o.src)), 2));
    if (o.ja4_hash) g.ja4.add(mix64(o.ja4_hash));
    if (o.ua_hash) g.uas.add(mix64(o.ua_hash));
    if (o.h2fp_hash) g.h2fps.add(mix64(o.h2fp_hash));
    if (o.quic_ja4_hash) g.quic_ja4.add(mix64(o.quic_ja4_hash));
    if (asn != 0) g.asns.add(mix64(asn));
    if (o.input_tokens > 0) g.in_tokens += o.input_tokens;
    if (o.output_tokens > 0) g.out_tokens += o.output_tokens;
    g.bytes += double(o.request_bytes) + double(o.response_bytes);
    if (o.claim_mismatch) g.mismatches += 1;
    for (size_t c = 0; c < g.hits.size(); ++c)
        if (o.hit_classes & (1u << c)) g.hits[c] += 1;
}

AccountState::Totals AccountState::totals(uint64_t now) {
    roll(now);
    Totals t;
    t.requests = cur_.requests + prev_.requests;
    for (size_t c = 0; c < t.hits.size(); ++c) t.hits[c] = cur_.hits[c] + prev_.hits[c];
    return t;
}

AccountSignals AccountState::signals(uint64_t now) {
    roll(now);
    AccountSignals s;
    auto both = [](const auto& a, const auto& b) {
        return std::remove_cvref_t<decltype(a)>::estimate_union(a, b);
    };
    s.requests = cur_.requests + prev_.requests;
    s.distinct_ips = both(cur_.ips, prev_.ips);
    s.distinct_prefixes = both(cur_.prefixes, prev_.prefixes);
    s.distinct_ja4 = both(cur_.ja4, prev_.ja4);
    s.distinct_user_agents = both(cur_.uas, prev_.uas);
    s.distinct_asns = both(cur_.asns, prev_.asns);
    s.distinct_h2_fingerprints = both(cur_.h2fps, prev_.h2fps);
    s.distinct_quic_ja4 = both(cur_.quic_ja4, prev_.quic_ja4);
    s.input_tokens = cur_.in_tokens + prev_.in_tokens;
    s.output_tokens = cur_.out_tokens + prev_.out_tokens;
    s.bytes = cur_.bytes + prev_.bytes;
    s.claim_mismatches = cur_.mismatches + prev_.mismatches;
    for (size_t c = 0; c < s.hits.size(); ++c) s.hits[c] = cur_.hits[c] + prev_.hits[c];
    s.interarrival_cv = gap_n_ >= 2 && gap_mean_ > 0 ? std::sqrt(gap_m2_ / (gap_n_ - 1)) / gap_mean_
                                                     : -1;  // unknown until three requests
    return s;
}

}  // namespace sluice::account
