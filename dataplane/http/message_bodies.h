// Message bodies for every HTTP framing (HTTP/1.x messages and HTTP/2 streams): kept up to the
// cap in pooled buffers (with the tail of a long JSON answer, where "usage" sits), decoded
// from gzip/deflate with a bomb cap, streamed whole through the rules' Hyperscan body stream,
// and server-sent events read one by one for token usage. The pools are the worker's; when
// one runs out, the framing that asked may take a buffer back from its own oldest message.
#pragma once

#include <array>

#include <cstdint>
#include <span>

#include "common/buffer_pool.h"
#include "common/pool_audit.h"
#include "flow/flow.h"
#include "http/body_decoder.h"
#include "http/http_framer.h"
#include "http/http_options.h"
#include "inspect/rule_inspector.h"
#include "txn/message_view.h"
#include "txn/transaction_stage.h"

namespace sluice::http {

// One direction's message body: where it is kept and how it is decoded and scanned.
struct DirBody {
    uint32_t buf = BufferPool::kNil;
    uint32_t dec = BodyDecoders::kNil;            // decodes `coding` (the outer layer)
    uint32_t dec2 = BodyDecoders::kNil;           // then `coding2` ("gzip, gzip": two layers)
    uint32_t len = 0;                             // bytes kept in the prefix (<= body_cap)
    uint32_t side_len = 0;                        // bytes in the side area
    uint32_t stream = rules::Matcher::kNoStream;  // Hyperscan body stream, if rules read it
    uint64_t wire = 0;                            // body bytes as sent
    uint64_t total = 0;                           // body bytes after decoding
    Coding coding = Coding::Identity;
    Coding coding2 = Coding::Identity;
    bool overflow = false;  // more than body_cap
    bool json = false;
    bool sse = false;
    bool sse_skip = false;  // an SSE line longer than the side area is being skipped
    bool gap = false;
    bool decode_failed = false;
    bool decode_capped = false;
    // Sets the codings from a Content-Encoding value; false if sluice cannot decode them.
    bool set_codings(std::string_view content_encoding) {
        const Codings c = codings_from_header(content_encoding);
        coding = c.unsupported ? Coding::Unsupported : c.first;
        coding2 = c.unsupported ? Coding::Identity : c.second;
        return !c.unsupported;
    }
};

struct BodyCounters {
    uint64_t body_buffers_exhausted = 0;
    uint64_t decoders_exhausted = 0;
    uint64_t decompression_capped = 0;
    uint64_t decompression_failed = 0;
};

class MessageBodies {
  public:
    enum class Held : uint8_t { Head, Body, Decoder };
    // The framing a body belongs to: takes a resource back from its own oldest message when a
    // pool is empty, and records the body's anomalies on its flow.
    class Holder {
      public:
        virtual ~Holder() = default;
        virtual bool reclaim(const Flow& asking, Held what) = 0;
        virtual void body_anomaly(Flow& f, Dir d, Anomaly a) = 0;
    };

    MessageBodies(const HttpOptions& opts, RuleInspector* rules, TransactionStage& txn);

    // Every framing registers itself: when a pool is empty, the asking message's framing is
    // asked to reclaim first, then the others, so no framing can pin what another needs.
    void add_holder(Holder& h) {
        if (n_holders_ < holders_.size()) holders_[n_holders_++] = &h;
    }
    // Wire bytes of `b`'s body. `sse_txn`: the transaction an event stream reports usage to.
    void append(Flow& f, Dir d, DirBody& b, Transaction* sse_txn, std::span<const uint8_t> bytes,
                Holder& holder);
    // Returns the body's buffer, decoder and stream; `b` is empty afterwards.
    void release(DirBody& b);
    MessageBodyView view(const DirBody& b);

    size_t buffers_in_use() const { return bodies_.in_use(); }
    size_t decoders_in_use() const { return decoders_.in_use(); }
    void audit_pools(PoolAudit& a) const;
    const BodyCounters& counters() const { return ctr_; }

  private:
    void store(DirBody& b, Dir d, Transaction* sse_txn, std::span<const char> bytes);
    bool reclaim(const Flow& asking, Held what, Holder& first);
    void sse_scan(DirBody& b, Transaction* t, std::span<const char> bytes);

    HttpOptions opts_;
    RuleInspector* rules_;
    TransactionStage& txn_;
    BufferPool bodies_;
    BodyDecoders decoders_;
    BodyCounters ctr_;
    std::array<Holder*, 4> holders_{};
    size_t n_holders_ = 0;
};

}  // namespace sluice::http
