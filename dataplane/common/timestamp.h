// Packet time. All engine time comes from packet timestamps so offline runs are deterministic.
#pragma once

#include <cstdint>
#include <span>

namespace sluice {

struct Timestamp {
    uint64_t ns = 0;  // nanoseconds since the Unix epoch

    static constexpr Timestamp from_sec(uint64_t s) { return {s * 1'000'000'000ull}; }
    constexpr uint64_t sec() const { return ns / 1'000'000'000ull; }
    constexpr uint64_t usec_part() const { return (ns / 1000) % 1'000'000; }
    auto operator<=>(const Timestamp&) const = default;
};

struct Duration {
    uint64_t ns = 0;
    static constexpr Duration seconds(uint64_t s) { return {s * 1'000'000'000ull}; }
    static constexpr Duration millis(uint64_t ms) { return {ms * 1'000'000ull}; }
    auto operator<=>(const Duration&) const = default;
};

constexpr Timestamp operator+(Timestamp t, Duration d) {
    return {t.ns + d.ns};
}
constexpr Duration operator-(Timestamp a, Timestamp b) {
    return {a.ns > b.ns ? a.ns - b.ns : 0};
}

// Suricata's EVE time format: 2026-11-28T15:21:31.123456+0000. Returns chars written (31).
size_t format_eve_time(Timestamp t, std::span<char> out);

}  // namespace sluice
