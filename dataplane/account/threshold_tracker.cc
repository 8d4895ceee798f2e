#include "account/threshold_tracker.h"

#include "common/hash.h"
#include "common/trim_oldest.h"

namespace sluice::account {

bool ThresholdTracker::on_hit(uint32_t rule, const rules::Threshold& t, uint64_t subject,
                              uint64_t ts) {
    State& s = states_[mix64(subject ^ mix64(0x7468726573ull + rule))];
    const uint64_t window = uint64_t(t.seconds) * 1'000'000'000ull;
    if (s.count == 0 || ts >= s.start_ns + window) s = State{ts, window, 0, false};
    ++s.count;
    switch (t.type) {
        case rules::ThresholdType::Limit:
            return s.count <= t.count;
        case rules::ThresholdType::Threshold:
            if (s.count < t.count) return false;
            s.count = 0;  // the next match opens a new window
            return true;
        case rules::ThresholdType::Both:
            if (s.count < t.count || s.alerted) return false;
            s.alerted = true;
            return true;
        case rules::ThresholdType::DetectionFilter:
            return s.count > t.count;
    }
    return false;
}

void ThresholdTracker::prune(uint64_t now) {
    std::erase_if(states_, [&](const auto& kv) {
        return kv.second.count == 0 || now >= kv.second.start_ns + kv.second.window_ns;
    });
}

size_t ThresholdTracker::trim(size_t cap) {
    return trim_oldest(states_, cap, [](const State& s) { return s.start_ns; });
}

}  // namespace sluice::account
