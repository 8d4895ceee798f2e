// One owner thread publishes copies of its state; any number of other threads read the latest
// copy. A triple buffer: the owner fills its back buffer and swaps it with the middle one in one
// atomic exchange, a reader swaps the middle into its front buffer when it is newer. The owner
// never waits and never shares the buffer it writes; readers take a mutex among themselves only
// (they are the control plane, /metrics and telemetry, never a packet worker).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <type_traits>

namespace sluice {

template <class T>
class SnapshotSlot {
    static_assert(std::is_copy_assignable_v<T>, "a snapshot is copied out");

  public:
    // Owner side: write into back(), then publish() it. Wait-free.
    T& back() { return buf_[back_]; }
    void publish() {
        const uint8_t old = middle_.exchange(back_ | kFresh, std::memory_order_acq_rel);
        back_ = old & kIndex;
        ++published_;
    }
    // The owner's own count of publications (owner thread only).
    uint64_t published() const { return published_; }

    // Reader side: a copy of the latest publication (a default T before the first).
    T read() const {
        std::lock_guard lock(read_mu_);
        if (middle_.load(std::memory_order_relaxed) & kFresh) {
            const uint8_t old = middle_.exchange(front_, std::memory_order_acq_rel);
            front_ = old & kIndex;
        }
        return buf_[front_];
    }

  private:
    static constexpr uint8_t kIndex = 3, kFresh = 4;
    // Each buffer is owned by exactly one side at a time; the exchanges hand them over.
    mutable std::array<T, 3> buf_{};
    uint8_t back_ = 0;                        // the owner's
    mutable uint8_t front_ = 2;               // the readers' (under read_mu_)
    mutable std::atomic<uint8_t> middle_{1};  // the one in between, plus kFresh when unread
    mutable std::mutex read_mu_;
    uint64_t published_ = 0;
};

}  // namespace sluice
