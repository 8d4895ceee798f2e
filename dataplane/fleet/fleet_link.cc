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
    "redis_refused_redirects",
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

namespace {

// KEYS: ip, net, asn, ja4 (HyperLogLogs), cnt (hash). ARGV: ttl, req, in, out, then how many
// elements each HyperLogLog gets, then the elements.
constexpr std::string_view kPublishScript = R"lua(
local ttl = ARGV[1]
local at = 9
for k = 1, 4 do
  local n = tonumber(ARGV[4 + k])
  if n > 0 then
    redis.call('PFADD', KEYS[k], unpack(ARGV, at, at + n - 1))
    redis.call('EXPIRE', KEYS[k], ttl, 'NX')
  end
  at = at + n
end
redis.call('HINCRBY', KEYS[5], 'req', ARGV[2])
redis.call('HINCRBY', KEYS[5], 'in', ARGV[3])
redis.call('HINCRBY', KEYS[5], 'out', ARGV[4])
redis.call('EXPIRE', KEYS[5], ttl, 'NX')
return 1
)lua";
// KEYS: a template's HyperLogLog. ARGV: ttl, the account id.
constexpr std::string_view kTemplateScript = R"lua(
redis.call('PFADD', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return 1
)lua";

FleetLink::Script make_script(std::string_view text) {
    FleetLink::Script s;
    s.text = std::string(text);
    const auto d = sha1(as_bytes(text));
    s.sha.resize(40);
    to_hex(d, s.sha);
    return s;
}

}  // namespace

std::string_view fleet_counter_name(FleetCtr c) {
    return kCounterNames[static_cast<size_t>(c)];
}

size_t FleetLink::WindowKeyHash::operator()(const WindowKey& k) const {
    return hash_bytes(
        std::span(reinterpret_cast<const uint8_t*>(k.account.data()), k.account.size()), k.window);
}

FleetLink::FleetLink(const FleetOptions& o, std::span<const uint8_t> account_secret, bool offline)
    : opt_(o),
      offline_(offline),
      hasher_(account_secret),
      cluster_(RedisCluster::options(o.seeds, o.auth, o.timeout_ms)),
      evidence_q_(o.queue),
      ask_q_(o.queue),
      view_q_(o.queue),
      publish_script_(make_script(kPublishScript)),
      template_script_(make_script(kTemplateScript)) {}

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
    if (a.requests == 0) a.first = std::chrono::steady_clock::now();
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
    cmds.reserve(pending_.size() * 2);
    for (const auto& [k, agg] : pending_) {
        const std::string id = hex_view(k.account);
        // One script call per account-window (its keys share the {acct:ID} slot): PFADD and
        // EXPIRE NX per element kind, HINCRBY of the counters.
        RedisCommand c;
        c.key_arg = 3;
        c.argv = {"EVALSHA", publish_script_.sha, "5"};
        for (EvidenceKind kind : {EvidenceKind::Ips, EvidenceKind::Networks, EvidenceKind::Asns,
                                  EvidenceKind::Ja4s, EvidenceKind::Counters})
            c.argv.push_back(evidence_key(opt_.key_prefix, id, kind, k.window));
        c.argv.push_back(ttl);
        c.argv.push_back(std::to_string(agg.requests));
        c.argv.push_back(std::to_string(agg.input_tokens));
        c.argv.push_back(std::to_string(agg.output_tokens));
        std::vector<IpAddress> nets;
        for (const IpAddress& ip : agg.ips) add_unique(nets, account::network_prefix(ip));
        const size_t counts = c.argv.size();
        c.argv.resize(counts + 4);
        auto add = [&](size_t slot, char domain, const auto& elements, auto&& bytes_of) {
            c.argv[counts + slot] = std::to_string(elements.size());
            for (const auto& x : elements) {
                const auto h = hasher_.hash(domain, bytes_of(x));
                c.argv.emplace_back(h.data(), h.size());
            }
        };
        auto addr_bytes = [](const IpAddress& x) { return x.span(); };
        auto int_bytes = [](const auto& x) {
            return std::span(reinterpret_cast<const uint8_t*>(&x), sizeof(x));
        };
        add(0, 'i', agg.ips, addr_bytes);
        add(1, 'n', nets, addr_bytes);
        add(2, 'a', agg.asns, int_bytes);
        add(3, 'j', agg.ja4s, int_bytes);
        cmds.push_back(std::move(c));
        // Templates: which accounts sent each frame (the member is the keyed account id).
        for (uint64_t f : agg.frames) {
            RedisCommand t;
            t.key_arg = 3;
            t.argv = {"EVALSHA", template_script_.sha,
                      "1",       template_key(opt_.key_prefix, frame_tag(f), k.window),
                      ttl,       id};
            cmds.push_back(std::move(t));
        }
        ends.push_back(cmds.size());
    }
    auto oldest = std::chrono::steady_clock::time_point::max();
    for (const auto& [k, agg] : pending_) oldest = std::min(oldest, agg.first);
    const std::vector<RedisReply> replies = run_scripts(cmds);
    lag_ms_.store(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - oldest)
                                            .count()),
                  std::memory_order_relaxed);
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

std::vector<RedisReply> FleetLink::run_scripts(std::vector<RedisCommand>& cmds) {
    std::vector<RedisReply> replies = cluster_.run(cmds);
    // A node that has not seen a script yet (new, restarted, failed over) says NOSCRIPT: send
    // those again with the script's text, which also caches it there.
    std::vector<size_t> again;
    for (size_t i = 0; i < replies.size(); ++i)
        if (replies[i].type == RedisReply::Type::Error && replies[i].str.starts_with("NOSCRIPT"))
            again.push_back(i);
    if (again.empty()) return replies;
    std::vector<RedisCommand> retry;
    for (size_t i : again) {
        RedisCommand c = cmds[i];
        c.argv[0] = "EVAL";
        c.argv[1] = c.argv[1] == publish_script_.sha ? publish_script_.text : template_script_.text;
        retry.push_back(std::move(c));
    }
    std::vector<RedisReply> second = cluster_.run(retry);
    for (size_t n = 0; n < again.size(); ++n) replies[again[n]] = std::move(second[n]);
    return replies;
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
    set(FleetCtr::RedisRefusedRedirects, r.refused_redirects);
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
    s.lag_ms = lag_ms_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace sluice::fleet
