// A flow's flowbits (Suricata's and Snort's `flowbits`): the ids of the bits a rule set, a
// few per flow. Ids belong to the rule set that named them; a flow's bits are forgotten when
// another set is swapped in (`generation`).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice {

struct FlowBits {
    static constexpr size_t kSlots = 3;
    std::array<uint16_t, kSlots> ids{};
    uint8_t count = 0;
    uint8_t generation = 0;

    bool isset(uint16_t id) const {
        for (uint8_t i = 0; i < count; ++i)
            if (ids[i] == id) return true;
        return false;
    }
    // False when the flow already holds kSlots bits (the bit is not set; counted by the caller).
    bool set(uint16_t id) {
        if (isset(id)) return true;
        if (count == kSlots) return false;
        ids[count++] = id;
        return true;
    }
    void unset(uint16_t id) {
        for (uint8_t i = 0; i < count; ++i)
            if (ids[i] == id) {
                ids[i] = ids[--count];
                return;
            }
    }
    // A set from another rule-set generation is empty.
    void adopt(uint8_t gen) {
        if (generation != gen) {
            count = 0;
            generation = gen;
        }
    }
};
static_assert(sizeof(FlowBits) == 8);

}  // namespace sluice
