// RFC 2544-style zero-loss (no-drop rate) search: binary search over trials of a stated
// length for the highest offered rate whose loss stays within a tolerance (zero by default).
// Pure logic over a trial function, so it is tested without a network.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace sluice::pktgen {

struct TrialResult {
    double offered_pps = 0;  // what the generator actually sent per second
    double received_pps = 0;
    uint64_t sent = 0, received = 0;
    double loss_ratio() const {
        return sent == 0 ? 0.0 : sent > received ? double(sent - received) / double(sent) : 0.0;
    }
};

struct SearchOptions {
    double min_pps = 1000;
    double max_pps = 1e6;         // start: line rate or the generator's own limit
    double resolution = 0.01;     // stop when the bracket is narrower than this share of max
    double loss_tolerance = 0.0;  // accepted loss ratio (0: zero loss)
    int max_trials = 24;
};

struct SearchStep {
    double rate_pps;
    TrialResult result;
    bool passed;
};

struct SearchResult {
    double ndr_pps = 0;  // highest passing rate (0 if even min_pps lost packets)
    TrialResult at_ndr;
    std::vector<SearchStep> steps;
};

// `trial(rate)` runs one trial at the offered rate and reports what happened.
SearchResult zero_loss_search(const SearchOptions& opts,
                              const std::function<TrialResult(double)>& trial);

}  // namespace sluice::pktgen
