#include "eve/eve_writer.h"

#include "common/private_file.h"

#include <cerrno>
#include <cstring>

namespace sluice {

class EveWriter::QueueSink final : public EventSink {
  public:
    QueueSink(size_t slots, bool block) : queue_(slots), block_(block) {}

    bool emit(EveOrder order, std::string_view json) override {
        if (json.size() > EveSlot::kMaxRecord) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        // spsc_queue::push copies the whole slot; build it in place in a per-sink scratch.
        scratch_.order = order;
        scratch_.len = static_cast<uint32_t>(json.size());
        std::memcpy(scratch_.data, json.data(), json.size());
        while (!queue_.push(scratch_)) {
            if (!block_) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return false;
            }
            std::this_thread::yield();
        }
        return true;
    }

    boost::lockfree::spsc_queue<EveSlot> queue_;
    std::atomic<uint64_t> dropped_{0};

  private:
    bool block_;
    EveSlot scratch_;
};

EveWriter::EveWriter(Options opts, size_t producers) : opts_(std::move(opts)) {
    for (size_t i = 0; i < producers; ++i) {
        sinks_.push_back(std::make_unique<QueueSink>(opts_.queue_slots, opts_.block_when_full));
        progress_.push_back(std::make_unique<ProducerProgress>());
    }
}

EveWriter::~EveWriter() {
    stop();
}

EventSink& EveWriter::sink(size_t producer) {
    return *sinks_[producer];
}

bool EveWriter::start(std::string& error) {
    if (opts_.path == "-") {
        file_ = stdout;
    } else if (!opts_.path.empty()) {
        file_ = open_private(opts_.path, FileMode::Append);
        if (file_ == nullptr) {
            error = "cannot open EVE log '" + opts_.path + "': " + std::strerror(errno);
            return false;
        }
    }
    thread_ = std::thread([this] { run(); });
    return true;
}

void EveWriter::stop() {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    thread_.join();
    if (file_ != nullptr && file_ != stdout)
        std::fclose(file_);
    else if (file_ == stdout)
        std::fflush(stdout);
    file_ = nullptr;
}

uint64_t EveWriter::dropped() const {
    uint64_t n = 0;
    for (const auto& s : sinks_) n += s->dropped_.load(std::memory_order_relaxed);
    return n;
}

void EveWriter::write(const EveSlot& s) {
    if (file_ != nullptr) {
        std::fwrite(s.data, 1, s.len, file_);
        std::fputc('\n', file_);
    }
    if (opts_.tap != nullptr) opts_.tap->record(std::string_view(s.data, s.len));
    written_.fetch_add(1, std::memory_order_relaxed);
}

void EveWriter::do_reopen() {
    reopen_.store(false, std::memory_order_relaxed);
    if (file_ == nullptr || file_ == stdout) return;
    std::fclose(file_);
    file_ = std::fopen(opts_.path.c_str(), "a");  // on failure records are discarded, counted
}

bool EveWriter::drain_unordered() {
    bool any = false;
    for (auto& s : sinks_) {
        s->queue_.consume_all([&](const EveSlot& slot) {
            write(slot);
            any = true;
        });
    }
    return any;
}

bool EveWriter::drain_ordered(bool final_pass) {
    bool any = false;
    for (;;) {
        // Snapshot progress before looking at the queues (see eve_writer.h for why).
        uint64_t done[64];
        const size_t n = sinks_.size() < 64 ? sinks_.size() : 64;
        for (size_t i = 0; i < n; ++i) done[i] = progress_[i]->done.load(std::memory_order_acquire);
        size_t best = n;
        for (size_t i = 0; i < n; ++i) {
            if (sinks_[i]->queue_.read_available() == 0) continue;
            if (best == n || sinks_[i]->queue_.front().order < sinks_[best]->queue_.front().order)
                best = i;
        }
        if (best == n) return any;
        const EveOrder head = sinks_[best]->queue_.front().order;
        if (!final_pass) {
            for (size_t i = 0; i < n; ++i) {
                if (i == best || sinks_[i]->queue_.read_available() != 0) continue;
                if (done[i] < head.seq) return any;  // producer i may still emit earlier
            }
        }
        write(sinks_[best]->queue_.front());
        sinks_[best]->queue_.pop();
        any = true;
    }
}

void EveWriter::run() {
    for (;;) {
        if (reopen_.load(std::memory_order_relaxed)) do_reopen();
        const bool stopping = stop_.load(std::memory_order_acquire);
        const bool any = opts_.ordered ? drain_ordered(stopping) : drain_unordered();
        if (stopping) {
            // Producers have finished before stop(): one last complete pass.
            if (opts_.ordered)
                drain_ordered(true);
            else
                drain_unordered();
            if (file_ != nullptr) std::fflush(file_);
            return;
        }
        if (!any) {
            if (file_ != nullptr) std::fflush(file_);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
}

}  // namespace sluice
