// The rule language's threshold and detection_filter, counted across every worker's flows by
// the correlator (Suricata's semantics, fixed windows that start at the first match):
//   limit      alert on the first `count` matches per `seconds`
//   threshold  alert on every `count`-th match within `seconds`
//   both       alert once per `seconds`, at the `count`-th match
//   detection_filter  alert on every match after the first `count` within `seconds`
// tracked by source, destination, both, the rule alone, or the request's account. Memory is
// one small entry per (rule, tracked subject), pruned once its window has passed.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "rules/rule.h"

namespace sluice::account {

class ThresholdTracker {
  public:
    // True when this match raises an alert.
    bool on_hit(uint32_t rule, const rules::Threshold& t, uint64_t subject, uint64_t ts_ns);
    void prune(uint64_t now_ns);
    // Past `cap` tracked subjects, the oldest windows go first; returns how many went.
    size_t trim(size_t cap);
    size_t size() const { return states_.size(); }

  private:
    struct State {
        uint64_t start_ns = 0;
        uint64_t window_ns = 0;
        uint32_t count = 0;
        bool alerted = false;
    };
    std::unordered_map<uint64_t, State> states_;
};

}  // namespace sluice::account
