// A flow's flowints (Suricata's `flowint`): a few named integers per flow, by the id the rule
// set gave each name. Like flowbits, forgotten when another rule set is swapped in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice {

struct FlowInts {
    static constexpr size_t kSlots = 2;
    std::array<uint16_t, kSlots> ids{};
    std::array<uint32_t, kSlots> values{};
    uint8_t count = 0;
    uint8_t generation = 0;

    uint32_t* find(uint16_t id) {
        for (uint8_t i = 0; i < count; ++i)
            if (ids[i] == id) return &values[i];
        return nullptr;
    }
    // False when the flow already holds kSlots integers (nothing stored; counted by the caller).
    bool set(uint16_t id, uint32_t v) {
        if (uint32_t* x = find(id)) {
            *x = v;
            return true;
        }
        if (count == kSlots) return false;
        ids[count] = id;
        values[count++] = v;
        return true;
    }
    void adopt(uint8_t gen) {
        if (generation != gen) {
            count = 0;
            generation = gen;
        }
    }
};
static_assert(sizeof(FlowInts) == 16);

}  // namespace sluice
