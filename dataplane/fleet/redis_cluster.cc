#include "fleet/redis_cluster.h"

#include <algorithm>
#include <charconv>

namespace sluice::fleet {
namespace {

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381": the target; an empty host is the
// replying node's.
bool redirect_target(std::string_view err, std::string_view verb, const Endpoint& from,
                     Endpoint& to) {
    if (!err.starts_with(verb) || err.size() <= verb.size() || err[verb.size()] != ' ')
        return false;
    const size_t sp = err.find(' ', verb.size() + 1);
    if (sp == std::string_view::npos) return false;
    std::string_view where = err.substr(sp + 1);
    if (where.starts_with(':')) {
        Endpoint same = from;  // "MOVED 3999 :6381": the replying node's host
        same.port = 0;
        const std::string host = same.text();
        return parse_endpoint(host.substr(0, host.size() - 2) + std::string(where), to);
    }
    return parse_endpoint(where, to);
}

}  // namespace

RedisCluster::RedisCluster(Options o) : opt_(std::move(o)) {
    slot_owner_.fill(-1);
}

RedisCluster::Node& RedisCluster::node(const Endpoint& e) {
    auto [it, fresh] = nodes_.try_emplace(e.text());
    if (fresh) it->second.conn = std::make_unique<RedisNode>(e, opt_.timeout);
    return it->second;
}

RedisNode* RedisCluster::ready(const Endpoint& e) {
    Node& n = node(e);
    if (n.conn->connected()) return n.conn.get();
    const auto now = std::chrono::steady_clock::now();
    if (now < n.retry_at) return nullptr;
    std::string err;
    if (n.conn->connect(opt_.auth, err)) {
        ++ctr_.connects;
        n.backoff = std::chrono::milliseconds(0);
        return n.conn.get();
    }
    ++ctr_.connect_failures;
    last_error_ = err;
    n.backoff = std::clamp(n.backoff * 2, opt_.backoff_min, opt_.backoff_max);
    n.retry_at = now + n.backoff;
    return nullptr;
}

bool RedisCluster::read_slots(RedisNode& n) {
    const RedisReply r = n.command(RedisCommand{{"CLUSTER", "SLOTS"}, 99});
    if (r.type == RedisReply::Type::Error &&
        r.str.find("cluster support disabled") != std::string::npos) {
        masters_ = {n.endpoint()};
        known_ = {n.endpoint().text()};
        slot_owner_.fill(0);
        standalone_ = true;
        return true;
    }
    if (r.type != RedisReply::Type::Array) {
        last_error_ = n.endpoint().text() + ": CLUSTER SLOTS: " + r.str;
        return false;
    }
    std::vector<Endpoint> masters;
    std::array<int16_t, kClusterSlots> owner;
    owner.fill(-1);
    for (const RedisReply& range : r.elements) {
        if (range.type != RedisReply::Type::Array || range.elements.size() < 3) continue;
        const RedisReply& lo = range.elements[0];
        const RedisReply& hi = range.elements[1];
        const RedisReply& m = range.elements[2];
        if (lo.type != RedisReply::Type::Integer || hi.type != RedisReply::Type::Integer ||
            m.type != RedisReply::Type::Array || m.elements.size() < 2 ||
            m.elements[0].type != RedisReply::Type::String ||
            m.elements[1].type != RedisReply::Type::Integer)
            continue;
        if (lo.integer < 0 || hi.integer >= kClusterSlots || lo.integer > hi.integer) continue;
        Endpoint e;
        e.host = m.elements[0].str.empty() ? n.endpoint().host : m.elements[0].str;
        if (m.elements[1].integer <= 0 || m.elements[1].integer > 65535) continue;
        e.port = static_cast<uint16_t>(m.elements[1].integer);
        auto it = std::find_if(masters.begin(), masters.end(),
                               [&](const Endpoint& x) { return x.text() == e.text(); });
        const auto idx = static_cast<int16_t>(it - masters.begin());
        if (it == masters.end()) masters.push_back(e);
        for (long long s = lo.integer; s <= hi.integer; ++s) owner[static_cast<size_t>(s)] = idx;
    }
    if (masters.empty()) {
        last_error_ = n.endpoint().text() + ": CLUSTER SLOTS: no slot is served";
        return false;
    }
    masters_ = std::move(masters);
    slot_owner_ = owner;
    standalone_ = false;
    known_.clear();
    for (const Endpoint& m : masters_) known_.push_back(m.text());
    read_nodes(n);
    return true;
}

void RedisCluster::read_nodes(RedisNode& n) {
    // "<id> <ip:port@cport[,hostname]> <flags> <master> ..." per line; masters without slots
    // (a resharding's new target) are here and not in CLUSTER SLOTS.
    const RedisReply r = n.command(RedisCommand{{"CLUSTER", "NODES"}, 99});
    if (r.type != RedisReply::Type::String) return;
    std::string_view text = r.str;
    while (!text.empty()) {
        const size_t eol = text.find('\n');
        const std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        const size_t a = line.find(' ');
        if (a == std::string_view::npos) continue;
        const size_t b = line.find(' ', a + 1);
        if (b == std::string_view::npos) continue;
        const size_t c = line.find(' ', b + 1);
        const std::string_view addr = line.substr(a + 1, b - a - 1);
        const std::string_view flags =
            line.substr(b + 1, c == std::string_view::npos ? c : c - b - 1);
        if (flags.find("master") == std::string_view::npos) continue;
        std::string hostport(addr.substr(0, addr.find('@')));
        if (hostport.starts_with(':')) hostport = n.endpoint().host + hostport;
        Endpoint e;
        if (parse_endpoint(hostport, e)) known_.push_back(e.text());
    }
}

bool RedisCluster::known(const Endpoint& e) const {
    const std::string t = e.text();
    if (std::find(known_.begin(), known_.end(), t) != known_.end()) return true;
    return std::any_of(opt_.seeds.begin(), opt_.seeds.end(),
                       [&](const Endpoint& s) { return s.text() == t; });
}

bool RedisCluster::refresh() {
    std::vector<Endpoint> candidates = masters_;
    for (const Endpoint& s : opt_.seeds)
        if (std::none_of(candidates.begin(), candidates.end(),
                         [&](const Endpoint& x) { return x.text() == s.text(); }))
            candidates.push_back(s);
    for (const Endpoint& e : candidates) {
        RedisNode* n = ready(e);
        if (n == nullptr || !read_slots(*n)) continue;
        ++ctr_.refreshes;
        mapped_ = true;
        stale_ = false;
        return true;
    }
    return false;
}

std::string RedisCluster::owner(uint16_t slot) const {
    const int16_t o = slot_owner_[slot % kClusterSlots];
    return o < 0 ? std::string() : masters_[static_cast<size_t>(o)].text();
}

std::vector<Endpoint> RedisCluster::masters() const {
    return masters_;
}

std::vector<RedisReply> RedisCluster::run(std::span<const RedisCommand> cmds) {
    if (stale_) refresh();
    std::vector<RedisReply> out(cmds.size(), RedisReply::lost("no node serves the slot"));
    struct Job {
        size_t idx;
        Endpoint where;
        bool asking;
    };
    std::vector<Job> pending;
    for (size_t i = 0; i < cmds.size(); ++i) {
        if (!mapped_) {
            out[i] = RedisReply::lost("no Redis node reachable: " + last_error_);
            continue;
        }
        const int16_t o = slot_owner_[key_slot(cmds[i].key())];
        if (o >= 0) pending.push_back({i, masters_[static_cast<size_t>(o)], false});
    }
    bool refreshed_for_redirect = false;
    for (int round = 0; !pending.empty(); ++round) {
        if (round > opt_.max_redirects) {
            for (const Job& j : pending) out[j.idx] = RedisReply::lost("too many redirections");
            break;
        }
        std::stable_sort(pending.begin(), pending.end(), [](const Job& a, const Job& b) {
            return a.where.text() < b.where.text();
        });
        std::vector<Job> next;
        for (size_t g = 0; g < pending.size();) {
            size_t end = g;
            const std::string where = pending[g].where.text();
            while (end < pending.size() && pending[end].where.text() == where) ++end;
            RedisNode* n = ready(pending[g].where);
            if (n == nullptr) {
                for (size_t k = g; k < end; ++k)
                    out[pending[k].idx] = RedisReply::lost(where + ": unreachable");
                stale_ = true;  // a master gone: its replica may have taken over
                g = end;
                continue;
            }
            std::vector<RedisCommand> batch;
            for (size_t k = g; k < end; ++k) {
                if (pending[k].asking) batch.push_back(RedisCommand{{"ASKING"}, 99});
                batch.push_back(cmds[pending[k].idx]);
            }
            ctr_.commands += batch.size();
            std::vector<RedisReply> replies = n->pipeline(batch);
            size_t at = 0;
            for (size_t k = g; k < end; ++k) {
                if (pending[k].asking) ++at;  // ASKING's +OK
                RedisReply& r = replies[at++];
                Endpoint to;
                const bool moved = r.type == RedisReply::Type::Error &&
                                   redirect_target(r.str, "MOVED", pending[k].where, to);
                const bool ask = !moved && r.type == RedisReply::Type::Error &&
                                 redirect_target(r.str, "ASK", pending[k].where, to);
                if ((moved || ask) && !known(to)) {
                    // Perhaps a node the map does not have yet: read it once, then refuse.
                    if (!refreshed_for_redirect) {
                        refreshed_for_redirect = true;
                        refresh();
                    }
                    if (!known(to)) {
                        ++ctr_.refused_redirects;
                        out[pending[k].idx] =
                            RedisReply::lost("redirect outside the cluster: " + to.text());
                        continue;
                    }
                }
                if (moved) {
                    ++ctr_.moved;
                    stale_ = true;
                    next.push_back({pending[k].idx, to, false});
                } else if (ask) {
                    ++ctr_.asked;
                    next.push_back({pending[k].idx, to, true});
                } else {
                    if (r.type == RedisReply::Type::Lost) stale_ = true;
                    out[pending[k].idx] = std::move(r);
                }
            }
            g = end;
        }
        pending = std::move(next);
    }
    for (const RedisReply& r : out)
        if (r.type == RedisReply::Type::Lost) ++ctr_.lost;
    return out;
}

}  // namespace sluice::fleet
