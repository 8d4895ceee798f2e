// Bounding a container of timestamped entries (a map's values, or a vector's elements): past
// `cap` entries, the oldest (at least an eighth of `cap`, so the O(n) pass is amortised over
// as many insertions) are erased.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice {

namespace detail {
template <typename E>
const auto& trimmed_value(const E& e) {
    if constexpr (requires { e.second; })
        return e.second;  // a map's element
    else
        return e;
}
}  // namespace detail

// `ts(value)` gives an entry's age key (older is smaller). Returns how many were erased.
template <typename Container, typename Ts>
size_t trim_oldest(Container& m, size_t cap, Ts ts) {
    if (m.size() <= cap) return 0;
    const size_t drop = std::min(m.size(), m.size() - cap + std::max<size_t>(cap / 8, 1));
    std::vector<uint64_t> ages;
    ages.reserve(m.size());
    for (const auto& kv : m) ages.push_back(ts(detail::trimmed_value(kv)));
    std::nth_element(ages.begin(), ages.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                     ages.end());
    const uint64_t cut = ages[drop - 1];
    const size_t before = m.size();
    // Entries of the same age as the cut go too: at most a few more than `drop`.
    std::erase_if(m, [&](const auto& kv) { return ts(detail::trimmed_value(kv)) <= cut; });
    return before - m.size();
}

}  // namespace sluice
