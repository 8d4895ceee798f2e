// The HTTP stage's session pool: a flow takes a session at its first request bytes and gives
// it back when the flow ends; under pressure the message that has held a head buffer, body
// buffer or decoder longest gives it up (reclaim_oldest). The ownership audit checks it.
#include <algorithm>

#include "http/http_inspector.h"
#include "http/http_session.h"

namespace sluice::http {

size_t HttpInspector::sessions_in_use() const {
    return static_cast<size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                             [](const Session& s) { return s.in_use; }));
}

void HttpInspector::audit(const Flow& f, PoolAudit& a) const {
    if (f.http_session == kNoSession) return;
    a.claim(PoolKind::HttpSessions, f.http_session, f.flow_id);
    if (f.http_session >= sessions_.size()) return;
    const Session& s = sessions_[f.http_session];
    if (!s.in_use || s.owner != &f || s.owner_id != f.flow_id)
        a.violation(PoolKind::HttpSessions, f.http_session, f.flow_id, "owner names another flow");
    for (size_t d = 0; d < 2; ++d) {
        if (s.head_buf[d] != kNil) a.claim(PoolKind::HeadBuffers, s.head_buf[d], f.flow_id);
        if (s.body[d].buf != kNil) a.claim(PoolKind::BodyBuffers, s.body[d].buf, f.flow_id);
        if (s.body[d].dec != BodyDecoders::kNil)
            a.claim(PoolKind::Decoders, s.body[d].dec, f.flow_id);
        if (s.body[d].dec2 != BodyDecoders::kNil)
            a.claim(PoolKind::Decoders, s.body[d].dec2, f.flow_id);
    }
}

void HttpInspector::audit_pools(PoolAudit& a) const {
    a.pool(PoolKind::HttpSessions, static_cast<uint32_t>(sessions_.size()), sessions_in_use());
    a.pool(PoolKind::HeadBuffers, heads_.count(), heads_.in_use());
}

HttpInspector::Session* HttpInspector::session(Flow& f) {
    return f.http_session == kNoSession ? nullptr : &sessions_[f.http_session];
}

HttpInspector::Session* HttpInspector::start_session(Flow& f, std::span<const uint8_t> first) {
    // HTTP/1 requests start with a method token; HTTP/2 with "PRI". Anything else (or server
    // bytes first) is not ours.
    if (first.empty() || first[0] < 'A' || first[0] > 'Z') {
        f.inspect_flags |= inspect_flag::kNotHttp;
        return nullptr;
    }
    const uint32_t id = free_sessions_.alloc();
    if (id == IndexPool::kNil) {
        ++ctr_.sessions_exhausted;
        f.inspect_flags |= inspect_flag::kNotHttp;
        return nullptr;
    }
    Session& s = sessions_[id];
    s = Session{};
    s.in_use = true;
    s.owner = &f;
    s.owner_id = f.flow_id;
    f.http_session = static_cast<uint16_t>(id);
    ++ctr_.sessions;
    return &s;
}

void HttpInspector::end_session(Flow& f) {
    Session& s = *session(f);
    while (s.tx_count > 0) {
        Transaction& t = s.tx(0);
        if (!t.has_response) ++ctr_.unanswered;
        log_txn(f, t);
        s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
        --s.tx_count;
    }
    release_dir(s, Dir::ToServer);
    release_dir(s, Dir::ToClient);
    s.in_use = false;
    free_sessions_.release(f.http_session);
    f.http_session = kNoSession;
}

void HttpInspector::release_dir(Session& s, Dir d) {
    const size_t i = idx(d);
    if (s.head_buf[i] != kNil) heads_.release(s.head_buf[i]);
    s.head_buf[i] = kNil;
    bodies_.release(s.body[i]);
}

bool HttpInspector::reclaim_oldest(const Flow& asking, Held what) {
    // Only on exhaustion: one scan of the sessions is cheaper than an age-ordered list kept on
    // every allocation (as the TLS handshake buffers do).
    const uint64_t now = eve_.now().ns;
    const uint64_t min_age = uint64_t{opts_.reclaim_after_ms} * 1'000'000;
    auto holds = [&](const Session& s, size_t i) {
        switch (what) {
            case Held::Head:
                return s.head_buf[i] != kNil;
            case Held::Body:
                return s.body[i].buf != kNil;
            case Held::Decoder:
                return s.body[i].dec != BodyDecoders::kNil;
        }
        return false;
    };
    size_t victim = sessions_.size(), dir = 0;
    for (size_t k = 0; k < sessions_.size(); ++k) {
        const Session& s = sessions_[k];
        if (!s.in_use || s.owner == nullptr || s.owner == &asking ||
            s.owner->flow_id != s.owner_id || s.owner->http_session != k)
            continue;
        for (size_t i = 0; i < 2; ++i) {
            if (!holds(s, i) || now - s.since_ns[i] < min_age) continue;
            if (victim == sessions_.size() || s.since_ns[i] < sessions_[victim].since_ns[dir])
                victim = k, dir = i;
        }
    }
    if (victim == sessions_.size()) return false;
    Session& s = sessions_[victim];
    Flow& f = *s.owner;
    ++ctr_.buffers_reclaimed;
    ++ctr_.parse_stopped;
    // Its inspection of this direction is over, never silently: counted, recorded, and the
    // flow gets the configured verdict. The framer stops here; the message still open is
    // logged as truncated when the flow ends.
    f.verdict.merge(opts_.reclaim_verdict);
    if (opts_.reclaim_verdict >= Verdict::Alert) f.alerted = true;
    if (eve_.enabled()) {
        static constexpr std::string_view kHeld[] = {"head_buffer", "body_buffer", "decoder"};
        JsonBuilder& j = eve_.begin(f, "anomaly");
        j.object("anomaly")
            .field("type", std::string_view("applayer"))
            .field("event", std::string_view("http_buffer_reclaimed"))
            .field("layer", std::string_view("http"))
            .field("direction",
                   dir == 0 ? std::string_view("to_server") : std::string_view("to_client"))
            .field("resource", kHeld[static_cast<size_t>(what)])
            .field("action", verdict_name(opts_.reclaim_verdict))
            .field("held_ms", (now - s.since_ns[dir]) / 1'000'000)
            .end_object();
        eve_.finish();
    }
    release_dir(s, dir == 0 ? Dir::ToServer : Dir::ToClient);
    s.fs[dir].state = FramerState::Done;
    return true;
}

}  // namespace sluice::http
