#include "tls/tls_inspector.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <openssl/crypto.h>

namespace sluice::tls {
namespace {

constexpr uint8_t kHandshake = 22, kAppData = 23;
constexpr uint16_t kMaxRecord = 16384 + 2048;

bool looks_like_record(std::span<const uint8_t> b) {
    return b.size() >= 3 && b[0] == kHandshake && b[1] == 3 && b[2] <= 4;
}

}  // namespace

std::string_view decrypt_status_name(DecryptStatus s) {
    switch (s) {
        case DecryptStatus::Pending:
            return "handshake_incomplete";
        case DecryptStatus::Active:
            return "decrypted";
        case DecryptStatus::NoKeylog:
            return "no_keylog";
        case DecryptStatus::NoSecret:
            return "no_secret";
        case DecryptStatus::UnsupportedSuite:
            return "unsupported_suite";
        case DecryptStatus::NoCapacity:
            return "no_session_capacity";
        case DecryptStatus::TagFailure:
            return "tag_failure";
        case DecryptStatus::Gap:
            return "stream_gap";
        case DecryptStatus::Waiting:
            return "secret_pending";
        case DecryptStatus::SecretTimeout:
            return "secret_timeout";
        case DecryptStatus::Reclaimed:
            return "session_reclaimed";
    }
    return "unknown";
}

TlsInspector::TlsInspector(EveEmitter& eve, const TlsOptions& opts, const SecretStore* secrets)
    : eve_(eve),
      buffers_(opts.handshake_buffers),
      fp_(std::make_unique<Fingerprints>()),
      server_fp_(std::make_unique<ServerFingerprint>()),
      cert_(std::make_unique<CertificateFacts>()),
      opts_(opts),
      secrets_(secrets),
      sessions_(opts.decrypt_sessions, opts.pending_bytes),
      plain_(std::make_unique<std::array<uint8_t, DecryptSession::kMaxRecord>>()) {}

void TlsInspector::on_data(Flow& f, Dir dir, std::span<const uint8_t> bytes) {
    if (f.app_proto != AppProto::Tls) return;  // the pipeline routes other flows past TLS
    TlsDirState& d = f.tls.dir[idx(dir)];
    if (d.state == kFailed) return;
    if (d.state == kIdle) {
        if (dir == Dir::ToServer) {
            // Skip the SOCKS preamble the protocol detector measured.
            const uint64_t start = f.stream[0].delivered - bytes.size();
            const uint64_t preamble = f.detect_skip[0];
            if (start < preamble) {
                bytes = bytes.subspan(std::min<uint64_t>(preamble - start, bytes.size()));
            } else if (start > preamble) {
                // The detector needed more than the first chunk to say "TLS": the bytes it
                // saw before this chunk are in its scratch buffer.
                const uint64_t missed = start - preamble;
                if (missed > f.detect_len) {
                    d.state = kFailed;
                    return;
                }
                d.state = kHello;
                ++ctr_.sessions;
                feed_records(f, dir, {f.detect_buf, static_cast<size_t>(missed)});
            }
        } else if (!looks_like_record(bytes)) {
            // A tunnelled session's server answers the SOCKS handshake first: find the first
            // handshake record header in the chunk, or skip the chunk.
            size_t i = 0;
            while (i < bytes.size() && i < 512 && !looks_like_record(bytes.subspan(i))) ++i;
            bytes = i < bytes.size() && i < 512 ? bytes.subspan(i) : std::span<const uint8_t>{};
        }
        if (bytes.empty()) return;
        if (d.state == kIdle) {
            d.state = kHello;
            if (dir == Dir::ToServer) ++ctr_.sessions;
        }
    }
    feed_records(f, dir, bytes);
}

void TlsInspector::feed_records(Flow& f, Dir dir, std::span<const uint8_t> bytes) {
    TlsDirState& d = f.tls.dir[idx(dir)];
    while (!bytes.empty() && d.state != kFailed) {
        if (d.hdr_have < 5) {
            const size_t take = std::min<size_t>(5 - d.hdr_have, bytes.size());
            std::memcpy(d.hdr + d.hdr_have, bytes.data(), take);
            d.hdr_have = static_cast<uint8_t>(d.hdr_have + take);
            bytes = bytes.subspan(take);
            if (d.hdr_have < 5) return;
            const uint16_t len = static_cast<uint16_t>(d.hdr[3] << 8 | d.hdr[4]);
            if (d.hdr[0] < 20 || d.hdr[0] > 24 || d.hdr[1] != 3 || len == 0 || len > kMaxRecord) {
                ++ctr_.malformed;
                event(f, dir,
                      d.hdr[0] < 20 || d.hdr[0] > 24 ? TlsEvent::InvalidRecordType
                      : d.hdr[1] != 3                ? TlsEvent::InvalidRecordVersion
                                                     : TlsEvent::InvalidRecord);
                fail(f, dir);
                return;
            }
            if (d.hdr[0] == 24) event(f, dir, TlsEvent::Heartbeat);
            d.rec_left = len;
            ++ctr_.records;
            if (f.tls.session != DecryptSessions::kNil) {
                DecryptSession& ds = sessions_[f.tls.session];
                ds.capturing[idx(dir)] = true;
                ds.record_len[idx(dir)] = 0;
            }
            continue;
        }
        const size_t take = std::min<size_t>(d.rec_left, bytes.size());
        if (d.state == kTracking || d.state == kServerFlight) {
            // Past the hello: records go to decryption when a session is active.
            if (f.tls.session != DecryptSessions::kNil)
                capture(f, dir, bytes.first(take), take == d.rec_left);
            if (d.state == kServerFlight) server_flight(f, d.hdr[0], bytes.first(take));
        } else if (d.hdr[0] == kHandshake) {
            if (!feed_handshake(f, dir, bytes.first(take))) return;
        } else if (d.hdr[0] == kAppData) {
            // Application data before this direction's hello: nothing to fingerprint.
            ++ctr_.malformed;
            fail(f, dir);
            return;
        }
        bytes = bytes.subspan(take);
        d.rec_left = static_cast<uint16_t>(d.rec_left - take);
        if (d.rec_left == 0) d.hdr_have = 0;
    }
}

bool TlsInspector::feed_handshake(Flow& f, Dir dir, std::span<const uint8_t> bytes) {
    TlsDirState& d = f.tls.dir[idx(dir)];
    while (!bytes.empty() && d.state == kHello) {
        if (d.hs_have < 4) {
            const size_t take = std::min<size_t>(4 - d.hs_have, bytes.size());
            std::memcpy(d.hs + d.hs_have, bytes.data(), take);
            d.hs_have = static_cast<uint8_t>(d.hs_have + take);
            bytes = bytes.subspan(take);
            if (d.hs_have < 4) return true;
            const uint8_t expected = dir == Dir::ToServer ? 1 : 2;  // ClientHello / ServerHello
            const uint32_t msg_len = uint32_t{d.hs[1]} << 16 | uint32_t{d.hs[2]} << 8 | d.hs[3];
            if (dir == Dir::ToServer && f.tls.client_hello) {
                // A ClientHello is held: another one (before any ServerHello) gets logged too;
                // any other message means the client moved on.
                if (d.hs[0] != expected) {
                    d.state = kTracking;
                    return true;
                }
                log(f);  // uses the held message's length: assign the new one after
                f.tls.client_hello = f.tls.logged = false;
            }
            d.msg_len = msg_len;
            if (d.hs[0] != expected || d.msg_len == 0) {
                ++ctr_.malformed;
                event(f, dir, TlsEvent::InvalidHandshake);
                fail(f, dir);
                return false;
            }
            if (d.msg_len > HandshakeBuffers::kBufferSize) {
                ++ctr_.oversized_hello;
                fail(f, dir);
                return false;
            }
            d.buf = buffers_.alloc();
            if (d.buf == HandshakeBuffers::kNil && reclaim_oldest(f)) d.buf = buffers_.alloc();
            if (d.buf == HandshakeBuffers::kNil) {
                ++ctr_.buffers_exhausted;
                fail(f, dir);
                return false;
            }
            buffers_.holder(d.buf) = {&f, f.flow_id, eve_.now().ns, static_cast<uint8_t>(dir)};
            d.buf_len = 0;
            continue;
        }
        const size_t take = std::min<size_t>(d.msg_len - d.buf_len, bytes.size());
        std::memcpy(buffers_[d.buf].data() + d.buf_len, bytes.data(), take);
        d.buf_len += static_cast<uint32_t>(take);
        bytes = bytes.subspan(take);
        if (d.buf_len == d.msg_len) hello_complete(f, dir);
    }
    return d.state != kFailed;
}

void TlsInspector::hello_complete(Flow& f, Dir dir) {
    TlsDirState& d = f.tls.dir[idx(dir)];
    const std::span<const uint8_t> body = buffers_[d.buf].first(d.msg_len);
    if (dir == Dir::ToServer) {
        ClientHello ch;
        if (parse_client_hello(body, ch) != ParseStatus::Ok) {
            ++ctr_.malformed;
            event(f, dir, TlsEvent::InvalidHandshake);
            fail(f, dir);
            return;
        }
        ++ctr_.client_hellos;
        f.tls.client_hello = true;  // the body stays in the buffer until logged
        f.tls.client_hello_seq = eve_.seq();
        d.hs_have = 0;
        // Until the server answers, every plaintext handshake message may be another hello.
        d.state = f.tls.server_hello ? kTracking : kHello;
        if (f.tls.server_hello_held && f.tls.dir[1].buf != HandshakeBuffers::kNil) {
            // The server's hello came first (a retransmitted ClientHello, a tap merging the
            // directions late): it waited in its buffer for this one.
            TlsDirState& s = f.tls.dir[1];
            ServerHello sh;
            f.tls.server_hello_held = false;
            // (Its flight may have passed already while it waited: not followed.)
            if (parse_server_hello(buffers_[s.buf].first(s.msg_len), sh) == ParseStatus::Ok)
                server_hello_done(f, sh, false);
            release(s);
            d.state = kTracking;
        }
    } else {
        ServerHello sh;
        if (parse_server_hello(body, sh) != ParseStatus::Ok) {
            ++ctr_.malformed;
            event(f, dir, TlsEvent::InvalidHandshake);
            fail(f, dir);
            return;
        }
        ++ctr_.server_hellos;
        if (!f.tls.client_hello && !sh.hello_retry_request) {
            // No ClientHello yet: keep this hello until it arrives (decryption needs both).
            f.tls.server_hello_held = true;
            d.hs_have = 0;
            d.state = kTracking;
            return;
        }
        if (!server_hello_done(f, sh)) release(d);
        return;
    }
    // While secrets are awaited the record waits too: it will say whether decryption worked.
    if (f.tls.client_hello && f.tls.server_hello &&
        static_cast<DecryptStatus>(f.tls.decrypt) != DecryptStatus::Waiting)
        log(f);
}

bool TlsInspector::server_hello_done(Flow& f, const ServerHello& sh, bool may_follow_flight) {
    TlsDirState& d = f.tls.dir[1];
    f.tls.server_hello = true;
    f.tls.version = sh.selected_version;
    f.tls.cipher_suite = sh.cipher_suite;
    f.tls.hello_retry = sh.hello_retry_request;
    d.hs_have = 0;
    d.state = kTracking;
    // The server's side for observers that want it: before TLS 1.3 its certificate follows in
    // the clear (the hello stays in the buffer, the Certificate message goes after it); from
    // TLS 1.3 on everything after the hello is encrypted, so they hear of it now.
    bool kept = false;
    if (!sh.hello_retry_request && wants_server_flight()) {
        if (may_follow_flight && sh.selected_version <= 0x0303 && d.buf != HandshakeBuffers::kNil &&
            d.msg_len <= HandshakeBuffers::kBufferSize) {
            d.state = kServerFlight;
            f.tls.server_hello_len = static_cast<uint16_t>(d.msg_len);
            f.tls.cert_len = 0;
            f.tls.server_keyx = false;
            d.buf_len = 0;
            kept = true;
        } else {
            tell_server_flight(f, sh, nullptr, false);
        }
    }
    if (sh.hello_retry_request) {
        // Log the first ClientHello now; both sides start over with a second hello.
        log(f);
        for (TlsDirState& x : f.tls.dir) {
            x.state = kHello;
            x.hs_have = 0;
        }
        f.tls.client_hello = f.tls.server_hello = f.tls.logged = false;
        return false;
    }
    if (f.tls.dir[0].state == kHello) f.tls.dir[0].state = kTracking;
    start_decryption(f, sh);
    // While secrets are awaited the record waits too: it will say whether decryption worked.
    if (f.tls.client_hello && f.tls.server_hello &&
        static_cast<DecryptStatus>(f.tls.decrypt) != DecryptStatus::Waiting)
        log(f);
    return kept;
}

bool TlsInspector::wants_server_flight() const {
    for (size_t i = 0; i < hello_n_; ++i)
        if (hello_observers_[i]->wants_server_flight()) return true;
    return false;
}

void TlsInspector::tell_server_flight(Flow& f, const ServerHello& sh, const CertificateFacts* cert,
                                      bool key_exchange) {
    compute_server_fingerprint(sh, *server_fp_);
    ServerFlight s;
    s.version = sh.selected_version;
    s.fp = server_fp_.get();
    s.cert = cert;
    s.key_exchange = key_exchange;
    for (size_t i = 0; i < hello_n_; ++i)
        if (hello_observers_[i]->wants_server_flight()) hello_observers_[i]->on_server_flight(f, s);
}

void TlsInspector::server_flight(Flow& f, uint8_t record_type, std::span<const uint8_t> bytes) {
    constexpr uint8_t kCertificate = 11, kServerKeyExchange = 12, kServerHelloDone = 14;
    TlsDirState& d = f.tls.dir[1];
    if (record_type != kHandshake) {
        end_server_flight(f);  // ChangeCipherSpec (a resumed session), an alert: it is over
        return;
    }
    while (!bytes.empty() && d.state == kServerFlight) {
        if (d.hs_have < 4) {
            const size_t take = std::min<size_t>(4 - d.hs_have, bytes.size());
            std::memcpy(d.hs + d.hs_have, bytes.data(), take);
            d.hs_have = static_cast<uint8_t>(d.hs_have + take);
            bytes = bytes.subspan(take);
            if (d.hs_have < 4) return;
            d.msg_len = uint32_t{d.hs[1]} << 16 | uint32_t{d.hs[2]} << 8 | d.hs[3];
            d.buf_len = 0;
            if (d.hs[0] == kServerKeyExchange) f.tls.server_keyx = true;
            if (d.hs[0] == kServerHelloDone) {
                end_server_flight(f);
                return;
            }
            if (d.msg_len > 0) continue;
        }
        const size_t take = std::min<size_t>(d.msg_len - d.buf_len, bytes.size());
        const size_t room = HandshakeBuffers::kBufferSize - f.tls.server_hello_len;
        if (d.hs[0] == kCertificate && f.tls.cert_len == 0 && d.msg_len <= room)
            std::memcpy(buffers_[d.buf].data() + f.tls.server_hello_len + d.buf_len, bytes.data(),
                        take);
        d.buf_len += static_cast<uint32_t>(take);
        bytes = bytes.subspan(take);
        if (d.buf_len == d.msg_len) {
            // A chain larger than what the buffer keeps is not parsed (cert_len stays 0).
            if (d.hs[0] == kCertificate && f.tls.cert_len == 0 && d.msg_len <= room)
                f.tls.cert_len = static_cast<uint16_t>(d.msg_len);
            d.hs_have = 0;
        }
    }
}

void TlsInspector::end_server_flight(Flow& f) {
    TlsDirState& d = f.tls.dir[1];
    if (d.state != kServerFlight) return;
    d.state = kTracking;
    d.hs_have = 0;
    if (d.buf == HandshakeBuffers::kNil) return;
    ServerHello sh;
    const std::span<const uint8_t> held = buffers_[d.buf].first(HandshakeBuffers::kBufferSize);
    if (parse_server_hello(held.first(f.tls.server_hello_len), sh) == ParseStatus::Ok) {
        const CertificateFacts* cert = nullptr;
        if (f.tls.cert_len > 0) {
            if (parse_certificate_message(held.subspan(f.tls.server_hello_len, f.tls.cert_len),
                                          *cert_))
                cert = cert_.get();
            else
                event(f, Dir::ToClient, TlsEvent::InvalidCertificate);
        }
        tell_server_flight(f, sh, cert, f.tls.server_keyx);
    }
    release(d);
}

void TlsInspector::fail(Flow& f, Dir dir) {
    TlsDirState& d = f.tls.dir[idx(dir)];
    // A complete ClientHello still held in this direction's buffer is logged before the
    // buffer goes back to the pool.
    if (dir == Dir::ToServer && f.tls.client_hello && !f.tls.logged) log(f);
    f.tls.client_hello = f.tls.client_hello && f.tls.logged;
    if (dir == Dir::ToClient) f.tls.server_hello_held = false;  // its buffer goes now
    release(d);
    d.state = kFailed;
}

JsonBuilder* TlsInspector::give_up(Flow& f, Verdict v, std::string_view event,
                                   std::string_view direction) {
    f.verdict.merge(v);
    if (v >= Verdict::Alert) f.alerted = true;
    if (!eve_.enabled()) return nullptr;
    JsonBuilder& j = eve_.begin(f, "anomaly");
    j.object("anomaly")
        .field("type", std::string_view("applayer"))
        .field("event", event)
        .field("layer", std::string_view("tls"));
    if (!direction.empty()) j.field("direction", direction);
    j.field("action", verdict_name(v));
    return &j;
}

void TlsInspector::close_anomaly(JsonBuilder& j) {
    j.end_object();
    eve_.finish();
}

bool TlsInspector::reclaim_oldest(const Flow& asking) {
    // Only on exhaustion: a scan of the pool is cheaper than keeping an age-ordered list on
    // every allocation.
    const uint64_t now = eve_.now().ns;
    const uint64_t min_age = uint64_t{opts_.reclaim_after_ms} * 1'000'000;
    uint32_t oldest = HandshakeBuffers::kNil;
    for (uint32_t i = 0; i < buffers_.count(); ++i) {
        const HandshakeBuffers::Holder& h = buffers_.holder(i);
        auto* owner = static_cast<Flow*>(h.flow);
        if (owner == nullptr || owner == &asking || owner->flow_id != h.flow_id ||
            owner->tls.dir[h.dir].buf != i || now - h.since_ns < min_age)
            continue;
        if (oldest == HandshakeBuffers::kNil || h.since_ns < buffers_.holder(oldest).since_ns)
            oldest = i;
    }
    if (oldest == HandshakeBuffers::kNil) return false;
    const HandshakeBuffers::Holder h = buffers_.holder(oldest);
    Flow& victim = *static_cast<Flow*>(h.flow);
    TlsDirState& d = victim.tls.dir[h.dir];
    ++ctr_.buffers_reclaimed;
    const bool complete_hello = h.dir == 0 && victim.tls.client_hello && !victim.tls.logged;
    if (h.dir == 1 && d.state == kServerFlight) {
        // A server flight being read for its certificate: it ends here with what it has
        // (records are still followed, decryption goes on).
        end_server_flight(victim);
    } else if (complete_hello) {
        // A complete ClientHello waiting for its secrets: its record goes out now (decryption
        // itself keeps its randoms in the session and goes on).
        log(victim);
        if (d.buf != HandshakeBuffers::kNil) release(d);
    } else {
        // A hello still being assembled: its inspection is over. Never silent: counted,
        // recorded, and the flow gets the configured verdict.
        if (JsonBuilder* j = give_up(victim, opts_.reclaim_verdict, "tls_handshake_reclaimed",
                                     h.dir == 0 ? "to_server" : "to_client")) {
            j->field("held_ms", (now - h.since_ns) / 1'000'000);
            close_anomaly(*j);
        }
        release(d);
        d.state = kFailed;
        if (h.dir == 1) victim.tls.server_hello_held = false;
    }
    return true;
}

bool TlsInspector::reclaim_session(const Flow& asking) {
    // Only on exhaustion, like reclaim_oldest: one scan of the pool.
    const uint64_t now = eve_.now().ns;
    const uint64_t min_idle = uint64_t{opts_.reclaim_after_ms} * 1'000'000;
    uint32_t oldest = DecryptSessions::kNil;
    for (uint32_t i = 0; i < sessions_.count(); ++i) {
        const DecryptSession& ds = sessions_[i];
        const Flow* owner = ds.owner;
        if (owner == nullptr || owner == &asking || owner->flow_id != ds.owner_id ||
            owner->tls.session != i || now - ds.last_ns < min_idle)
            continue;
        if (oldest == DecryptSessions::kNil || ds.last_ns < sessions_[oldest].last_ns) oldest = i;
    }
    if (oldest == DecryptSessions::kNil) return false;
    DecryptSession& ds = sessions_[oldest];
    Flow& victim = *ds.owner;
    ++ctr_.decrypt_reclaimed;
    // Its later records go unread: never silent, the flow gets the configured verdict.
    if (JsonBuilder* j = give_up(victim, opts_.reclaim_verdict, "tls_decrypt_reclaimed")) {
        j->field("idle_ms", (now - ds.last_ns) / 1'000'000)
            .field("waiting_for_secrets", ds.waiting);
        close_anomaly(*j);
    }
    stop_decryption(victim, DecryptStatus::Reclaimed);
    log(victim);  // a ClientHello still held for its secrets is logged now
    return true;
}

bool TlsInspector::holds(Flow& f, uint64_t now_ns) {
    if (!opts_.hold_for_secrets || f.tls.session == DecryptSessions::kNil) return false;
    DecryptSession& ds = sessions_[f.tls.session];
    if (!ds.waiting) return false;
    if (ds.hold_since_ns == 0) {
        ds.hold_since_ns = now_ns;
        ++ctr_.held_sessions;
    }
    if (now_ns - ds.hold_since_ns < uint64_t{opts_.secret_wait_ms} * 1'000'000) {
        ++ctr_.held_segments;
        return true;
    }
    // The secrets never came: the configured choice, counted and recorded, never silent.
    ++ctr_.secret_wait_timeouts;
    ++ctr_.decrypt_no_secret;
    if (JsonBuilder* j = give_up(f, opts_.secret_wait_verdict, "tls_secret_wait_timeout")) {
        j->field("held_ms", (now_ns - ds.hold_since_ns) / 1'000'000);
        close_anomaly(*j);
    }
    stop_decryption(f, DecryptStatus::SecretTimeout);
    log(f);
    return false;
}

void TlsInspector::audit(const Flow& f, PoolAudit& a) const {
    for (uint8_t d = 0; d < 2; ++d) {
        const uint32_t b = f.tls.dir[d].buf;
        if (b == HandshakeBuffers::kNil) continue;
        a.claim(PoolKind::HandshakeBuffers, b, f.flow_id);
        if (b >= buffers_.count()) continue;
        const HandshakeBuffers::Holder& h = buffers_.holder(b);
        if (h.flow != static_cast<const void*>(&f) || h.flow_id != f.flow_id || h.dir != d)
            a.violation(PoolKind::HandshakeBuffers, b, f.flow_id, "holder names another flow");
    }
    const uint32_t s = f.tls.session;
    if (s == DecryptSessions::kNil) return;
    a.claim(PoolKind::DecryptSessions, s, f.flow_id);
    if (s < sessions_.count() && (sessions_[s].owner != &f || sessions_[s].owner_id != f.flow_id))
        a.violation(PoolKind::DecryptSessions, s, f.flow_id, "owner names another flow");
}

void TlsInspector::audit_pools(PoolAudit& a) const {
    a.pool(PoolKind::HandshakeBuffers, buffers_.count(), buffers_.in_use());
    a.pool(PoolKind::DecryptSessions, sessions_.count(), sessions_.in_use());
}

void TlsInspector::release(TlsDirState& d) {
    if (d.buf != HandshakeBuffers::kNil) buffers_.release(d.buf);
    d.buf = HandshakeBuffers::kNil;
}

void TlsInspector::log(Flow& f) {
    TlsDirState& c = f.tls.dir[0];
    if (f.tls.logged || !f.tls.client_hello || c.buf == HandshakeBuffers::kNil) return;
    f.tls.logged = true;
    ClientHello ch;
    parse_client_hello(buffers_[c.buf].first(c.msg_len), ch);
    compute_fingerprints(ch, *fp_);
    if (eve_.enabled()) {
        JsonBuilder& j = eve_.begin(f, "tls");
        j.object("tls");
        if (ch.has_sni) j.field("sni", ch.sni);
        if (f.tls.server_hello) {
            j.field("version", version_name(f.tls.version));
            char suite[8];
            std::snprintf(suite, sizeof suite, "0x%04x", f.tls.cipher_suite);
            j.field("cipher_suite", std::string_view(suite));
        }
        j.object("ja3").field("hash", fp_->ja3_hash).field("string", fp_->ja3).end_object();
        j.field("ja4", fp_->ja4)
            .field("ja4_r", fp_->ja4_r)
            .field("ja4_o", fp_->ja4_o)
            .field("ja4_ro", fp_->ja4_ro);
        if (ch.has_alpn)
            j.field("alpn", std::string_view(reinterpret_cast<const char*>(ch.alpn_first.data()),
                                             ch.alpn_first.size()));
        if (f.tls.hello_retry) j.field("hello_retry_request", true);
        if (ch.has_psk) j.field("psk_offered", true);
        if (ch.has_session_ticket) j.field("session_ticket_offered", true);
        j.field("server_hello", f.tls.server_hello);
        const auto status = static_cast<DecryptStatus>(f.tls.decrypt);
        j.field("decrypted", status == DecryptStatus::Active);
        if (status != DecryptStatus::Active)
            j.field("decrypt_reason", f.tls.hello_retry && status == DecryptStatus::Pending
                                          ? std::string_view("hello_retry_request")
                                          : decrypt_status_name(status));
        j.end_object();
        eve_.finish();
    }
    ++ctr_.logged;
    for (size_t i = 0; i < hello_n_; ++i) hello_observers_[i]->on_client_hello(f, ch, *fp_);
    release(c);
}

void TlsInspector::on_gap(Flow& f, Dir dir, uint32_t len) {
    if (f.app_proto != AppProto::Tls) return;
    if (f.tls.session != DecryptSessions::kNil) {
        if (plaintext_ != nullptr) plaintext_->on_gap(f, dir, len);
        stop_decryption(f, DecryptStatus::Gap);
    }
    TlsDirState& d = f.tls.dir[idx(dir)];
    if (d.state == kServerFlight) end_server_flight(f);  // what came before the gap counts
    if (d.state == kHello || d.state == kTracking) {
        ++ctr_.gaps;
        fail(f, dir);
    }
}

void TlsInspector::on_end(Flow& f, Dir dir) {
    (void)dir;
    // Both directions ended (FINs reached in order, or an RST): no record can follow, so an
    // active decryption session and the handshake buffers go back to their pools now rather
    // than when the flow record times out - a burst of short connections must not exhaust
    // decryption. A session still waiting keeps its queue and its ClientHello: a late secret
    // can still decrypt it and its record waits on that (the reclaim path frees it under
    // pressure).
    if (!f.stream[0].ended || !f.stream[1].ended ||
        static_cast<DecryptStatus>(f.tls.decrypt) == DecryptStatus::Waiting)
        return;
    log(f);  // a hello's fingerprint is recorded before its buffer goes
    end_server_flight(f);
    release(f.tls.dir[0]);
    release(f.tls.dir[1]);
    f.tls.client_hello = f.tls.client_hello && f.tls.logged;
    f.tls.server_hello_held = false;
    if (f.tls.session != DecryptSessions::kNil) {
        sessions_.release(f.tls.session);
        f.tls.session = DecryptSessions::kNil;
        ++ctr_.sessions_closed;
    }
}

void TlsInspector::on_flow_end(Flow& f) {
    if (static_cast<DecryptStatus>(f.tls.decrypt) == DecryptStatus::Waiting) {
        ++ctr_.decrypt_no_secret;
        f.tls.decrypt = static_cast<uint8_t>(DecryptStatus::NoSecret);
    }
    log(f);  // a ClientHello without a ServerHello is still worth its fingerprint
    end_server_flight(f);
    release(f.tls.dir[0]);
    release(f.tls.dir[1]);
    if (f.tls.session != DecryptSessions::kNil) {
        sessions_.release(f.tls.session);
        f.tls.session = DecryptSessions::kNil;
    }
}

void TlsInspector::poll_secrets(uint64_t now_ns) {
    if (feed_ == nullptr) return;
    const size_t arrived = feed_->drain([&](const SecretUpdate& u) { pushed_.apply(u, now_ns); });
    ctr_.secrets_pushed += arrived;
    // A secret is used as soon as it arrives, not only when the flow's next record does (its
    // last record may already be queued): one scan of the pool per drain that brought any.
    if (arrived != 0 && sessions_.in_use() != 0) {
        for (uint32_t i = 0; i < sessions_.count(); ++i) {
            DecryptSession& ds = sessions_[i];
            Flow* owner = ds.owner;
            if (!ds.waiting || owner == nullptr || owner->flow_id != ds.owner_id ||
                owner->tls.session != i)
                continue;
            if (resume(*owner, ds)) ++ctr_.secrets_on_arrival;
        }
    }
    if (now_ns - last_expire_ns_ > 1'000'000'000ull) {
        pushed_.expire(now_ns, uint64_t{opts_.secret_ttl_s} * 1'000'000'000ull);
        last_expire_ns_ = now_ns;
    }
}

DecryptStatus TlsInspector::lookup(const DecryptSession& ds, const SessionSecrets*& sec) const {
    if (eve_.seq() < ds.ready_seq) return DecryptStatus::Waiting;  // simulated export delay
    sec = pushed_.find(ds.client_random);
    if (sec == nullptr && secrets_ != nullptr) sec = secrets_->find(ds.client_random);
    if (sec == nullptr) return DecryptStatus::NoSecret;
    if (ds.version == 0x0304)
        return sec->client_handshake.present() && sec->server_handshake.present() &&
                       sec->client_traffic.present() && sec->server_traffic.present()
                   ? DecryptStatus::Active
                   : DecryptStatus::NoSecret;
    return sec->master.present() ? DecryptStatus::Active : DecryptStatus::NoSecret;
}

bool TlsInspector::arm(DecryptSession& ds, const SessionSecrets& sec) {
    const auto suite = suite_info(ds.suite);
    if (!suite) return false;
    if (suite->tls13) {
        ds.dir[0].start_tls13(*suite, sec.client_handshake.span(), sec.client_traffic.span());
        ds.dir[1].start_tls13(*suite, sec.server_handshake.span(), sec.server_traffic.span());
        return ds.dir[0].started() && ds.dir[1].started();
    }
    TrafficKeys ck, sk;
    const bool ok =
        tls12_keys(*suite, sec.master.span(), ds.client_random, ds.server_random, ck, sk);
    if (ok) {
        ds.dir[0].start_tls12(*suite, ck);
        ds.dir[1].start_tls12(*suite, sk);
    }
    OPENSSL_cleanse(&ck, sizeof ck);
    OPENSSL_cleanse(&sk, sizeof sk);
    return ok;
}

void TlsInspector::start_decryption(Flow& f, const ServerHello& sh) {
    auto set = [&](DecryptStatus st) { f.tls.decrypt = static_cast<uint8_t>(st); };
    if (secrets_ == nullptr && feed_ == nullptr) return set(DecryptStatus::NoKeylog);
    const TlsDirState& c = f.tls.dir[0];
    ClientHello ch;
    if (!f.tls.client_hello || c.buf == HandshakeBuffers::kNil ||
        parse_client_hello(buffers_[c.buf].first(c.msg_len), ch) != ParseStatus::Ok ||
        ch.random.size() != 32) {
        ++ctr_.decrypt_no_secret;
        return set(DecryptStatus::NoSecret);
    }
    const auto suite = suite_info(sh.cipher_suite);
    if (!suite || suite->tls13 != (sh.selected_version == 0x0304))
        return set(DecryptStatus::UnsupportedSuite);
    uint32_t i = sessions_.alloc();
    if (i == DecryptSessions::kNil && reclaim_session(f)) i = sessions_.alloc();
    if (i == DecryptSessions::kNil) {
        ++ctr_.decrypt_no_capacity;
        set(DecryptStatus::NoCapacity);
        // Held inline, a session that cannot be decrypted is one whose request would pass
        // uninspected: the same choice as secrets that never come, recorded.
        if (opts_.hold_for_secrets)
            if (JsonBuilder* j = give_up(f, opts_.secret_wait_verdict, "tls_decrypt_no_capacity"))
                close_anomaly(*j);
        return;
    }
    DecryptSession& ds = sessions_[i];
    ds.owner = &f;
    ds.owner_id = f.flow_id;
    ds.last_ns = eve_.now().ns;
    ds.suite = sh.cipher_suite;
    ds.version = sh.selected_version;
    std::memcpy(ds.client_random.data(), ch.random.data(), 32);
    std::memcpy(ds.server_random.data(), sh.random.data(), 32);
    ds.ready_seq = f.tls.client_hello_seq + opts_.secret_delay_packets;
    const SessionSecrets* sec = nullptr;
    const DecryptStatus st = lookup(ds, sec);
    if (st == DecryptStatus::Active && arm(ds, *sec)) {
        f.tls.session = i;
        ++ctr_.decrypt_sessions;
        return set(DecryptStatus::Active);
    }
    if (st == DecryptStatus::Waiting || (st == DecryptStatus::NoSecret && opts_.wait_for_secrets)) {
        ds.waiting = true;
        f.tls.session = i;
        return set(DecryptStatus::Waiting);
    }
    sessions_.release(i);
    ++ctr_.decrypt_no_secret;
    set(st == DecryptStatus::Active ? DecryptStatus::UnsupportedSuite : st);
}

void TlsInspector::process_record(Flow& f, Dir dir, std::span<const uint8_t, 5> header,
                                  std::span<const uint8_t> body) {
    DecryptSession& ds = sessions_[f.tls.session];
    std::span<const uint8_t> plain;
    const auto r = ds.dir[idx(dir)].record(header, body, *plain_, plain);
    if (r == DirectionDecryptor::Result::AppData) {
        ++ctr_.decrypted_records;
        ctr_.decrypted_bytes += plain.size();
        if (plaintext_ != nullptr) plaintext_->on_data(f, dir, plain);
    } else if (r == DirectionDecryptor::Result::Failed) {
        ++ctr_.decrypt_failures;
        stop_decryption(f, DecryptStatus::TagFailure);
    }
}

void TlsInspector::replay(Flow& f, DecryptSession& ds) {
    for (Dir dir : {Dir::ToServer, Dir::ToClient}) {
        const std::vector<uint8_t>& q = ds.pending[idx(dir)];
        for (size_t off = 0; off + 5 <= q.size() && f.tls.session != DecryptSessions::kNil;) {
            const size_t len = size_t{q[off + 3]} << 8 | q[off + 4];
            process_record(f, dir, std::span<const uint8_t, 5>(q.data() + off, 5),
                           {q.data() + off + 5, len});
            off += 5 + len;
        }
    }
    if (f.tls.session != DecryptSessions::kNil) ds.pending[0].clear(), ds.pending[1].clear();
}

bool TlsInspector::resume(Flow& f, DecryptSession& ds) {
    const SessionSecrets* sec = nullptr;
    if (lookup(ds, sec) != DecryptStatus::Active || !arm(ds, *sec)) return false;
    // The secrets arrived: decrypt what queued up, then carry on.
    ds.waiting = false;
    f.tls.decrypt = static_cast<uint8_t>(DecryptStatus::Active);
    ++ctr_.decrypt_sessions;
    ++ctr_.late_secrets;
    replay(f, ds);
    log(f);
    return true;
}

void TlsInspector::capture(Flow& f, Dir dir, std::span<const uint8_t> bytes, bool record_done) {
    DecryptSession& ds = sessions_[f.tls.session];
    const size_t d = idx(dir);
    ds.last_ns = eve_.now().ns;
    if (!ds.capturing[d]) return;  // the record began before the keys were known
    if (ds.record_len[d] + bytes.size() > DecryptSession::kMaxRecord) {
        ++ctr_.decrypt_failures;
        stop_decryption(f, DecryptStatus::TagFailure);
        return;
    }
    std::memcpy(ds.record[d].data() + ds.record_len[d], bytes.data(), bytes.size());
    ds.record_len[d] += static_cast<uint32_t>(bytes.size());
    if (!record_done) return;
    ds.capturing[d] = false;
    const std::span<const uint8_t, 5> header(f.tls.dir[d].hdr, 5);
    const std::span<const uint8_t> body(ds.record[d].data(), ds.record_len[d]);
    if (ds.waiting) {
        if (resume(f, ds)) {
            if (f.tls.session == DecryptSessions::kNil) return;
        } else {
            std::vector<uint8_t>& q = ds.pending[d];
            if (q.size() + header.size() + body.size() > sessions_.pending_bytes()) {
                ++ctr_.secret_timeouts;
                ++ctr_.decrypt_no_secret;
                // Held inline, a full queue must not become a way past the wait.
                if (opts_.hold_for_secrets) {
                    f.verdict.merge(opts_.secret_wait_verdict);
                    if (opts_.secret_wait_verdict >= Verdict::Alert) f.alerted = true;
                }
                stop_decryption(f, DecryptStatus::SecretTimeout);
                log(f);
                return;
            }
            q.insert(q.end(), header.begin(), header.end());
            q.insert(q.end(), body.begin(), body.end());
            return;
        }
    }
    process_record(f, dir, header, body);
}

void TlsInspector::stop_decryption(Flow& f, DecryptStatus why) {
    if (f.tls.session == DecryptSessions::kNil) return;
    sessions_.release(f.tls.session);
    f.tls.session = DecryptSessions::kNil;
    f.tls.decrypt = static_cast<uint8_t>(why);
}

std::optional<AnswerFallback> TlsInspector::can_seal(const Flow& f) const {
    if (f.tls.session == DecryptSessions::kNil) return AnswerFallback::TlsNoKeys;
    const DecryptSession& ds = sessions_[f.tls.session];
    if (ds.waiting || ds.owner_id != f.flow_id) return AnswerFallback::TlsNoKeys;
    if (ds.dir[idx(Dir::ToClient)].failed()) return AnswerFallback::TlsState;
    return std::nullopt;
}

std::optional<AnswerFallback> TlsInspector::sealable_now(const Flow& f) const {
    if (const auto no = can_seal(f)) return no;
    const DecryptSession& ds = sessions_[f.tls.session];
    // A record of ours must start where the server's last one ended.
    const TlsDirState& d = f.tls.dir[idx(Dir::ToClient)];
    if (d.state != kTracking || d.hdr_have != 0 || d.rec_left != 0) return AnswerFallback::TlsState;
    SuiteInfo s;
    TrafficKeys k;
    uint64_t seq = 0;
    const bool ok = ds.dir[idx(Dir::ToClient)].sealing_state(s, k, seq);
    OPENSSL_cleanse(&k, sizeof k);
    if (!ok) return AnswerFallback::TlsState;
    return std::nullopt;
}

size_t TlsInspector::seal(const Flow& f, std::span<const uint8_t> answer, size_t split,
                          std::span<uint8_t> out, size_t& split_end, AnswerFallback& why) {
    if (const auto no = sealable_now(f)) {
        why = *no;
        return 0;
    }
    SuiteInfo s;
    TrafficKeys k;
    uint64_t seq = 0;
    sessions_[f.tls.session].dir[idx(Dir::ToClient)].sealing_state(s, k, seq);
    const bool ready = sealer_.init(s, k, seq);
    OPENSSL_cleanse(&k, sizeof k);
    // An encrypted close_notify follows the answer: OpenSSL 3 clients otherwise report the
    // FIN as an unexpected EOF.
    static constexpr uint8_t kCloseNotify[2] = {1, 0};
    split = std::min(split, answer.size());
    size_t n = ready ? sealer_.seal(RecordSealer::kAppData, answer.first(split), out) : 0;
    split_end = n;
    if (n > 0 && split < answer.size()) {
        const size_t rest =
            sealer_.seal(RecordSealer::kAppData, answer.subspan(split), out.subspan(n));
        n = rest > 0 ? n + rest : 0;
    }
    const size_t m = n > 0 ? sealer_.seal(RecordSealer::kAlert, kCloseNotify, out.subspan(n)) : 0;
    sealer_.reset();  // wipes the keys
    if (m == 0) {
        why = AnswerFallback::TlsState;
        return 0;
    }
    return n + m;
}

}  // namespace sluice::tls
