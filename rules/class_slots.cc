#include "rules/class_slots.h"

#include <array>
#include <atomic>
#include <mutex>
#include <string>

namespace sluice::rules {

namespace {
struct Registry {
    std::mutex mu;  // interning only
    std::array<std::string, kClassSlots> names;
    std::atomic<size_t> used{1};  // slot 0 is "none"; a name is written before `used` covers it
};
Registry& registry() {
    static Registry r;
    return r;
}
}  // namespace

uint8_t class_slot(std::string_view classtype) {
    if (classtype.empty()) return kNoClassSlot;
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    const size_t used = r.used.load(std::memory_order_relaxed);
    for (size_t i = 1; i < used; ++i)
        if (r.names[i] == classtype) return static_cast<uint8_t>(i);
    if (used >= kOtherClassSlot) return kOtherClassSlot;
    r.names[used] = std::string(classtype);
    r.used.store(used + 1, std::memory_order_release);
    return static_cast<uint8_t>(used);
}

std::string_view class_slot_name(size_t slot) {
    if (slot == kNoClassSlot) return "none";
    if (slot == kOtherClassSlot) return "other";
    Registry& r = registry();
    if (slot >= r.used.load(std::memory_order_acquire)) return {};
    return r.names[slot];
}

}  // namespace sluice::rules
