// TLS stage: follows the record layer of both directions of TLS flows (recognised by
// content, also behind a SOCKS preamble), assembles the ClientHello and ServerHello, computes
// JA3/JA4 and writes one EVE `tls` record per session.
//
// Per direction: record headers and handshake headers are collected byte by byte in the
// flow (they may straddle segments); hello bodies are copied into a pooled buffer. After the
// hello the direction only follows record boundaries (decryption comes in a later stage).
// A HelloRetryRequest logs the first ClientHello and waits for the second, which gets a
// record of its own: one `tls` record per ClientHello.
#pragma once

#include <memory>

#include "answer/answer_sealer.h"
#include "common/pool_audit.h"
#include "eve/eve_emitter.h"
#include "reassembly/stream_consumer.h"
#include "tls/certificate.h"
#include "tls/decrypt_sessions.h"
#include "tls/fingerprint.h"
#include "tls/handshake_buffers.h"
#include "tls/keylog.h"
#include "tls/record_sealer.h"
#include "tls/secret_feed.h"

namespace sluice::tls {

// Why a TLS flow is (not) decrypted; reported in the EVE tls record.
enum class DecryptStatus : uint8_t {
    Pending = 0,       // hellos not complete yet
    Active,            // decrypting
    NoKeylog,          // no secret store configured
    NoSecret,          // no secrets for this client random
    UnsupportedSuite,  // not an AEAD suite sluice decrypts
    NoCapacity,        // the worker's decryption sessions are all in use
    TagFailure,        // a record failed authentication: decryption stopped
    Gap,               // bytes missing from the stream: decryption stopped
    Waiting,           // secrets not exported yet: ciphertext queues up
    SecretTimeout,     // the queue filled before the secrets arrived
    Reclaimed,         // idle under pressure: its session went to a newer flow
};

struct TlsOptions {
    uint32_t handshake_buffers = 512;
    uint32_t decrypt_sessions = 256;
    uint32_t pending_bytes = 65536;  // per direction, while waiting for secrets
    bool wait_for_secrets = false;   // queue ciphertext when secrets are missing (live export)
    // Offline: a secret becomes usable N packets after its ClientHello.
    uint32_t secret_delay_packets = 0;
    uint32_t secret_ttl_s = 600;  // secrets pushed at run time are forgotten after this long
    // When the handshake buffers run out, the one held longest (at least reclaim_after_ms) is
    // taken back: a hello still being assembled fails (its flow gets reclaim_verdict: drop
    // on inline ports, alert elsewhere, set by the runtime), a complete ClientHello held for
    // its secrets is logged at once. A slow client cannot hold what other flows need.
    // Decryption sessions likewise: when all are in use, the one whose flow has been idle
    // longest (no record for at least reclaim_after_ms) stops decrypting and gets the verdict.
    uint32_t reclaim_after_ms = 1000;
    Verdict reclaim_verdict = Verdict::Alert;
    // Inline (set by the runtime with wait_for_secrets): a client segment of a session still
    // waiting for its secrets is dropped - its bytes are already queued for decryption, and the
    // client's TCP sends them again - so no request reaches the server before it was inspected.
    // Past secret_wait_ms the session gets secret_wait_verdict: alert (fail open: forwarded,
    // recorded) or drop (fail closed).
    bool hold_for_secrets = false;
    uint32_t secret_wait_ms = 2000;
    Verdict secret_wait_verdict = Verdict::Alert;
};
std::string_view decrypt_status_name(DecryptStatus s);

struct TlsCounters {
    uint64_t sessions = 0;  // flows where a TLS record was seen
    uint64_t client_hellos = 0;
    uint64_t server_hellos = 0;
    uint64_t records = 0;
    uint64_t malformed = 0;  // bad record or hello
    uint64_t buffers_exhausted = 0;
    uint64_t buffers_reclaimed = 0;  // taken back from the longest holder under pressure
    uint64_t oversized_hello = 0;
    uint64_t gaps = 0;  // a gap in the stream before the hello was complete
    uint64_t logged = 0;
    uint64_t decrypt_sessions = 0;
    uint64_t decrypt_no_secret = 0;
    uint64_t decrypt_no_capacity = 0;  // sessions left encrypted: every decrypt session in use
    uint64_t decrypt_reclaimed = 0;    // taken back from the longest idle flow under pressure
    uint64_t decrypt_failures = 0;     // tag failures and oversized records
    uint64_t decrypted_records = 0;
    uint64_t decrypted_bytes = 0;       // application data delivered
    uint64_t sessions_closed = 0;       // decryption sessions freed when both directions ended
    uint64_t late_secrets = 0;          // sessions decrypted after waiting for their secrets
    uint64_t secrets_on_arrival = 0;    // of those, resumed when the secret came (no record yet)
    uint64_t held_segments = 0;         // client segments dropped while waiting for secrets
    uint64_t held_sessions = 0;         // sessions that had a segment held
    uint64_t secret_wait_timeouts = 0;  // held past secret_wait_ms: secret_wait_verdict applied
    uint64_t secret_timeouts = 0;       // sessions whose queue filled before the secrets came
    uint64_t secrets_pushed = 0;        // secrets received at run time
};

// Anomalies of the record and handshake layers (app-layer-event rules name them by Suricata's
// names, inspect/suricata_events.h).
enum class TlsEvent : uint8_t {
    InvalidRecordType,     // a record type outside 20-24
    InvalidRecordVersion,  // a record version whose major is not 3
    InvalidRecord,         // a record length of 0 or past the limit
    InvalidHandshake,      // an unexpected or unparseable hello
    InvalidCertificate,    // the server's Certificate message does not parse
    Heartbeat,             // a heartbeat record
};

// What the server said in the clear: its hello (the negotiated version, JA3S) and, before
// TLS 1.3, its certificate and whether it sent a key exchange.
struct ServerFlight {
    uint16_t version = 0;  // negotiated
    const ServerFingerprint* fp = nullptr;
    const CertificateFacts* cert = nullptr;  // null: none (TLS 1.3, resumption, cut, bad)
    bool key_exchange = false;               // a ServerKeyExchange was seen
};

// Told of every ClientHello the stage logs (the rule engine matches tls.sni, ja3.hash and
// ja4.hash here). Called once per ClientHello, after the fingerprints are computed. An
// observer that wants the server's side says so per session (wants_server_flight, asked at
// each ServerHello) and is told once the server's clear-text flight ends (its ServerHelloDone,
// a ChangeCipherSpec, or at once for TLS 1.3).
class HelloObserver {
  public:
    virtual ~HelloObserver() = default;
    virtual void on_client_hello(Flow& f, const ClientHello& ch, const Fingerprints& fp) = 0;
    virtual bool wants_server_flight() const { return false; }
    virtual void on_server_flight(Flow& f, const ServerFlight& s) {
        (void)f;
        (void)s;
    }
    virtual void on_tls_event(Flow& f, Dir dir, TlsEvent e) {
        (void)f;
        (void)dir;
        (void)e;
    }
};

class TlsInspector final : public StreamConsumer, public AnswerSealer {
  public:
    // kHello: waiting for this direction's hello; kTracking: hello seen, only following record
    // boundaries (a HelloRetryRequest sends both directions back to kHello); kServerFlight:
    // the server's hello seen (TLS 1.2 and older), its clear handshake messages read for the
    // certificate while records are followed as in kTracking.
    enum DirState : uint8_t { kIdle = 0, kHello, kTracking, kFailed, kServerFlight };

