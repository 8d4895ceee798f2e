#include "account/correlator.h"

#include <algorithm>
#include <chrono>

#include "common/hash.h"
#include "common/timestamp.h"
#include "common/trim_oldest.h"

namespace sluice::account {

namespace {

// Bit-sampling LSH over SimHash signatures: two prompts whose signatures differ in d of 64
// bits agree on a table's 10 sampled bits with probability ~(1 - d/64)^10, so one template's
// prompts (d <= ~12) meet in at least one of 20 tables with probability > 0.95, unrelated
// prompts (d ~ 32) in a few tables at most, and the Hamming check removes those.
constexpr uint32_t kTemplateTables = 20;
constexpr uint32_t kTemplateBits = 10;
constexpr uint32_t kNone = UINT32_MAX;

struct Positions {
    std::array<std::array<uint8_t, kTemplateBits>, kTemplateTables> pos{};
    constexpr Positions() {
        uint64_t x = 0x243f6a8885a308d3ull;
        for (auto& table : pos)
            for (auto& p : table) {
                x = mix64(x + 0x9e3779b97f4a7c15ull);
                p = static_cast<uint8_t>(x % 64);
            }
    }
};
constexpr Positions kPositions;

uint32_t sample(uint64_t sig, uint32_t table) {
    uint32_t v = 0;
    for (uint8_t p : kPositions.pos[table]) v = v << 1 | static_cast<uint32_t>((sig >> p) & 1);
    return table << kTemplateBits | v;
}

uint16_t status_for(Verdict v) {
    return v == Verdict::RateLimit ? 429 : 403;
}

// The network a decision on an account's address covers (network_prefix as a prefix).
IpPrefix network_of(const IpAddress& a) {
    return IpPrefix{network_prefix(a), a.version == IpVersion::V4 ? 24u : 48u};
}

}  // namespace

double Correlator::InfraCounter::add(uint64_t key, uint64_t account, uint64_t now, uint64_t half,
                                     bool count) {
    auto it = slots_.find(key);
    if (it == slots_.end()) {
        if (!count) return 0;
        it = slots_.try_emplace(key).first;
    }
    Slot& s = it->second;
    if (s.gen_start == 0) s.gen_start = now;
    if (now >= s.gen_start + half) {
        if (now >= s.gen_start + 2 * half)
            s.prev.clear();
        else
            std::swap(s.prev, s.cur);
        s.cur.clear();
        s.gen_start = now;
    }
    if (count) s.cur.add(mix64(account));
    return FixedHyperLogLog<6>::estimate_union(s.cur, s.prev);
}

size_t Correlator::InfraCounter::trim(size_t cap) {
    return trim_oldest(slots_, cap, [](const Slot& s) { return s.gen_start; });
}

void Correlator::InfraCounter::prune(uint64_t now, uint64_t window_ns) {
    std::erase_if(slots_, [&](const auto& kv) { return kv.second.gen_start + window_ns < now; });
}

Correlator::Correlator(std::shared_ptr<const Policy> policy, EventSink* sink, uint32_t source,
                       std::shared_ptr<const AsnTable> asn)
    : policy_(std::move(policy)),
      asn_(std::move(asn)),
      sink_(sink),
      source_(source),
      window_ns_(static_cast<uint64_t>(policy_->window_s() * 1e9)),
      templates_(size_t(kTemplateTables) << kTemplateBits) {
    for (TemplateBucket& b : templates_) b.account = {kNone, kNone};
    cluster_reason_.name = "cluster";
    cluster_reason_.reason = "member of a cluster under enforcement";
    dirty_ = !policy_->deny().empty();
    size_limits();
}

namespace {
// Per account beyond its sketches: the entry, its map node and id, its cluster slot.
constexpr size_t kEntryOverhead = 2 * sizeof(void*) + 64 + 4;
// An infrastructure counter's key (two sketches and its map node); a link's, a last exit's or
// a threshold state's is about 48 bytes. One key in each map (links, four last-exit maps,
// four counters, thresholds) together: what the budget pays per unit of `capacity.keys`.
constexpr size_t kKeyBytes = 2 * 64 + 80;
constexpr size_t kKeySlotBytes = 4 * kKeyBytes + 6 * 48;
}  // namespace

void Correlator::size_limits() {
    const CapacityOptions& c = policy_->capacity();
    const size_t budget = size_t{c.memory_mb} << 20;
    const size_t per_account =
        AccountState::bytes_per_account() + sizeof(Entry) + sizeof(Cluster) + kEntryOverhead;
    account_cap_ = std::max<size_t>(64, std::min<size_t>(c.accounts, budget / 4 * 3 / per_account));
    enforced_cap_ = std::min<size_t>(c.enforced, account_cap_ / 2);
    key_cap_ = std::max<size_t>(256, std::min<size_t>(c.keys, budget / 4 / kKeySlotBytes));
    ctr_.capacity = account_cap_;
}

void Correlator::set_publisher(EnforcementPublisher* p) {
    publisher_ = p;
}

const Correlator::Entry* Correlator::find(std::string_view account) const {
    auto it = accounts_.find(account_key(account));
    return it == accounts_.end() || it->second->id != account ? nullptr : it->second.get();
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
    big.requests += small.requests;
    for (size_t c = 0; c < big.hits.size(); ++c) big.hits[c] += small.hits[c];
    if (small.enforced > big.enforced) {
        big.enforced = small.enforced;
        big.rate = small.rate;
        raised_ = true;
    }
    absorbed_.insert(absorbed_.end(), small.members.begin(), small.members.end());
    big.members.insert(big.members.end(), small.members.begin(), small.members.end());
    small.members.clear();
    small.members.shrink_to_fit();
    return true;
}

bool Correlator::link(uint32_t a, uint32_t b, uint64_t ts) {
    const uint64_t key = uint64_t(std::min(a, b)) << 32 | std::max(a, b);
    links_[key] = ts;
    return unite(a, b);
}

bool Correlator::link_by(std::unordered_map<uint64_t, Exit>& last, uint64_t key, uint32_t a,
                         uint64_t ts) {
    auto [it, fresh] = last.try_emplace(key, Exit{a, ts});
    if (fresh) return false;
    bool changed = false;
    if (it->second.account != a && ts - it->second.ts_ns <= window_ns_)
        changed = link(a, it->second.account, ts);
    it->second = Exit{a, ts};
    return changed;
}

bool Correlator::link_templates(const Observation& o, uint32_t a) {
    const int max_distance = policy_->clusters().template_distance;
    bool changed = false;
    for (uint32_t t = 0; t < kTemplateTables; ++t) {
        TemplateBucket& b = templates_[sample(o.prompt_simhash, t)];
        size_t slot = b.ts[0] <= b.ts[1] ? 0 : 1;  // the older one, unless this account's
        for (size_t k = 0; k < 2; ++k) {
            if (b.account[k] == kNone) {
                slot = k;
                continue;
            }
            if (b.account[k] == a) {
                slot = k;
                continue;
            }
            if (o.ts_ns - b.ts[k] <= window_ns_ &&
                hamming(b.sig[k], o.prompt_simhash) <= max_distance)
                changed |= link(a, b.account[k], o.ts_ns);
        }
        b.account[slot] = a;
        b.sig[slot] = o.prompt_simhash;
        b.ts[slot] = o.ts_ns;
    }
    return changed;
}

std::pair<std::string_view, uint32_t> Correlator::cluster_of(const Entry& e) const {
    const Cluster& c = clusters_[root(e.index)];
    return {by_index_[c.first]->id, c.size};
}

Correlator::Entry& Correlator::entry_for(const Observation& o, bool& fresh) {
    const std::string_view id(o.account.data(), o.account.size());
    const uint64_t key = account_key(id);
    fresh = !accounts_.contains(key);
    if (fresh && accounts_.size() >= account_cap_) rebuild(o, true);  // full: make room first
    auto& slot = accounts_[key];
    if (!slot) {
        slot = std::make_unique<Entry>();
        slot->index = static_cast<uint32_t>(by_index_.size());
        slot->id = std::string(id);
        slot->key = key;
        by_index_.push_back(slot.get());
        parent_.push_back(slot->index);
        Cluster c;
        c.first = slot->index;
        c.members.push_back(slot->index);
        clusters_.push_back(std::move(c));
        ++ctr_.accounts;
        ctr_.tracked = accounts_.size();
    }
    if (!slot->state) {
        slot->state = std::make_unique<AccountState>(window_ns_);
        ++ctr_.active;
    }
    return *slot;
}

AccountSignals Correlator::signals_of(Entry& e, uint64_t now) {
    AccountSignals s = e.state ? e.state->signals(now) : AccountSignals{};
    const Cluster& c = clusters_[root(e.index)];
    s.cluster_size = c.size;
    s.cluster_requests = c.requests;
    s.cluster_hits = c.hits;
    s.ip_accounts = e.ip_accounts;
    s.prefix_accounts = e.prefix_accounts;
    s.ja4_accounts = e.ja4_accounts;
    s.prefix_new_accounts = e.prefix_new;
    s.fleet = e.fleet;
    return s;
}

void Correlator::observe(const Observation& o) {
    ++ctr_.observations;
    last_ts_ = std::max(last_ts_, o.ts_ns);
    last_seq_ = std::max(last_seq_, o.seq);
    if (o.kind == ObservationKind::RuleHit) {
        rule_hit(o);
        return;
    }
    if (o.kind == ObservationKind::QuicHello) {
        quic_hello(o);
        return;
    }
    const uint64_t half = std::max<uint64_t>(window_ns_ / 2, 1);
    if (next_rebuild_ == 0) {
        next_rebuild_ = o.ts_ns + half;
    } else if (o.ts_ns >= next_rebuild_) {
        rebuild(o);
        next_rebuild_ = o.ts_ns + half;
    }
    bool fresh = false;
    Entry& e = entry_for(o, fresh);
    e.hint = o.hint;
    e.hint_len = o.hint_len;
    e.last_src = o.src;
    if (o.ja4_hash != 0) e.last_ja4 = o.ja4_hash;
    const uint64_t ip_key = hash_bytes(o.src.span(), 11);
    // The QUIC hello last seen from this address within the window joins the account.
    Observation with_quic = o;
    if (auto q = quic_by_ip_.find(ip_key);
        q != quic_by_ip_.end() && o.ts_ns - std::min(o.ts_ns, q->second.ts_ns) <= window_ns_)
        with_quic.quic_ja4_hash = q->second.ja4;
    const uint32_t asn = asn_ ? asn_->lookup(o.src) : 0;
    e.state->observe(with_quic, asn);
    if (fleet_ != nullptr) {
        FleetEvidence ev;
        ev.account = o.account;
        ev.ts_ns = o.ts_ns;
        ev.src = o.src;
        ev.asn = asn;
        ev.ja4_hash = o.ja4_hash;
        ev.input_tokens = o.input_tokens > 0 ? static_cast<uint32_t>(o.input_tokens) : 0;
        ev.output_tokens = o.output_tokens > 0 ? static_cast<uint32_t>(o.output_tokens) : 0;
        if (!policy_->clusters().template_flagged_only || o.hit_classes != 0) {
            ev.frame_head = o.prompt_head;
            ev.frame_tail = o.prompt_tail;
            remember_frame(e.frames, o.prompt_tail);
            remember_frame(e.frames, o.prompt_head);
        }
        fleet_->evidence(ev);
    }

    // Shared infrastructure: how many accounts use this address, network and TLS client.
    const uint64_t prefix_key = hash_bytes(network_prefix(o.src).span(), 12);
    e.ip_accounts = ip_accounts_.add(ip_key, e.key, o.ts_ns, half);
    e.prefix_accounts = prefix_accounts_.add(prefix_key, e.key, o.ts_ns, half);
    e.ja4_accounts = o.ja4_hash ? ja4_accounts_.add(o.ja4_hash, e.key, o.ts_ns, half) : 0;
    e.prefix_new = new_accounts_.add(prefix_key, e.key, o.ts_ns, half, fresh);

    // Links into clusters.
    const ClusterOptions& co = policy_->clusters();
    bool changed = false;
    if (co.by_ip) changed |= link_by(last_by_ip_, ip_key, e.index, o.ts_ns);
    if (co.by_prefix) changed |= link_by(last_by_prefix_, prefix_key, e.index, o.ts_ns);
    if (co.by_ja4_ua && o.ja4_hash != 0 && o.ua_hash != 0)
        changed |= link_by(last_by_ja4_ua_, mix64(o.ja4_hash ^ mix64(o.ua_hash)), e.index, o.ts_ns);
    if (co.by_template && (!co.template_flagged_only || o.hit_classes != 0)) {
        // One template: near-duplicate prompts, or the same frame around other content.
        if (o.prompt_simhash != 0 && o.prompt_bytes >= co.template_min_bytes)
            changed |= link_templates(o, e.index);
        if (o.prompt_head != 0) changed |= link_by(last_by_frame_, o.prompt_head, e.index, o.ts_ns);
        if (o.prompt_tail != 0) changed |= link_by(last_by_frame_, o.prompt_tail, e.index, o.ts_ns);
    }
    trim_keys();
    const uint32_t r = root(e.index);
    Cluster& c = clusters_[r];
    c.requests += 1;
    for (size_t k = 0; k < c.hits.size(); ++k)
        if (o.hit_classes & (1u << k)) c.hits[k] += 1;
    (void)changed;

    // Who to re-evaluate, in amortised O(log n) per account: the members of clusters absorbed
    // by this observation's links (their cluster changed); everyone in the cluster only when
    // its cluster-level rules (cluster_size, cluster_hits, cluster_share, ...) flip.
    if (raised_) {
        spread(o, r);  // an absorbed cluster was under enforcement: it now covers everyone
    } else if (c.enforced != Verdict::Pass && !absorbed_.empty()) {
        spread_to(o, c, absorbed_);
    }
    raised_ = false;
    evaluate(o, e);
    // Questions follow the account's own requests (not its cluster's re-evaluations): a read
    // per account per read interval at most, whatever the size of its cluster.
    if (fleet_live_ && e.state) ask_fleet(e, o.ts_ns);
    const uint64_t mask = policy_->cluster_mask(cluster_signals(c));
    if (mask != c.mask) {
        c.mask = mask;
        const std::vector<uint32_t> members = c.members;
        for (uint32_t m : members)
            if (m != e.index) evaluate(o, *by_index_[m]);
    } else {
        for (uint32_t m : absorbed_)
            if (m != e.index) evaluate(o, *by_index_[m]);
    }
    absorbed_.clear();
}

AccountSignals Correlator::cluster_signals(const Cluster& c) const {
    AccountSignals s;
    s.cluster_size = c.size;
    s.cluster_requests = c.requests;
    s.cluster_hits = c.hits;
    return s;
}

void Correlator::evaluate(const Observation& o, Entry& e) {
    if (!e.state) return;
    const AccountSignals s = signals_of(e, o.ts_ns);
    std::array<char, 16> account{};
    std::copy_n(e.id.data(), std::min(e.id.size(), account.size()), account.data());
    const Decision d = policy_->decide(account, s);
    if (d.verdict < e.held && o.ts_ns < e.held_until_ns) return;  // the action stands
    if (d.hold_s > 0 && d.verdict != Verdict::Pass) {
        e.held = d.verdict;
        e.held_until_ns = o.ts_ns + static_cast<uint64_t>(d.hold_s * 1e9);
    }
    if (e.verdict == Verdict::Pass && d.verdict != Verdict::Pass) ++ctr_.flagged;
    if (e.verdict != Verdict::Pass && d.verdict == Verdict::Pass) --ctr_.flagged;
    if (d.verdict >= Verdict::RateLimit && (d.verdict != e.verdict || d.target != e.target))
        mark_dirty(o);  // a new enforcement entry, even if the effective action stays
    e.verdict = d.verdict;
    e.target = d.target;
    e.answer_reset = d.answer_reset;
    e.rate = static_cast<float>(d.rate_per_minute);
    e.score = d.score;
    const uint32_t r = root(e.index);
    Cluster& c = clusters_[r];
    const bool cluster_up = d.target == EnforceTarget::Cluster && d.verdict >= Verdict::RateLimit &&
                            d.verdict > c.enforced;
    if (cluster_up) {
        c.enforced = d.verdict;
        c.rate = static_cast<float>(d.rate_per_minute);
    }
    if (e.verdict >= e.via_cluster)
        set_effective(o, e, s, d);
    else
        set_effective(o, e, s, cluster_decision(e));
    if (cluster_up) spread(o, r);
}

Decision Correlator::cluster_decision(const Entry& e) const {
    const Cluster& c = clusters_[root(e.index)];
    Decision d;
    d.verdict = e.via_cluster;
    d.rate_per_minute = c.rate;
    d.target = EnforceTarget::Cluster;
    d.score = e.score;
    d.reasons.push_back(&cluster_reason_);
    return d;
}

void Correlator::spread(const Observation& o, uint32_t r) {
    const std::vector<uint32_t> members = clusters_[r].members;
    spread_to(o, clusters_[r], members);
}

void Correlator::spread_to(const Observation& o, const Cluster& c,
                           const std::vector<uint32_t>& members) {
    const Verdict v = c.enforced;
    for (uint32_t m : members) {
        Entry& x = *by_index_[m];
        if (x.via_cluster == v) continue;
        x.via_cluster = v;
        if (x.effective() == x.reported) continue;
        set_effective(o, x, signals_of(x, o.ts_ns), cluster_decision(x));
    }
}

void Correlator::set_effective(const Observation& o, Entry& e, const AccountSignals& s,
                               const Decision& d) {
    const Verdict now = e.effective();
    if (now == e.reported) return;
    if (e.reported >= Verdict::RateLimit || now >= Verdict::RateLimit) mark_dirty(o);
    if (now >= Verdict::RateLimit)
        enforcing_.insert(e.index);
    else
        enforcing_.erase(e.index);
    e.reported = now;
    emit(o, e, s, d);
}

void Correlator::mark_dirty(const Observation& o) {
    if (dirty_since_ == 0 || (o.pushed_ns != 0 && o.pushed_ns < dirty_since_))
        dirty_since_ = o.pushed_ns;
    dirty_ = true;
}

void Correlator::quic_hello(const Observation& o) {
    if (o.ja4_hash == 0) return;
    quic_by_ip_[hash_bytes(o.src.span(), 11)] = {o.ja4_hash, o.ts_ns};
    trim_keys();
}

void Correlator::trim_keys() {
    // Cheap unless a map is past its cap; each trim then removes an eighth of it.
    auto by_exit = [](const Exit& x) { return x.ts_ns; };
    size_t n = trim_oldest(links_, key_cap_, [](uint64_t ts) { return ts; });
    for (auto* m : {&last_by_ip_, &last_by_prefix_, &last_by_ja4_ua_, &last_by_frame_})
        n += trim_oldest(*m, key_cap_, by_exit);
    n += trim_oldest(quic_by_ip_, key_cap_, [](const QuicSeen& q) { return q.ts_ns; });
    for (InfraCounter* c : {&ip_accounts_, &prefix_accounts_, &ja4_accounts_, &new_accounts_})
        if (c->size() > key_cap_) n += c->trim(key_cap_);
    if (thresholds_.size() > key_cap_) n += thresholds_.trim(key_cap_);
    ctr_.keys_trimmed += n;
}

void Correlator::fold(const Entry& e, uint64_t now) {
    // The account's decision outlives its entry as one on its network (a 40-byte entry
    // instead of an account's sketches), until the longer of its hold and a window.
    const Verdict v = e.effective();
    const IpPrefix p = network_of(e.last_src);
    const uint64_t key = hash_bytes(p.addr.span(), 12);  // observe()'s prefix key
    const uint64_t until = std::max(e.held_until_ns, now + window_ns_);
    const float rate = e.via_cluster > e.verdict ? clusters_[root(e.index)].rate : e.rate;
    auto [it, fresh] = folded_.try_emplace(key);
    TimedBlock& b = it->second;
    if (fresh || v > b.e.verdict) {
        b.prefix = p;
        b.e = Enforcement{v, EnforceTarget::Prefix, status_for(v), rate, 0, until};
    }
    b.e.expires_ns = std::max(b.e.expires_ns, until);
    ++ctr_.folded;
    // Folded networks are signal-sized keys, bounded like them: the soonest to expire go.
    ctr_.keys_trimmed +=
        trim_oldest(folded_, key_cap_, [](const TimedBlock& t) { return t.e.expires_ns; });
}

void Correlator::evict(const Observation& o, size_t target) {
    const size_t n = by_index_.size();
    if (n <= target) return;
    ++ctr_.evictions;
    const uint64_t now = o.ts_ns;
    // Evidence, weakest first: idle accounts, then active ones by requests in the window
    // (doubled under an alert, tag or hold), oldest first. Accounts with an action in force
    // are kept up to the enforced cap (the strongest and newest) and the rest folded into
    // their prefix.
    struct Candidate {
        Verdict verdict;
        double evidence;  // -1: idle
        uint64_t last;
        uint32_t index;
    };
    std::vector<Candidate> plain, enforced;
    for (Entry* e : by_index_) {
        Candidate c{e->effective(), -1, 0, e->index};
        if (e->state) {
            c.evidence = e->state->totals(now).requests;
            c.last = e->state->last_seen_ns();
        }
        if (c.verdict >= Verdict::RateLimit || e->reported >= Verdict::RateLimit) {
            enforced.push_back(c);
            continue;
        }
        if (c.verdict != Verdict::Pass || e->reported != Verdict::Pass || now < e->held_until_ns)
            c.evidence = 2 * std::max(c.evidence, 1.0);
        plain.push_back(c);
    }
    std::vector<bool> victim(n, false);
    size_t victims = 0;
    if (enforced.size() > enforced_cap_) {
        std::sort(enforced.begin(), enforced.end(), [](const Candidate& a, const Candidate& b) {
            if (a.verdict != b.verdict) return a.verdict > b.verdict;
            if (a.last != b.last) return a.last > b.last;
            return a.index < b.index;
        });
        for (size_t i = enforced_cap_; i < enforced.size(); ++i, ++victims)
            victim[enforced[i].index] = true;
    }
    const size_t want = n - target > victims ? n - target - victims : 0;
    const size_t take = std::min(want, plain.size());
    std::partial_sort(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(take), plain.end(),
                      [](const Candidate& a, const Candidate& b) {
                          if (a.evidence != b.evidence) return a.evidence < b.evidence;
                          if (a.last != b.last) return a.last < b.last;
                          return a.index < b.index;
                      });
    for (size_t i = 0; i < take; ++i, ++victims) victim[plain[i].index] = true;
    if (victims == 0) return;

    // Compact the dense indices (order kept, so clusters keep their earliest member's name).
    std::vector<uint32_t> remap(n, kNone);
    std::vector<Entry*> kept;
    kept.reserve(n - victims);
    bool enforcement_changed = false;
    for (uint32_t i = 0; i < n; ++i) {
        Entry* e = by_index_[i];
        if (!victim[i]) {
            remap[i] = static_cast<uint32_t>(kept.size());
            e->index = remap[i];
            kept.push_back(e);
            continue;
        }
        if (e->effective() >= Verdict::RateLimit) {
            fold(*e, now);
            enforcement_changed = true;
        }
        if (e->verdict != Verdict::Pass) --ctr_.flagged;
        if (e->state) --ctr_.active;
        ++ctr_.evicted;
        accounts_.erase(e->key);  // frees e
    }
    by_index_ = std::move(kept);
    parent_.resize(by_index_.size());
    clusters_.resize(by_index_.size());
    std::unordered_map<uint64_t, uint64_t> links;
    links.reserve(links_.size());
    for (const auto& [key, ts] : links_) {
        const uint32_t a = remap[key >> 32], b = remap[static_cast<uint32_t>(key)];
        if (a != kNone && b != kNone) links[uint64_t(std::min(a, b)) << 32 | std::max(a, b)] = ts;
    }
    links_.swap(links);
    for (auto* m : {&last_by_ip_, &last_by_prefix_, &last_by_ja4_ua_, &last_by_frame_}) {
        std::erase_if(*m, [&](const auto& kv) { return remap[kv.second.account] == kNone; });
        for (auto& [key, x] : *m) x.account = remap[x.account];
    }
    for (TemplateBucket& b : templates_)
        for (uint32_t& a : b.account)
            if (a != kNone) a = remap[a];
    std::set<uint32_t> enforcing;
    for (uint32_t i : enforcing_)
        if (remap[i] != kNone) enforcing.insert(remap[i]);
    enforcing_.swap(enforcing);
    if (enforcement_changed) mark_dirty(o);
    ctr_.tracked = accounts_.size();
}

void Correlator::rebuild(const Observation& o, bool make_room) {
    ++ctr_.rebuilds;
    const uint64_t now = o.ts_ns;
    const uint64_t cutoff = now > window_ns_ ? now - window_ns_ : 0;
    std::erase_if(links_, [&](const auto& kv) { return kv.second < cutoff; });
    for (auto* m : {&last_by_ip_, &last_by_prefix_, &last_by_ja4_ua_, &last_by_frame_})
        std::erase_if(*m, [&](const auto& kv) { return kv.second.ts_ns < cutoff; });
    thresholds_.prune(now);
    ip_accounts_.prune(now, window_ns_);
    prefix_accounts_.prune(now, window_ns_);
    ja4_accounts_.prune(now, window_ns_);
    new_accounts_.prune(now, window_ns_);

    // Idle for a whole window: nothing of the account remains in any signal.
    for (Entry* e : by_index_) {
        if (!e->state || e->state->last_seen_ns() >= cutoff || now < e->held_until_ns) continue;
        if (e->verdict != Verdict::Pass) --ctr_.flagged;
        e->verdict = Verdict::Pass;
        e->state.reset();
        --ctr_.active;
    }
    if (make_room || by_index_.size() > account_cap_) evict(o, account_cap_ - account_cap_ / 8);
    trim_keys();

    // Clusters from the links still alive.
    for (uint32_t i = 0; i < by_index_.size(); ++i) {
        parent_[i] = i;
        clusters_[i] = Cluster{};
        clusters_[i].first = i;
        clusters_[i].members.push_back(i);
    }
    std::vector<uint64_t> alive;
    alive.reserve(links_.size());
    for (const auto& [key, ts] : links_) alive.push_back(key);
    std::sort(alive.begin(), alive.end());  // a deterministic union order
    for (uint64_t key : alive) unite(static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key));
    for (Entry* e : by_index_) {
        if (!e->state) continue;
        const AccountState::Totals t = e->state->totals(now);
        Cluster& c = clusters_[root(e->index)];
        c.requests += t.requests;
        for (size_t k = 0; k < c.hits.size(); ++k) c.hits[k] += t.hits[k];
        if (e->target == EnforceTarget::Cluster && e->verdict >= Verdict::RateLimit &&
            e->verdict > c.enforced) {
            c.enforced = e->verdict;
            c.rate = e->rate;
        }
    }
    absorbed_.clear();
    raised_ = false;
    for (uint32_t i = 0; i < by_index_.size(); ++i)
        if (root(i) == i) clusters_[i].mask = policy_->cluster_mask(cluster_signals(clusters_[i]));
    ctr_.clusters = 0;
    for (uint32_t i = 0; i < by_index_.size(); ++i) {
        const Cluster& c = clusters_[root(i)];
        if (root(i) == i && c.size > 1) ++ctr_.clusters;
        by_index_[i]->via_cluster = c.size > 1 ? c.enforced : Verdict::Pass;
    }
    ctr_.links = links_.size();

