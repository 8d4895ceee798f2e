#include "account/correlator.h"

#include <algorithm>

#include "common/timestamp.h"

namespace sluice::account {

Correlator::Correlator(std::shared_ptr<const Policy> policy, EventSink* sink, uint32_t source)
    : policy_(std::move(policy)), sink_(sink), source_(source) {}

const Correlator::Entry* Correlator::find(std::string_view account) const {
    auto it = accounts_.find(std::string(account));
    return it == accounts_.end() ? nullptr : it->second.get();
}

uint32_t Correlator::root(uint32_t i) const {
    while (parent_[i] != i) {
        parent_[i] = parent_[parent_[i]];  // path halving
        i = parent_[i];
    }
    return i;
}

bool Correlator::unite(uint32_t a, uint32_t b) {
    a = root(a);
    b = root(b);
    if (a == b) return false;
    if (clusters_[a].size < clusters_[b].size) std::swap(a, b);  // union by size
    Cluster& big = clusters_[a];
    Cluster& small = clusters_[b];
    parent_[b] = a;
    big.size += small.size;
    big.first = std::min(big.first, small.first);
    for (size_t c = 0; c < big.hits.size(); ++c) big.hits[c] += small.hits[c];
    big.members.insert(big.members.end(), small.members.begin(), small.members.end());
    small.members.clear();
    small.members.shrink_to_fit();
    return true;
}

std::pair<std::string_view, uint32_t> Correlator::cluster_of(const Entry& e) const {
    const Cluster& c = clusters_[root(e.index)];
    return {by_index_[c.first]->id, c.size};
}

void Correlator::evaluate(const Observation& o, Entry& e, bool emit_change) {
    AccountSignals s = e.state.signals(o.ts_ns);
    const Cluster& c = clusters_[root(e.index)];
    s.cluster_size = c.size;
    s.cluster_hits = c.hits;
    std::array<char, 16> account{};
    std::copy_n(e.id.data(), std::min(e.id.size(), account.size()), account.data());
    const Decision d = policy_->decide(account, s);
    if (d.verdict == e.verdict) {
        e.score = d.score;
        return;
    }
    if (e.verdict == Verdict::Pass) ++ctr_.flagged;
    if (d.verdict == Verdict::Pass) --ctr_.flagged;
    e.verdict = d.verdict;
    e.score = d.score;
    if (emit_change) emit(o, e, s, d);
}

void Correlator::observe(const Observation& o) {
    ++ctr_.observations;
    const std::string id(o.account.data(), o.account.size());
    auto& slot = accounts_[id];
    if (!slot) {
        slot = std::make_unique<Entry>(static_cast<uint64_t>(policy_->window_s() * 1e9));
        slot->index = static_cast<uint32_t>(by_index_.size());
        slot->id = id;
        by_index_.push_back(slot.get());
        parent_.push_back(slot->index);
        Cluster c;
        c.first = slot->index;
        c.members.push_back(slot->index);
        clusters_.push_back(std::move(c));
        ++ctr_.accounts;
    }
    Entry& e = *slot;
    e.hint = o.hint;
    e.hint_len = o.hint_len;
    e.state.observe(o);

    // Shared exits link accounts into clusters.
    bool changed = false;
    const std::string addr(reinterpret_cast<const char*>(o.src.bytes.data()), o.src.size());
    const uint64_t window_ns = static_cast<uint64_t>(policy_->window_s() * 1e9);
    auto [it, fresh] = last_by_address_.try_emplace(addr, Exit{e.index, o.ts_ns});
    if (!fresh) {
        if (it->second.account != e.index && o.ts_ns - it->second.ts_ns <= window_ns)
            changed |= unite(e.index, it->second.account);
        it->second = Exit{e.index, o.ts_ns};
    }
    if (o.hit_classes != 0) {
        Cluster& c = clusters_[root(e.index)];
        for (size_t k = 0; k < c.hits.size(); ++k)
            if (o.hit_classes & (1u << k)) c.hits[k] += 1;
        changed |= c.size > 1;
    }
    evaluate(o, e, true);
    if (changed) {
        // The cluster's signals moved: its other members may cross a threshold too.
        const std::vector<uint32_t> members = clusters_[root(e.index)].members;
        for (uint32_t m : members)
            if (m != e.index) evaluate(o, *by_index_[m], true);
    }
}

void Correlator::emit(const Observation& o, const Entry& e, const AccountSignals& s,
                      const Decision& d) {
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
        .field("id", std::string_view(e.id))
        .field("hint", std::string_view(e.hint.data(), e.hint_len))
        .field("score", d.score)
        .field("action", verdict_name(d.verdict));
    if (d.verdict == Verdict::RateLimit) j.field("rate_per_minute", d.rate_per_minute);
    const auto [cluster_id, cluster_size] = cluster_of(e);
    j.object("cluster").field("id", cluster_id).field("size", cluster_size).end_object();
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
