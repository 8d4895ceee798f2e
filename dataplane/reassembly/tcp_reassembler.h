// TCP stream reassembly for one worker.
//
// Policy (one, applied everywhere): the first bytes received for a sequence range win.
// Retransmitted or overlapping bytes that cover already delivered or already buffered data
// are discarded, so a later overlap can never rewrite what inspection saw.
// Out-of-order data is buffered in the worker's SegmentPool within a per-direction byte cap;
// when the cap or the pool is exhausted the hole is declared a gap (consumers are told its
// length) and delivery resumes at the first buffered byte.
#pragma once

#include <cstdint>
#include <span>

#include "reassembly/segment_pool.h"
#include "reassembly/stream_consumer.h"

namespace sluice {

// How a segment's bytes compare with what inspection already saw at the same sequence numbers.
enum class Overlap : uint8_t {
    None,        // nothing seen there, or the same bytes (a faithful retransmission)
    Conflict,    // different bytes: the receiver may take them, inspection saw others
    Unverified,  // overlaps unacknowledged bytes no longer kept for comparison
};

struct ReassemblyCounters {
    uint64_t segments = 0;
    uint64_t in_order = 0;
    uint64_t out_of_order = 0;
    uint64_t retransmitted = 0;  // entirely old data
    uint64_t overlaps = 0;       // partially old data
    uint64_t gaps = 0;
    uint64_t gap_bytes = 0;
    uint64_t pool_exhausted = 0;
    uint64_t flow_cap_reached = 0;
    uint64_t retained_bytes = 0;  // delivered bytes copied for overlap comparison
    uint64_t retain_skipped = 0;  // deliveries not retained (pool under pressure)
};

class TcpReassembler {
  public:
    // `retain`: unacknowledged delivered bytes kept per direction for overlap comparison
    // (0: none). Retention never takes the pool's last half, which stays for out-of-order data.
    TcpReassembler(SegmentPool& pool, uint32_t per_direction_cap, StreamConsumer& consumer,
                   uint32_t retain = 0)
        : pool_(pool), cap_(per_direction_cap), retain_(retain), consumer_(consumer) {}

    // Compares a segment's payload with the bytes already seen at its sequence numbers
    // (delivered and retained, or buffered out of order). `receiver_ack`: the other side's
    // last ACK, if known (bytes below it can no longer reach the receiver).
    Overlap compare(const Flow& flow, Dir dir, uint32_t seq, std::span<const uint8_t> payload,
                    const uint32_t* receiver_ack);
    // The receiver of `dir` acknowledged up to `ack`: retained bytes below it are freed.
    void acknowledged(Flow& flow, Dir dir, uint32_t ack);

    // One TCP segment of `flow` travelling in `dir`.
    void on_segment(Flow& flow, Dir dir, uint32_t seq, uint8_t flags,
                    std::span<const uint8_t> payload);
    // Delivers what is buffered (declaring gaps) and ends both directions.
    void flush(Flow& flow);
    const ReassemblyCounters& counters() const { return counters_; }

  private:
    void accept(Flow& flow, Dir dir, uint32_t seq, std::span<const uint8_t> bytes);
    // Buffers bytes first-wins; returns the sequence number where it ran out of room (or end).
    uint32_t insert(TcpStream& s, uint32_t seq, std::span<const uint8_t> bytes);
    void deliver(Flow& flow, Dir dir, std::span<const uint8_t> bytes);
    void declare_gap(Flow& flow, Dir dir, uint32_t len);
    void drain(Flow& flow, Dir dir);
    void skip_to_first_buffered(Flow& flow, Dir dir);
    void end_direction(Flow& flow, Dir dir);
    void release(TcpStream& s);
    void retain(TcpStream& s, std::span<const uint8_t> bytes);
    void drop_retained_head(TcpStream& s);

    SegmentPool& pool_;
    uint32_t cap_;
    uint32_t retain_;
    StreamConsumer& consumer_;
    ReassemblyCounters counters_;
};

}  // namespace sluice