    // Re-evaluate whoever the rebuild can touch; record every effective change.
    for (Entry* e : by_index_) {
        if (e->state && (clusters_[root(e->index)].size > 1 || e->verdict != Verdict::Pass))
            evaluate(o, *e);
        else if (e->effective() != e->reported)
            set_effective(o, *e, signals_of(*e, now),
                          e->via_cluster > e->verdict ? cluster_decision(*e) : Decision{});
    }
}

void Correlator::set_policy(std::shared_ptr<const Policy> p) {
    policy_ = std::move(p);
    window_ns_ = static_cast<uint64_t>(policy_->window_s() * 1e9);
    dirty_ = true;  // its deny list may differ
    size_limits();  // a smaller capacity applies at the next new account or rebuild
}

bool Correlator::flush() {
    if (publisher_ == nullptr) return false;
    const uint64_t wall =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    if (lists_ != nullptr) {
        const uint64_t v = lists_->version(), next = lists_->next_expiry();
        if (v != lists_seen_ || (next != 0 && wall >= next)) dirty_ = true;
    }
    if (!dirty_) return false;
    std::unordered_map<uint64_t, Enforcement> accounts;
    auto put = [&](uint64_t key, const Enforcement& en) {
        auto [it, fresh] = accounts.try_emplace(key, en);
        if (!fresh && en.verdict > it->second.verdict) it->second = en;
    };
    auto t = std::make_unique<EnforcementTable>();
    t->version = ++version_;
    t->decided_steady_ns = dirty_since_;
    if (lists_ != nullptr) {
        lists_seen_ = lists_->version();
        lists_->apply(*t, wall);  // allowlist entries win over anything added below
    }
    const DenyList& deny = policy_->deny();
    const Enforcement denied{Verdict::Block, EnforceTarget::Account, 403, 0, 0, 0};
    for (const std::string& a : deny.accounts) put(account_key(a), denied);
    for (const IpPrefix& p : deny.prefixes)
        t->set_prefix(p, Enforcement{Verdict::Block, EnforceTarget::Prefix, 403, 0, 0, 0});
    for (const std::string& j : deny.ja4)
        t->set_ja4(hash_item(j), Enforcement{Verdict::Block, EnforceTarget::Ja4, 403, 0, 0, 0});
    for (uint32_t i : enforcing_) {
        const Entry& e = *by_index_[i];
        if (e.verdict >= Verdict::RateLimit) {
            Enforcement en{
                e.verdict, e.target, e.answer_reset ? uint16_t{0} : status_for(e.verdict),
                e.rate,    0,        0};
            switch (e.target) {
                case EnforceTarget::Account:
                    put(e.key, en);
                    break;
                case EnforceTarget::Cluster:
                    en.bucket = account_key(by_index_[clusters_[root(i)].first]->id);
                    put(e.key, en);
                    break;
                case EnforceTarget::Prefix:
                    t->set_prefix(network_of(e.last_src), en);
                    break;
                case EnforceTarget::Ja4:
                    if (e.last_ja4 != 0) t->set_ja4(e.last_ja4, en);
                    break;
            }
        }
        if (e.via_cluster >= Verdict::RateLimit) {
            const Cluster& c = clusters_[root(i)];
            put(e.key, Enforcement{e.via_cluster, EnforceTarget::Cluster, status_for(e.via_cluster),
                                   c.rate, account_key(by_index_[c.first]->id), 0});
        }
    }
    std::erase_if(timed_, [&](const TimedBlock& b) { return b.e.expires_ns <= last_ts_; });
    std::erase_if(folded_, [&](const auto& kv) { return kv.second.e.expires_ns <= last_ts_; });
    for (const auto& [key, b] : folded_) t->set_prefix(*b.prefix, b.e);
    for (const TimedBlock& b : timed_) {
        if (b.prefix)
            t->set_prefix(*b.prefix, b.e);
        else
            put(b.account, b.e);
    }
    for (const auto& [key, en] : accounts) t->set_account(key, en);
    ctr_.enforced = t->size();
    ++ctr_.publishes;
    dirty_ = false;
    dirty_since_ = 0;
    publisher_->publish(std::move(t));
    publisher_->reclaim();
    return true;
}

