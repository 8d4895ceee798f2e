#include "account/correlator.h"

#include "common/timestamp.h"

namespace sluice::account {

Correlator::Correlator(std::shared_ptr<const Policy> policy, EventSink* sink, uint32_t source)
    : policy_(std::move(policy)), sink_(sink), source_(source) {}

const Correlator::Entry* Correlator::find(std::string_view account) const {
    auto it = accounts_.find(std::string(account));
    return it == accounts_.end() ? nullptr : it->second.get();
}

void Correlator::observe(const Observation& o) {
    ++ctr_.observations;
    const std::string id(o.account.data(), o.account.size());
    auto& slot = accounts_[id];
    if (!slot) {
        slot = std::make_unique<Entry>(static_cast<uint64_t>(policy_->window_s() * 1e9));
        ++ctr_.accounts;
    }
    Entry& e = *slot;
    e.hint = o.hint;
    e.hint_len = o.hint_len;
    e.state.observe(o);
    const AccountSignals s = e.state.signals(o.ts_ns);
    const Decision d = policy_->decide(o.account, s);
    if (d.verdict == e.verdict) {
        e.score = d.score;
        return;
    }
    if (e.verdict == Verdict::Pass) ++ctr_.flagged;
    if (d.verdict == Verdict::Pass) --ctr_.flagged;
    e.verdict = d.verdict;
    e.score = d.score;
    emit(o, id, e, s, d);
}

void Correlator::emit(const Observation& o, const std::string& id, const Entry& e,
                      const AccountSignals& s, const Decision& d) {
    if (sink_ == nullptr) return;
    char ts[40], src[48];
    format_eve_time(Timestamp{o.ts_ns}, ts);
    const size_t src_len = o.src.format(src);
    JsonBuilder& j = json_;
    j.reset();
    j.begin_object()
        .field("timestamp", std::string_view(ts))
        .field("event_type", std::string_view("account"))
        .field("src_ip", std::string_view(src, src_len));
    j.object("account")
        .field("id", std::string_view(id))
        .field("hint", std::string_view(e.hint.data(), e.hint_len))
        .field("score", d.score)
        .field("action", verdict_name(d.verdict));
    if (d.verdict == Verdict::RateLimit) j.field("rate_per_minute", d.rate_per_minute);
    j.array("reasons");
    for (const PolicyRule* r : d.reasons) j.value(std::string_view(r->reason));
    j.end_array();
    j.object("signals")
        .field("requests", s.requests)
        .field("distinct_ips", s.distinct_ips)
        .field("distinct_prefixes", s.distinct_prefixes)
        .field("distinct_ja4", s.distinct_ja4)
        .field("distinct_user_agents", s.distinct_user_agents)
        .field("input_tokens", s.input_tokens)
        .field("output_tokens", s.output_tokens);
    j.object("rule_hits");
    for (size_t c = 0; c < s.hits.size(); ++c)
        if (s.hits[c] > 0) j.field(rule_class_name(static_cast<RuleClass>(c)), s.hits[c]);
    j.end_object();
    if (s.interarrival_cv >= 0) j.field("interarrival_cv", s.interarrival_cv);
    j.end_object();
    j.end_object();
    j.end_object();
    if (j.overflow() || !sink_->emit(EveOrder{o.seq, source_, index_++}, j.view())) {
        ++ctr_.records_dropped;
        return;
    }
    ++ctr_.records;
}

}  // namespace sluice::account
