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

#include "eve/eve_emitter.h"
#include "reassembly/stream_consumer.h"
#include "tls/fingerprint.h"
#include "tls/handshake_buffers.h"

namespace sluice::tls {

struct TlsCounters {
    uint64_t sessions = 0;  // flows where a TLS record was seen
    uint64_t client_hellos = 0;
    uint64_t server_hellos = 0;
    uint64_t records = 0;
    uint64_t malformed = 0;  // bad record or hello
    uint64_t buffers_exhausted = 0;
    uint64_t oversized_hello = 0;
    uint64_t gaps = 0;  // a gap in the stream before the hello was complete
    uint64_t logged = 0;
};

class TlsInspector final : public StreamConsumer {
  public:
    // kHello: waiting for this direction's hello; kTracking: hello seen, only following record
    // boundaries (a HelloRetryRequest sends both directions back to kHello).
    enum DirState : uint8_t { kIdle = 0, kHello, kTracking, kFailed };

    TlsInspector(EveEmitter& eve, uint32_t handshake_buffers);

    void on_data(Flow& flow, Dir dir, std::span<const uint8_t> bytes) override;
    void on_gap(Flow& flow, Dir dir, uint32_t len) override;
    void on_end(Flow& flow, Dir dir) override;
    void on_flow_end(Flow& flow) override;

    const TlsCounters& counters() const { return ctr_; }

  private:
    void feed_records(Flow& f, Dir dir, std::span<const uint8_t> bytes);
    // Returns false when the direction failed.
    bool feed_handshake(Flow& f, Dir dir, std::span<const uint8_t> bytes);
    void hello_complete(Flow& f, Dir dir);
    void fail(Flow& f, Dir dir);
    void release(TlsDirState& d);
    void log(Flow& f);

    EveEmitter& eve_;
    HandshakeBuffers buffers_;
    std::unique_ptr<Fingerprints> fp_;  // large: one per worker
    TlsCounters ctr_;
};

}  // namespace sluice::tls