void Correlator::rule_hit(const Observation& o) {
    ++ctr_.rule_hits;
    const auto& rules = rules_[o.rules_generation];
    if (!rules || o.rule >= rules->set().rules.size()) return;
    const rules::Rule& r = rules->set().rules[o.rule];
    if (!r.threshold) return;
    const rules::Threshold& t = *r.threshold;
    auto addr_key = [](const IpAddress& a, uint64_t seed) { return hash_bytes(a.span(), seed); };
    uint64_t subject = 0;
    switch (t.track) {
        case rules::ThresholdTrack::BySrc:
            subject = addr_key(o.src, 21);
            break;
        case rules::ThresholdTrack::ByDst:
            subject = addr_key(o.dst, 22);
            break;
        case rules::ThresholdTrack::ByRule:
            break;
        case rules::ThresholdTrack::ByBoth:
            subject = mix64(addr_key(o.src, 21) ^ addr_key(o.dst, 23));
            break;
        case rules::ThresholdTrack::ByAccount:
            // Without an account (not HTTP, or no credential) the source stands in.
            subject = o.has_account ? account_key({o.account.data(), o.account.size()})
                                    : addr_key(o.src, 21);
            break;
    }
    if (!thresholds_.on_hit(o.rule, t, subject, o.ts_ns)) return;
    ++ctr_.threshold_alerts;
    emit_alert(o, *rules, o.rule);
    const Verdict v = rules::action_verdict(r.action);
    if (v < Verdict::Drop) return;
    // The rule's action applies to the tracked subject for the rest of its window.
    TimedBlock b;
    b.e = Enforcement{
        v, EnforceTarget::Prefix, 403, 0, 0, o.ts_ns + uint64_t(t.seconds) * 1'000'000'000ull};
    auto host = [](const IpAddress& a) {
        return IpPrefix{a, a.version == IpVersion::V4 ? 32u : 128u};
    };
    switch (t.track) {
        case rules::ThresholdTrack::BySrc:
        case rules::ThresholdTrack::ByBoth:
            b.prefix = host(o.src);
            break;
        case rules::ThresholdTrack::ByDst:
            b.prefix = host(o.dst);
            break;
        case rules::ThresholdTrack::ByAccount:
            if (o.has_account) {
                b.e.target = EnforceTarget::Account;
                b.account = account_key({o.account.data(), o.account.size()});
            } else {
                b.prefix = host(o.src);
            }
            break;
        case rules::ThresholdTrack::ByRule:
            return;  // nothing to name: the alert is all
    }
    ++ctr_.threshold_enforced;
    // Bounded like every other decision: expired ones go, then the soonest to expire (an
    // eighth at a time, so a flood of thresholded subjects costs amortised O(1) per block).
    if (timed_.size() >= enforced_cap_) {
        std::erase_if(timed_, [&](const TimedBlock& x) { return x.e.expires_ns <= o.ts_ns; });
        trim_oldest(timed_, enforced_cap_ - 1, [](const TimedBlock& x) { return x.e.expires_ns; });
    }
    timed_.push_back(b);
    mark_dirty(o);
}

void Correlator::emit_alert(const Observation& o, const rules::CompiledRules& rules, uint32_t ri) {
    if (sink_ == nullptr) return;
    const auto& set = rules.set();
    const rules::Rule& r = set.rules[ri];
    char ts[40], src[48], dst[48];
    format_eve_time(Timestamp{o.ts_ns}, ts);
    const size_t src_len = o.src.format(src), dst_len = o.dst.format(dst);
    const Verdict v = rules::action_verdict(r.action);
    JsonBuilder& j = json_;
    j.reset();
    j.begin_object()
        .field("timestamp", std::string_view(ts))
        .field("event_type", std::string_view("alert"))
        .field("src_ip", std::string_view(src, src_len))
        .field("src_port", o.src_port)
        .field("dest_ip", std::string_view(dst, dst_len))
        .field("dest_port", o.dst_port)
        .field("proto", o.proto == 17 ? std::string_view("UDP") : std::string_view("TCP"))
        .field("direction",
               o.to_server ? std::string_view("to_server") : std::string_view("to_client"));
    j.object("alert")
        .field("action",
               v >= Verdict::Drop ? std::string_view("blocked") : std::string_view("allowed"))
        .field("gid", r.gid)
        .field("signature_id", r.sid)
        .field("rev", r.rev)
        .field("signature", std::string_view(r.msg))
        .field("category", std::string_view(set.category[ri]))
        .field("severity", set.severity[ri])
        .end_object();
    if (o.has_account)
        j.object("account")
            .field("id", std::string_view(o.account.data(), o.account.size()))
            .field("hint", std::string_view(o.hint.data(), o.hint_len))
            .end_object();
    const rules::Threshold& t = *r.threshold;
    j.object("sluice")
        .field("rule_action", rules::action_name(r.action))
        .field("rule_file", std::string_view(r.where.file))
        .field("rule_line", r.where.line);
    j.object("threshold")
        .field("type", rules::threshold_type_name(t.type))
        .field("track", rules::threshold_track_name(t.track))
        .field("count", t.count)
        .field("seconds", t.seconds)
        .end_object();
    j.end_object();
    j.end_object();
    if (j.overflow() || !sink_->emit(EveOrder{o.seq, source_, index_++}, j.view())) {
        ++ctr_.records_dropped;
        return;
    }
    ++ctr_.records;
}

size_t Correlator::memory_bytes() const {
    size_t n = ctr_.active * AccountState::bytes_per_account();
    n += accounts_.size() * (sizeof(Entry) + sizeof(Cluster) + kEntryOverhead);
    n += links_.size() * 32;
    n += (last_by_ip_.size() + last_by_prefix_.size() + last_by_ja4_ua_.size() +
          last_by_frame_.size() + quic_by_ip_.size()) *
         40;
    n += (ip_accounts_.size() + prefix_accounts_.size() + ja4_accounts_.size() +
          new_accounts_.size()) *
         kKeyBytes;
    n += thresholds_.size() * 48 + (timed_.size() + folded_.size()) * sizeof(TimedBlock);
    n += templates_.size() * sizeof(TemplateBucket);
    return n;
}

void Correlator::write_account(JsonBuilder& j, const Entry& e, const AccountSignals& s,
                               const Decision& d) const {
    j.object("account")
        .field("id", std::string_view(e.id))
        .field("hint", std::string_view(e.hint.data(), e.hint_len))
        .field("score", d.score)
        .field("action", verdict_name(d.verdict));
    if (d.verdict == Verdict::RateLimit) j.field("rate_per_minute", d.rate_per_minute);
    if (d.verdict >= Verdict::RateLimit) j.field("target", enforce_target_name(d.target));
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
        .field("output_tokens", s.output_tokens)
        .field("ip_accounts", s.ip_accounts)
        .field("prefix_accounts", s.prefix_accounts)
        .field("ja4_accounts", s.ja4_accounts);
    if (s.prefix_new_accounts > 0) j.field("prefix_new_accounts", s.prefix_new_accounts);
    if (s.distinct_h2_fingerprints > 0)
        j.field("distinct_h2_fingerprints", s.distinct_h2_fingerprints);
    if (s.distinct_quic_ja4 > 0) j.field("distinct_quic_ja4", s.distinct_quic_ja4);
    if (asn_) j.field("distinct_asns", s.distinct_asns);
    if (s.claim_mismatches > 0) j.field("claim_mismatches", s.claim_mismatches);
    j.object("rule_hits");
    for (size_t c = 0; c < s.hits.size(); ++c)
        if (s.hits[c] > 0) j.field(rule_class_name(static_cast<RuleClass>(c)), s.hits[c]);
    j.end_object();
    if (s.interarrival_cv >= 0) j.field("interarrival_cv", s.interarrival_cv);
    j.field("cluster_requests", s.cluster_requests);
    j.object("cluster_hits");
    for (size_t c = 0; c < s.cluster_hits.size(); ++c)
        if (s.cluster_hits[c] > 0)
            j.field(rule_class_name(static_cast<RuleClass>(c)), s.cluster_hits[c]);
    j.end_object();
    if (s.fleet.known)
        j.object("fleet")
            .field("requests", s.fleet.requests)
            .field("distinct_ips", s.fleet.distinct_ips)
            .field("distinct_prefixes", s.fleet.distinct_prefixes)
            .field("distinct_asns", s.fleet.distinct_asns)
            .field("distinct_ja4", s.fleet.distinct_ja4)
            .field("input_tokens", s.fleet.input_tokens)
            .field("output_tokens", s.fleet.output_tokens)
            .field("template_accounts", s.fleet.template_accounts)
            .end_object();
    j.end_object();
    j.end_object();
}

void Correlator::emit(const Observation& o, const Entry& e, const AccountSignals& s,
                      const Decision& d) {
    if (sink_ == nullptr) return;
    char ts[40], src[48];
    format_eve_time(Timestamp{o.ts_ns}, ts);
    const size_t src_len = e.last_src.format(src);
    JsonBuilder& j = json_;
    j.reset();
    j.begin_object()
        .field("timestamp", std::string_view(ts))
        .field("event_type", std::string_view("account"))
        .field("src_ip", std::string_view(src, src_len));
    write_account(j, e, s, d);
    j.end_object();
    if (j.overflow() || !sink_->emit(EveOrder{o.seq, source_, index_++}, j.view())) {
        ++ctr_.records_dropped;
        return;
    }
    ++ctr_.records;
}

void Correlator::write_standing(JsonBuilder& j, Entry& e) {
    const AccountSignals s = signals_of(e, last_ts_);
    std::array<char, 16> account{};
    std::copy_n(e.id.data(), std::min(e.id.size(), account.size()), account.data());
    Decision d = e.state ? policy_->decide(account, s) : Decision{};
    d.verdict = e.effective();
    if (e.via_cluster > e.verdict) d.reasons.push_back(&cluster_reason_);
    d.target = e.via_cluster > e.verdict ? EnforceTarget::Cluster : e.target;
    d.rate_per_minute = e.rate;
    j.begin_object();
    write_account(j, e, s, d);
    j.end_object();
}

std::string Correlator::top_json(size_t n) {
    std::vector<Entry*> v(by_index_.begin(), by_index_.end());
    const size_t k = std::min(n, v.size());
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end(),
                      [](const Entry* a, const Entry* b) {
                          if (a->effective() != b->effective())
                              return a->effective() > b->effective();
                          if (a->score != b->score) return a->score > b->score;
                          return a->index < b->index;
                      });
    std::string out = "[";
    for (size_t i = 0; i < k; ++i) {
        json_.reset();
        write_standing(json_, *v[i]);
        if (json_.overflow()) continue;
        if (out.size() > 1) out += ',';
        out += json_.view();
    }
    return out + "]";
}

