// One owner publishing, several threads reading (common/snapshot_slot.h): every copy a reader
// gets is one whole publication - never a mix of two - and publications are seen in order.
// Run under ThreadSanitizer in the test command (build/tsan).
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "common/snapshot_slot.h"

namespace sluice {
namespace {

// Big enough that a torn copy would show (and that the copy takes a while).
struct Counters {
    std::array<uint64_t, 256> v{};
};

TEST(SnapshotSlot, ReadersSeeWholePublicationsInOrder) {
    SnapshotSlot<Counters> slot;
    constexpr uint64_t kPublications = 20000;
    std::atomic<bool> done{false};
    std::atomic<uint64_t> torn{0}, backwards{0}, reads{0};
    std::atomic<int> started{0};
    constexpr int kReaders = 3;
    std::vector<std::thread> readers;
    for (int r = 0; r < kReaders; ++r)
        readers.emplace_back([&] {
            uint64_t last = 0;
            started.fetch_add(1);
            // At least one read each, even when the owner finishes before this thread runs
            // again (two cores, four threads).
            do {
                const Counters c = slot.read();
                for (uint64_t x : c.v)
                    if (x != c.v[0]) {
                        torn.fetch_add(1);
                        break;
                    }
                if (c.v[0] < last) backwards.fetch_add(1);
                last = c.v[0];
                reads.fetch_add(1, std::memory_order_relaxed);
            } while (!done.load(std::memory_order_acquire));
        });
    // Publish only once every reader is running, so reads overlap publications.
    while (started.load() < kReaders) std::this_thread::yield();
    for (uint64_t k = 1; k <= kPublications; ++k) {
        Counters& b = slot.back();
        for (auto& x : b.v) x = k;  // the owner writes in place: its buffer is its own
        slot.publish();
    }
    done.store(true, std::memory_order_release);
    for (auto& t : readers) t.join();
    EXPECT_EQ(torn.load(), 0u);
    EXPECT_EQ(backwards.load(), 0u);
    EXPECT_GE(reads.load(), static_cast<uint64_t>(kReaders));
    EXPECT_EQ(slot.published(), kPublications);
    // After the owner stopped, a reader gets the last publication.
    EXPECT_EQ(slot.read().v[255], kPublications);
}

TEST(SnapshotSlot, BeforeTheFirstPublicationReadsADefault) {
    SnapshotSlot<Counters> slot;
    EXPECT_EQ(slot.read().v[0], 0u);
    slot.back().v[0] = 7;
    EXPECT_EQ(slot.read().v[0], 0u) << "an unpublished write is not visible";
    slot.publish();
    EXPECT_EQ(slot.read().v[0], 7u);
    EXPECT_EQ(slot.read().v[0], 7u) << "reading again keeps the latest";
}

}  // namespace
}  // namespace sluice
