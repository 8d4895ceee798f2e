// The state of one HTTP/1.x connection inside the HTTP stage: each direction's framer, head
// and body buffers, and the queue of transactions in flight (pipelined requests waiting for
// their responses). Sessions are slots of a fixed per-worker pool (http_sessions.cc); a flow
// names its slot by index.
#pragma once

#include <array>
#include <cstdint>

#include "common/buffer_pool.h"
#include "http/http_framer.h"
#include "http/http_inspector.h"
#include "http/message_bodies.h"
#include "inspect/rule_inspector.h"
#include "txn/transaction.h"

namespace sluice::http {

inline constexpr uint32_t kNil = BufferPool::kNil;
inline constexpr uint16_t kNoSession = 0xffff;

struct HttpInspector::Session {
    FramerState fs[2];
    uint32_t head_buf[2] = {kNil, kNil};
    DirBody body[2];
    std::array<Transaction, kPipelineDepth> txq;
    uint8_t tx_first = 0, tx_count = 0;
    bool in_use = false;
    bool interim = false;   // the current response is a 1xx
    bool unpaired = false;  // the current response answers no request
    bool req_open = false;  // a request message is in progress (its txn is the last one)
    // HTTP/1.1 Upgrade: h2c - the last request asked for it; the HTTP/2 stage has the
    // connection (at the server's 101, or at the client's preface if that came first).
    bool h2c_asked = false;
    bool h2c_switched = false;
    // The flow holding the session (checked against its id: flow slots are reused) and when
    // each direction's current message took its buffers (reclaim picks the oldest).
    Flow* owner = nullptr;
    uint64_t owner_id = 0;
    uint64_t since_ns[2] = {0, 0};
    Transaction& tx(size_t i) { return txq[(tx_first + i) % kPipelineDepth]; }
};

}  // namespace sluice::http