    TlsInspector(EveEmitter& eve, const TlsOptions& opts, const SecretStore* secrets);

    // Where decrypted application data goes (the pipeline's application stage), with the
    // gaps of sessions being decrypted. Other flows never pass through this stage.
    void set_plaintext_sink(StreamConsumer& s) { plaintext_ = &s; }
    bool add_hello_observer(HelloObserver& o) {
        if (hello_n_ == hello_observers_.size()) return false;
        hello_observers_[hello_n_++] = &o;
        return true;
    }

    // Secrets pushed at run time: the worker calls poll_secrets() between bursts.
    void attach_secret_feed(SecretFeed& feed) { feed_ = &feed; }
    void poll_secrets(uint64_t now_ns);

    void on_data(Flow& flow, Dir dir, std::span<const uint8_t> bytes) override;
    void on_gap(Flow& flow, Dir dir, uint32_t len) override;
    void on_end(Flow& flow, Dir dir) override;
    void on_flow_end(Flow& flow) override;
    // Inline: true when this client segment must be dropped because its session still waits
    // for its secrets (see TlsOptions::hold_for_secrets). Past the wait, applies the verdict.
    bool holds(Flow& f, uint64_t now_ns);
    // AnswerSealer: the answer to a stopped request, sealed with the server's keys.
    std::optional<AnswerFallback> can_seal(const Flow& f) const override;
    size_t seal(const Flow& f, std::span<const uint8_t> answer, size_t split,
                std::span<uint8_t> out, size_t& split_end, AnswerFallback& why) override;

