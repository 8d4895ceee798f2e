#include "fleet/fleet_link.h"

#include <algorithm>
#include <charconv>

#include "account/account_state.h"
#include "common/hash.h"

namespace sluice::fleet {
namespace {

constexpr std::string_view kCounterNames[] = {
    "evidence_queued",
    "evidence_dropped",
    "asks_queued",
    "asks_dropped",
    "views_dropped",
    "batches",
    "published",
    "publish_failed",
    "reads",
    "read_failed",
    "sync_timeouts",
    "redis_commands",
    "redis_moved",
    "redis_ask",
    "redis_refreshes",
    "redis_connects",
    "redis_connect_failures",
    "redis_lost",
};
static_assert(std::size(kCounterNames) == static_cast<size_t>(FleetCtr::Count));

template <typename T>
void add_unique(std::vector<T>& v, const T& x) {
    // Per account and window these stay small (a handful of addresses); a linear scan beats a
    // set, and a hostile account is capped.
    if (v.size() >= 1024 || std::find(v.begin(), v.end(), x) != v.end()) return;
    v.push_back(x);
}

std::string hex_view(const std::array<char, 16>& a) {
    return std::string(a.data(), a.size());
}

double as_number(const RedisReply& r) {
    if (r.type == RedisReply::Type::Integer) return static_cast<double>(r.integer);
    if (r.type == RedisReply::Type::String) {
        long long v = 0;
        const auto [end, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
        if (ec == std::errc() && end == r.str.data() + r.str.size() && v >= 0)
            return static_cast<double>(v);
    }
    return 0;
}

}  // namespace

std::string_view fleet_counter_name(FleetCtr c) {
    return kCounterNames[static_cast<size_t>(c)];
}

size_t FleetLink::WindowKeyHash::operator()(const WindowKey& k) const {
    return hash_bytes(
        std::span(reinterpret_cast<const uint8_t*>(k.account.data()), k.account.size()), k.window);
}

namespace {
RedisCluster::Options router_options(const FleetOptions& o) {
    RedisCluster::Options r;
    r.seeds = o.seeds;
    r.auth = o.auth;
    r.timeout = std::chrono::milliseconds(o.timeout_ms);
    return r;
}
}  // namespace

FleetLink::FleetLink(const FleetOptions& o, std::span<const uint8_t> account_secret, bool offline)
    : opt_(o),
      offline_(offline),
      hasher_(account_secret),
      cluster_(router_options(o)),
      evidence_q_(o.queue),
      ask_q_(o.queue),
      view_q_(o.queue) {}

FleetLink::~FleetLink() {
    stop();
}

void FleetLink::start() {
    if (running_.exchange(true)) return;
    thread_ = std::thread([this] { run(); });
}

void FleetLink::stop() {
    running_.store(false, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
}

bool FleetLink::evidence(const account::FleetEvidence& e) {
    while (!evidence_q_.push(e)) {
        if (!offline_ || !thread_.joinable()) {
            bump(FleetCtr::EvidenceDropped);
            return false;
        }
        std::this_thread::yield();
    }
    bump(FleetCtr::EvidenceQueued);
    return true;
}

bool FleetLink::ask(const account::FleetQuestion& q) {
    if (!ask_q_.push(q)) {
        bump(FleetCtr::AsksDropped);
        return false;
    }
    bump(FleetCtr::AsksQueued);
    return true;
}

bool FleetLink::take(account::FleetView& v) {
    return view_q_.pop(v);
}

void FleetLink::add(const account::FleetEvidence& e) {
    Aggregate& a = pending_[WindowKey{e.account, window_of(e.ts_ns, opt_.window_s)}];
    add_unique(a.ips, e.src);
    if (e.asn != 0) add_unique(a.asns, e.asn);
    if (e.ja4_hash != 0) add_unique(a.ja4s, e.ja4_hash);
    if (e.frame_head != 0) add_unique(a.frames, e.frame_head);
    if (e.frame_tail != 0) add_unique(a.frames, e.frame_tail);
    a.requests += 1;
    a.input_tokens += e.input_tokens;
    a.output_tokens += e.output_tokens;
}

void FleetLink::run() {
    using clock = std::chrono::steady_clock;
    auto last = clock::now();
    const auto interval = std::chrono::milliseconds(opt_.interval_ms);
    for (;;) {
        const bool stopping = !running_.load(std::memory_order_acquire);
        bool any = false;
        account::FleetEvidence e;
        while (evidence_q_.pop(e)) {
            add(e);
            any = true;
            if (pending_.size() >= opt_.batch_accounts) break;
        }
        Ask a;
        while (asks_.size() < opt_.batch_accounts && ask_q_.pop(a)) {
            asks_.push_back(a);
            any = true;
        }
        const auto now = clock::now();
        if (pending_.size() >= opt_.batch_accounts || asks_.size() >= opt_.batch_accounts ||
            (now - last >= interval && (!pending_.empty() || !asks_.empty())) || stopping) {
            publish();
            // Questions after the evidence: a view includes what this edge just published.
            if (!asks_.empty()) {
                for (account::FleetView& v : read(asks_))
                    if (!view_q_.push(v)) bump(FleetCtr::ViewsDropped);
                asks_.clear();
            }
            last = clock::now();
        }
        if (stopping && evidence_q_.empty() && pending_.empty()) break;
        if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void FleetLink::publish() {
    if (pending_.empty()) return;
    const std::string ttl = std::to_string(uint64_t{opt_.window_s} * (opt_.windows_read + 1));
    std::vector<RedisCommand> cmds;
    std::vector<size_t> ends;  // one past each account-window's last command
    cmds.reserve(pending_.size() * 12);
    auto expire = [&](const std::string& key) {
        cmds.push_back(RedisCommand{{"EXPIRE", key, ttl, "NX"}});
    };
    for (const auto& [k, agg] : pending_) {
        const std::string id = hex_view(k.account);
        auto pfadd = [&](EvidenceKind kind, char domain, auto&& elements, auto&& bytes_of) {
            if (elements.empty()) return;
            RedisCommand c;
            c.argv = {"PFADD", evidence_key(opt_.key_prefix, id, kind, k.window)};
            for (const auto& x : elements) {
                const auto h = hasher_.hash(domain, bytes_of(x));
                c.argv.emplace_back(h.data(), h.size());
            }
            const std::string key = c.argv[1];
            cmds.push_back(std::move(c));
            expire(key);
        };
        auto addr_bytes = [](const IpAddress& x) { return x.span(); };
        pfadd(EvidenceKind::Ips, 'i', agg.ips, addr_bytes);
        std::vector<IpAddress> nets;
        for (const IpAddress& ip : agg.ips) add_unique(nets, account::network_prefix(ip));
        pfadd(EvidenceKind::Networks, 'n', nets, addr_bytes);
        pfadd(EvidenceKind::Asns, 'a', agg.asns, [](const uint32_t& x) {
            return std::span(reinterpret_cast<const uint8_t*>(&x), sizeof(x));
        });
        pfadd(EvidenceKind::Ja4s, 'j', agg.ja4s, [](const uint64_t& x) {
            return std::span(reinterpret_cast<const uint8_t*>(&x), sizeof(x));
        });
        // Templates: which accounts sent each frame (the member is the keyed account id).
        for (uint64_t f : agg.frames) {
            const std::string key = template_key(opt_.key_prefix, frame_tag(f), k.window);
            cmds.push_back(RedisCommand{{"PFADD", key, id}});
            expire(key);
        }
        const std::string cnt = evidence_key(opt_.key_prefix, id, EvidenceKind::Counters, k.window);
        cmds.push_back(RedisCommand{{"HINCRBY", cnt, "req", std::to_string(agg.requests)}});
        cmds.push_back(RedisCommand{{"HINCRBY", cnt, "in", std::to_string(agg.input_tokens)}});
        cmds.push_back(RedisCommand{{"HINCRBY", cnt, "out", std::to_string(agg.output_tokens)}});
        expire(cnt);
        ends.push_back(cmds.size());
    }
    const std::vector<RedisReply> replies = cluster_.run(cmds);
    bump(FleetCtr::Batches);
    size_t begin = 0;
    uint64_t ok = 0, failed = 0;
    for (size_t end : ends) {
        bool all = true;
        for (size_t i = begin; i < end; ++i) all &= replies[i].ok();
        (all ? ok : failed) += 1;
        begin = end;
    }
    bump(FleetCtr::Published, ok);
    bump(FleetCtr::PublishFailed, failed);
    connected_.store(failed == 0, std::memory_order_relaxed);
    pending_.clear();
    sync_router_counters();
}

std::string FleetLink::frame_tag(uint64_t frame) const {
    const auto h = hasher_.hash('f', std::span(reinterpret_cast<const uint8_t*>(&frame), 8));
    return std::string(h.data(), h.size());
}

std::vector<account::FleetView> FleetLink::read(std::span<const Ask> asks) {
    std::vector<RedisCommand> cmds;
    constexpr EvidenceKind kSets[] = {EvidenceKind::Ips, EvidenceKind::Networks, EvidenceKind::Asns,
                                      EvidenceKind::Ja4s};
    std::vector<size_t> begin;  // each question's first command
    for (const Ask& a : asks) {
        begin.push_back(cmds.size());
        const std::string id = hex_view(a.account);
        const uint64_t w = window_of(a.ts_ns, opt_.window_s);
        auto union_of = [&](auto&& key_of) {
            RedisCommand c;
            c.argv = {"PFCOUNT"};
            for (uint32_t i = 0; i < opt_.windows_read && i <= w; ++i)
                c.argv.push_back(key_of(w - i));
            cmds.push_back(std::move(c));
        };
        for (EvidenceKind k : kSets)
            union_of([&](uint64_t x) { return evidence_key(opt_.key_prefix, id, k, x); });
        for (uint32_t i = 0; i < opt_.windows_read; ++i)
            cmds.push_back(RedisCommand{
                {"HMGET",
                 evidence_key(opt_.key_prefix, id, EvidenceKind::Counters, w >= i ? w - i : 0),
                 "req", "in", "out"}});
        for (uint64_t f : a.frames)
            if (f != 0) {
                const std::string tag = frame_tag(f);
                union_of([&](uint64_t x) { return template_key(opt_.key_prefix, tag, x); });
            }
    }
    begin.push_back(cmds.size());
    const std::vector<RedisReply> replies = cluster_.run(cmds);
    std::vector<account::FleetView> out;
    for (size_t n = 0; n < asks.size(); ++n) {
        const RedisReply* r = replies.data() + begin[n];
        const size_t count = begin[n + 1] - begin[n];
        bool ok = true;
        for (size_t i = 0; i < count; ++i) ok &= r[i].ok();
        if (!ok) {
            bump(FleetCtr::ReadFailed);
            continue;
        }
        account::FleetView v;
        v.account = asks[n].account;
        account::FleetSignals& s = v.signals;
        s.known = true;
        s.distinct_ips = as_number(r[0]);
        s.distinct_prefixes = as_number(r[1]);
        s.distinct_asns = as_number(r[2]);
        s.distinct_ja4 = as_number(r[3]);
        const size_t counters = std::size(kSets);
        for (uint32_t i = 0; i < opt_.windows_read; ++i) {
            const RedisReply& h = r[counters + i];
            if (h.type != RedisReply::Type::Array || h.elements.size() != 3) continue;
            if (i > window_of(asks[n].ts_ns, opt_.window_s)) continue;  // before time 0
            s.requests += as_number(h.elements[0]);
            s.input_tokens += as_number(h.elements[1]);
            s.output_tokens += as_number(h.elements[2]);
        }
        for (size_t i = counters + opt_.windows_read; i < count; ++i)
            s.template_accounts = std::max(s.template_accounts, as_number(r[i]));
        bump(FleetCtr::Reads);
        out.push_back(v);
    }
    sync_router_counters();
    return out;
}

void FleetLink::sync_router_counters() {
    const RouterCounters& r = cluster_.counters();
    auto set = [&](FleetCtr c, uint64_t v) {
        ctr_[static_cast<size_t>(c)].store(v, std::memory_order_relaxed);
    };
    set(FleetCtr::RedisCommands, r.commands);
    set(FleetCtr::RedisMoved, r.moved);
    set(FleetCtr::RedisAsk, r.asked);
    set(FleetCtr::RedisRefreshes, r.refreshes);
    set(FleetCtr::RedisConnects, r.connects);
    set(FleetCtr::RedisConnectFailures, r.connect_failures);
    set(FleetCtr::RedisLost, r.lost);
    masters_.store(cluster_.masters().size(), std::memory_order_relaxed);
    standalone_.store(cluster_.standalone(), std::memory_order_relaxed);
}

std::vector<account::FleetView> FleetLink::finish_offline(
    const std::vector<account::FleetQuestion>& questions) {
    stop();
    if (!opt_.sync.run.empty()) {
        const std::string key = sync_key(opt_.key_prefix, opt_.sync.run);
        cluster_.run(RedisCommand{{"INCR", key}});
        cluster_.run(RedisCommand{{"EXPIRE", key, "3600"}});
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::seconds(opt_.sync.timeout_s);
        for (;;) {
            const RedisReply r = cluster_.run(RedisCommand{{"GET", key}});
            if (as_number(r) >= opt_.sync.edges) break;
            if (std::chrono::steady_clock::now() >= deadline) {
                bump(FleetCtr::SyncTimeouts);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    std::vector<account::FleetView> views;
    std::vector<Ask> batch;
    for (size_t i = 0; i < questions.size(); ++i) {
        batch.push_back(questions[i]);
        if (batch.size() == opt_.batch_accounts || i + 1 == questions.size()) {
            for (auto& v : read(batch)) views.push_back(v);
            batch.clear();
        }
    }
    return views;
}

FleetStats FleetLink::stats() const {
    FleetStats s;
    for (size_t i = 0; i < s.v.size(); ++i) s.v[i] = ctr_[i].load(std::memory_order_relaxed);
    s.connected = connected_.load(std::memory_order_relaxed);
    s.masters = masters_.load(std::memory_order_relaxed);
    s.standalone = standalone_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace sluice::fleet
