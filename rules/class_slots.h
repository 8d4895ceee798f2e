// Per-classtype alert counters need a label that means the same class for the life of the
// process, whatever rule sets are swapped in: classtype names are interned here, append-only,
// into a fixed number of slots. Rule sets are built off the workers (interning takes a lock);
// workers only index counters by the slot their rule carries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::rules {

inline constexpr size_t kClassSlots = 64;
inline constexpr uint8_t kNoClassSlot = 0;                   // rules without a classtype
inline constexpr uint8_t kOtherClassSlot = kClassSlots - 1;  // classtypes past the last slot

// The slot of `classtype` ("" : kNoClassSlot), interned on first use.
uint8_t class_slot(std::string_view classtype);
// Its name: "none", a classtype, "other"; "" for a slot not in use yet.
std::string_view class_slot_name(size_t slot);

}  // namespace sluice::rules
