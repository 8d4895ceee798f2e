// The EVE JSON writer thread. Each producer (worker or main) owns one single-producer queue;
// the writer drains them into the file. In ordered mode (offline) it merges the queues on
// EveOrder and only writes a record once no producer can still emit an earlier one, so the
// file is byte-identical across runs. Log rotation: reopen() (on SIGHUP) reopens the path.
#pragma once

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "eve/event_sink.h"

namespace sluice {

struct EveSlot {
    static constexpr size_t kMaxRecord = 4096 - 24;
    EveOrder order;
    uint32_t len = 0;
    char data[kMaxRecord];
};

// Producers report how far they got so the ordered merge knows when a record is final.
struct ProducerProgress {
    // Every record with seq <= done has been pushed by this producer (or it will never push).
    alignas(64) std::atomic<uint64_t> done{0};
};

class EveWriter {
  public:
    struct Options {
        std::string path;              // "-" for stdout, empty to discard
        bool ordered = false;          // merge on EveOrder (offline determinism)
        bool block_when_full = false;  // offline: wait instead of dropping
        size_t queue_slots = 1024;
        EveTap* tap = nullptr;  // also hand every record written here (outlives the writer)
    };

    EveWriter(Options opts, size_t producers);
    ~EveWriter();
    EveWriter(const EveWriter&) = delete;
    EveWriter& operator=(const EveWriter&) = delete;

    // Opens the file and starts the writer thread. Returns false with errno-derived text.
    bool start(std::string& error);
    // Stops after writing everything that was queued.
    void stop();
    void request_reopen() { reopen_.store(true, std::memory_order_relaxed); }

    // The sink for one producer (index < producers).
    EventSink& sink(size_t producer);
    ProducerProgress& progress(size_t producer) { return *progress_[producer]; }

    uint64_t written() const { return written_.load(std::memory_order_relaxed); }
    uint64_t dropped() const;

  private:
    class QueueSink;
    void run();
    bool drain_unordered();
    bool drain_ordered(bool final_pass);
    void write(const EveSlot& s);
    void do_reopen();

    Options opts_;
    std::vector<std::unique_ptr<QueueSink>> sinks_;
    std::vector<std::unique_ptr<ProducerProgress>> progress_;
    std::FILE* file_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> reopen_{false};
    std::atomic<uint64_t> written_{0};
};

}  // namespace sluice
