// Where the engine hands finished EVE records. Implementations must not block the caller
// in live mode (the DPDK layer drops and counts when its queue is full).
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice {

// Records are totally ordered by (seq, source, index): `seq` is the sequence number of the
// packet that produced the record (or kFinalSeq at shutdown), `source` the producer (worker
// or main), `index` a per-producer counter. Offline mode merges on this key so output is the
// same whatever the thread timing.
struct EveOrder {
    static constexpr uint64_t kFinalSeq = ~uint64_t{0};
    uint64_t seq = 0;
    uint32_t source = 0;
    uint32_t index = 0;
    auto operator<=>(const EveOrder&) const = default;
};

// A second destination for the records the EVE writer writes (a Redis list or stream): called
// on the writer's thread, in file order, once per record; must not block live.
class EveTap {
  public:
    virtual ~EveTap() = default;
    virtual void record(std::string_view json) = 0;
};

class EventSink {
  public:
    virtual ~EventSink() = default;
    // `json` is one complete record without the trailing newline; copy it if kept.
    // Returns false if the record was dropped.
    virtual bool emit(EveOrder order, std::string_view json) = 0;
};

}  // namespace sluice