std::string Correlator::show_json(std::string_view id) {
    auto it = accounts_.find(account_key(id));
    if (it == accounts_.end() || it->second->id != id) return {};
    json_.reset();
    write_standing(json_, *it->second);
    return json_.overflow() ? std::string() : std::string(json_.view());
}

std::string Correlator::clusters_json(size_t n) {
    std::vector<uint32_t> roots;
    for (uint32_t i = 0; i < by_index_.size(); ++i)
        if (root(i) == i && clusters_[i].size > 1) roots.push_back(i);
    const size_t k = std::min(n, roots.size());
    std::partial_sort(roots.begin(), roots.begin() + static_cast<std::ptrdiff_t>(k), roots.end(),
                      [&](uint32_t a, uint32_t b) {
                          if (clusters_[a].size != clusters_[b].size)
                              return clusters_[a].size > clusters_[b].size;
                          return clusters_[a].first < clusters_[b].first;
                      });
    std::string out = "[";
    for (size_t r = 0; r < k; ++r) {
        const Cluster& c = clusters_[roots[r]];
        JsonBuilder& j = json_;
        j.reset();
        j.begin_object()
            .field("id", std::string_view(by_index_[c.first]->id))
            .field("size", c.size)
            .field("requests", c.requests)
            .field("action", verdict_name(c.enforced));
        j.object("hits");
        for (size_t h = 0; h < c.hits.size(); ++h)
            if (c.hits[h] > 0) j.field(rule_class_name(static_cast<RuleClass>(h)), c.hits[h]);
        j.end_object();
        size_t flagged = 0;
        for (uint32_t m : c.members) flagged += by_index_[m]->effective() != Verdict::Pass;
        j.field("flagged_members", flagged);
        j.array("members");
        for (size_t m = 0; m < c.members.size() && m < 8; ++m)
            j.value(std::string_view(by_index_[c.members[m]]->id));
        j.end_array();
        j.end_object();
        if (j.overflow()) continue;
        if (out.size() > 1) out += ',';
        out += j.view();
    }
    return out + "]";
}

