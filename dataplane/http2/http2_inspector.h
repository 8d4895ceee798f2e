// The HTTP/2 framing stage (RFC 9113, RFC 7541): reads both directions of an h2 connection -
// plaintext with prior knowledge (h2c) or decrypted TLS (ALPN h2) - frame by frame as the
// bytes stream by, split anywhere across segments and records. Header blocks are decoded with
// nghttp2's HPACK inflater (one per direction, its table limit following the other peer's
// acknowledged SETTINGS_HEADER_TABLE_SIZE); every block is decoded in order, even for streams
// this stage does not track, so the dynamic table never desynchronises. Each tracked stream
// becomes a Transaction for the transaction stage, exactly like an HTTP/1.x exchange; bodies go
// through the shared MessageBodies.
//
// A connection starts on the client preface; a server that speaks first (its SETTINGS frame
// on a decrypted session) starts one tentatively, dropped if the client's bytes are not the
// preface. Bounds and abuse (stream count, header list size, CONTINUATION floods, rapid reset,
// oversize frames, protocol errors) are counted and recorded (`anomaly` records, layer
// `http2`); smuggling shapes too. A connection costs fixed slots from per-worker pools plus its
// HPACK tables, which come from one budgeted allocator (hpack_memory.h).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "answer/h2_answer.h"
#include "common/buffer_pool.h"
#include "common/index_pool.h"
#include "common/pool_audit.h"
#include "eve/eve_emitter.h"
#include "http/h2c_upgrade.h"
#include "http/http_head.h"
#include "http/http_options.h"
#include "http/message_bodies.h"
#include "http2/frame.h"
#include "http2/h2_counters.h"
#include "http2/hpack_memory.h"
#include "http2/http2_options.h"
#include "reassembly/stream_consumer.h"
#include "txn/transaction_stage.h"

struct nghttp2_hd_inflater;

namespace sluice::http2 {

class Http2Inspector final : public StreamConsumer,
                             public http::H2cUpgrade,
                             public H2AnswerSource,
                             private TransactionAnomalies,
                             private http::MessageBodies::Holder {
  public:
    static constexpr uint16_t kNoSession = 0xffff;
    static constexpr size_t kMaxStreamsPerConnection = 128;

    Http2Inspector(EveEmitter& eve, const Http2Options& opts, const http::HttpOptions& http,
                   TransactionStage& txn, http::MessageBodies& bodies);
    ~Http2Inspector() override;

    void on_data(Flow& f, Dir d, std::span<const uint8_t> bytes) override;
    void on_gap(Flow& f, Dir d, uint32_t len) override;
    void on_end(Flow& f, Dir d) override;
    void on_flow_end(Flow& f) override;

    // http::H2cUpgrade: an HTTP/1.1 connection upgraded to h2c. Its bytes come from the HTTP/1.x
    // stage from each direction's switch point on (on_data leaves such a connection alone).
    bool upgrade(Flow& f, const Transaction& request) override;
    void upgraded_data(Flow& f, Dir d, std::span<const uint8_t> bytes) override;
    void upgraded_gap(Flow& f, Dir d, uint32_t len) override;

    // H2AnswerSource: where and how much the answer to a stopped stream may be sent.
    std::optional<AnswerFallback> h2_answer_limits(const Flow& f, uint32_t stream_id,
                                                   H2AnswerLimits& out) const override;
    const Http2Counters& counters() const { return ctr_; }
    size_t sessions_in_use() const { return free_sessions_.in_use(); }
    size_t streams_in_use() const { return free_streams_.in_use(); }
    size_t hpack_bytes() const { return hpack_.in_use(); }
    void audit(const Flow& f, PoolAudit& a) const;
    void audit_pools(PoolAudit& a) const;

    struct Stream;
    struct Connection;

  private:
    // TransactionAnomalies / MessageBodies::Holder
    void transaction_anomaly(Flow& f, Dir d, http::Anomaly a) override;
    bool reclaim(const Flow& asking, http::MessageBodies::Held what) override;
    void body_anomaly(Flow& f, Dir d, http::Anomaly a) override { transaction_anomaly(f, d, a); }

    Connection* start(Flow& f, bool tentative);
    static bool looks_like_frame(std::span<const uint8_t> bytes);
    void midstream(Flow& f);
    void end_connection(Flow& f, Connection& c);
    // Feeds one direction's bytes to its frame reader.
    void feed(Flow& f, Connection& c, Dir d, std::span<const uint8_t> bytes);
    bool frame_header(Flow& f, Connection& c, Dir d);
    void payload(Flow& f, Connection& c, Dir d, std::span<const uint8_t> bytes);
    void frame_done(Flow& f, Connection& c, Dir d);
    void settings_entry(Connection& c, Dir d, const uint8_t* e);
    void header_fragment(Flow& f, Connection& c, Dir d, std::span<const uint8_t> bytes, bool last);
    void header_field(Flow& f, Connection& c, Dir d, std::string_view name, std::string_view value);
    // A final response's regular field, kept for the rules' response header buffers.
    void response_field(Stream& s, std::string_view name, std::string_view value);
    void block_done(Flow& f, Connection& c, Dir d);
    void direction_done(Flow& f, Connection& c, Stream& s, Dir d);
    void finish_stream(Flow& f, Connection& c, uint32_t slot, bool truncated);
    void request_done(Flow& f, Stream& s);
    // The transaction's frames as the http2.* keywords see them: the connection's and its own.
    static rules::Http2Facts facts_of(const Connection& c, const Stream& s);
    void release_body(Connection& c, Stream& s, size_t d);
    // `sender`'s streams get a new initial window (SETTINGS_INITIAL_WINDOW_SIZE, section 6.9.2).
    void retarget_windows(Connection& c, Dir sender, int64_t initial);
    void reset_stream(Flow& f, Connection& c, Dir d, uint32_t id);
    Stream* find(Connection& c, uint32_t id, uint32_t* slot = nullptr);
    Stream* open(Flow& f, Connection& c, uint32_t id);
    // The connection stops being parsed: recorded, the abuse verdict applied, open streams
    // logged as truncated.
    void stop(Flow& f, Connection& c, Dir d, H2Anomaly why);
    void anomaly(Flow& f, Connection& c, Dir d, H2Anomaly a, uint32_t stream_id);
    void fingerprint_done(Connection& c);

    EveEmitter& eve_;
    Http2Options opts_;
    http::HttpOptions http_;
    TransactionStage& txn_;
    http::MessageBodies& bodies_;
    HpackMemory hpack_;
    std::vector<Connection> sessions_;
    IndexPool free_sessions_;
    std::vector<Stream> streams_;
    IndexPool free_streams_;
    BufferPool heads_;                       // decoded request header lists
    std::vector<http::MessageHead> parsed_;  // their fields, by head buffer index
    std::string names_;                      // http2.header_name of the request being inspected
    Http2Counters ctr_;
};

}  // namespace sluice::http2
