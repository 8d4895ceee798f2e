// Writes the fields every EVE record starts with (Suricata's names) and hands finished
// records to the worker's EventSink with their ordering key. One per worker; the pipeline
// sets the current packet's sequence number before running the stages.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "common/timestamp.h"
#include "eve/event_sink.h"
#include "eve/json_builder.h"
#include "flow/flow.h"

namespace sluice {

class EveEmitter {
  public:
    EveEmitter(EventSink* sink, uint32_t source) : sink_(sink), source_(source) {}

    bool enabled() const { return sink_ != nullptr; }
    void set_packet(uint64_t seq, Timestamp now) {
        seq_ = seq;
        now_ = now;
    }
    uint64_t seq() const { return seq_; }
    Timestamp now() const { return now_; }

    // Starts a record in the emitter's buffer: '{' plus timestamp, flow_id, community_id,
    // event_type, src/dest ip and port, proto and app_proto. Add fields, then finish().
    JsonBuilder& begin(const Flow& f, std::string_view event_type);
    // Closes the record and emits it; false (and counted by the caller) if dropped.
    bool finish();
    uint64_t emitted() const { return emitted_; }
    uint64_t dropped() const { return dropped_; }

  private:
    EventSink* sink_;
    uint32_t source_;
    uint32_t index_ = 0;
    uint64_t seq_ = 0;
    Timestamp now_;
    uint64_t emitted_ = 0;
    uint64_t dropped_ = 0;
    std::array<char, 16384> buf_;
    JsonBuilder json_{buf_};
};

}  // namespace sluice