void Correlator::write_accounts(std::ostream& out) {
    // Every account's standing at the end (or now): the action in force, the policy's score
    // and reasons on the current signals, and the signals themselves.
    for (Entry* e : by_index_) {
        json_.reset();
        write_standing(json_, *e);
        if (!json_.overflow()) out << json_.view() << '\n';
    }
}

void Correlator::set_fleet(FleetPort* port, double read_fraction, uint64_t read_interval_ns,
                           bool live_reads) {
    fleet_ = port;
    fleet_fraction_ = read_fraction;
    fleet_interval_ns_ = read_interval_ns;
    fleet_live_ = port != nullptr && live_reads;
}

bool Correlator::fleet_worth_asking(const Entry& e, const AccountSignals& s) const {
    if (!policy_->reads_fleet()) return false;
    if (e.verdict != Verdict::Pass) return true;
    if (policy_->reads_fleet_templates() && e.frames[0] != 0) return true;
    return policy_->fleet_candidate(s, fleet_fraction_);
}

FleetQuestion Correlator::question(const Entry& e, uint64_t now) const {
    FleetQuestion q;
    std::copy_n(e.id.data(), std::min(e.id.size(), q.account.size()), q.account.data());
    q.ts_ns = now;
    if (policy_->reads_fleet_templates()) {
        q.frames = e.frames;
    }
    return q;
}