    size_t handshake_buffers_in_use() const { return buffers_.in_use(); }
    size_t decrypt_sessions_in_use() const { return sessions_.in_use(); }
    const TlsCounters& counters() const { return ctr_; }
    // Claims the handshake buffers and decryption session `f` holds (see common/pool_audit.h).
    void audit(const Flow& f, PoolAudit& a) const;
    void audit_pools(PoolAudit& a) const;

  private:
    // can_seal, and the server's keys in use at a record boundary.
    std::optional<AnswerFallback> sealable_now(const Flow& f) const;
    void feed_records(Flow& f, Dir dir, std::span<const uint8_t> bytes);
    // Returns false when the direction failed.
    bool feed_handshake(Flow& f, Dir dir, std::span<const uint8_t> bytes);
    // The ServerHello is complete and the ClientHello known: version, suite, decryption. True
    // when the server direction's buffer was kept for its flight (the caller must not free it).
    bool server_hello_done(Flow& f, const ServerHello& sh, bool may_follow_flight = true);
    // The server's clear-text handshake after its hello (kServerFlight): one record's bytes.
    void server_flight(Flow& f, uint8_t record_type, std::span<const uint8_t> bytes);
    // The flight is over (or cut short): tells the observers, frees the buffer, kTracking.
    void end_server_flight(Flow& f);
    bool wants_server_flight() const;
    void event(Flow& f, Dir dir, TlsEvent e) {
        for (size_t i = 0; i < hello_n_; ++i) hello_observers_[i]->on_tls_event(f, dir, e);
    }
    void tell_server_flight(Flow& f, const ServerHello& sh, const CertificateFacts* cert,
                            bool key_exchange);
    // Takes back the handshake buffer held longest by another flow (see TlsOptions).
    bool reclaim_oldest(const Flow& asking);
    // A flow whose TLS inspection ends early, never silently: applies `v` and, with EVE on,
    // opens its anomaly record (type, event, layer, direction, action) for the caller's own
    // fields; the caller ends it with close_anomaly().
    JsonBuilder* give_up(Flow& f, Verdict v, std::string_view event,
                         std::string_view direction = {});
    void close_anomaly(JsonBuilder& j);
    // Takes back the decryption session of the flow idle longest (see TlsOptions).
    bool reclaim_session(const Flow& asking);
    // Secrets for a waiting session are here: decrypt what queued up. False if still waiting.
    bool resume(Flow& f, DecryptSession& ds);
    void hello_complete(Flow& f, Dir dir);
    void fail(Flow& f, Dir dir);
    void release(TlsDirState& d);
    void log(Flow& f);
    void start_decryption(Flow& f, const ServerHello& sh);
    void capture(Flow& f, Dir dir, std::span<const uint8_t> bytes, bool record_done);
    void stop_decryption(Flow& f, DecryptStatus why);
    DecryptStatus lookup(const DecryptSession& ds, const SessionSecrets*& sec) const;
    bool arm(DecryptSession& ds, const SessionSecrets& sec);
    void process_record(Flow& f, Dir dir, std::span<const uint8_t, 5> header,
                        std::span<const uint8_t> body);
    void replay(Flow& f, DecryptSession& ds);

    EveEmitter& eve_;
    HandshakeBuffers buffers_;
    std::unique_ptr<Fingerprints> fp_;  // large: one per worker
    std::unique_ptr<ServerFingerprint> server_fp_;
    std::unique_ptr<CertificateFacts> cert_;
    TlsOptions opts_;
    const SecretStore* secrets_;  // loaded at start, shared read-only by all workers
    SecretFeed* feed_ = nullptr;
    SecretStore pushed_;  // this worker's secrets received at run time
    uint64_t last_expire_ns_ = 0;
    DecryptSessions sessions_;
    std::unique_ptr<std::array<uint8_t, DecryptSession::kMaxRecord>> plain_;  // plaintext scratch
    StreamConsumer* plaintext_ = nullptr;
    RecordSealer sealer_;  // keys only while an answer is sealed
    std::array<HelloObserver*, 4> hello_observers_{};
    size_t hello_n_ = 0;
    TlsCounters ctr_;
};

}  // namespace sluice::tls