void Correlator::ask_fleet(Entry& e, uint64_t now) {
    if (e.fleet_asked_ns != 0 && now - std::min(now, e.fleet_asked_ns) < fleet_interval_ns_) return;
    if (!fleet_worth_asking(e, signals_of(e, now))) return;
    e.fleet_asked_ns = std::max<uint64_t>(now, 1);
    fleet_->ask(question(e, now));
}

void Correlator::apply_fleet(const FleetView& v, uint64_t seq) {
    auto it = accounts_.find(account_key(std::string_view(v.account.data(), v.account.size())));
    if (it == accounts_.end() || !it->second->state ||
        it->second->id != std::string_view(v.account.data(), v.account.size()))
        return;
    Entry& e = *it->second;
    e.fleet = v.signals;
    Observation o;
    o.ts_ns = std::max(last_ts_, e.state->last_seen_ns());
    o.seq = seq;
    o.account = v.account;
    o.src = e.last_src;
    o.pushed_ns = 0;
    evaluate(o, e);
}

std::vector<FleetQuestion> Correlator::fleet_candidates() {
    std::vector<FleetQuestion> out;
    if (fleet_ == nullptr || !policy_->reads_fleet()) return out;
    for (Entry* e : by_index_)
        if (e->state && fleet_worth_asking(*e, signals_of(*e, last_ts_)))
            out.push_back(question(*e, last_ts_));
    return out;
}

}  // namespace sluice::account
