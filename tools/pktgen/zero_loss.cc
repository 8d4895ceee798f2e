#include "zero_loss.h"

namespace sluice::pktgen {

SearchResult zero_loss_search(const SearchOptions& o,
                              const std::function<TrialResult(double)>& trial) {
    SearchResult out;
    auto run = [&](double rate) {
        const TrialResult r = trial(rate);
        const bool ok = r.sent > 0 && r.loss_ratio() <= o.loss_tolerance;
        out.steps.push_back({rate, r, ok});
        if (ok && rate > out.ndr_pps) {
            out.ndr_pps = rate;
            out.at_ndr = r;
        }
        return ok;
    };
    // The top first: a DUT that keeps up with the maximum needs one trial.
    if (run(o.max_pps)) return out;
    double lo = 0, hi = o.max_pps;
    if (run(o.min_pps))
        lo = o.min_pps;
    else
        return out;  // loses packets even at the floor
    const double step = o.resolution * o.max_pps;
    while (hi - lo > step && static_cast<int>(out.steps.size()) < o.max_trials) {
        const double mid = (lo + hi) / 2;
        if (run(mid))
            lo = mid;
        else
            hi = mid;
    }
    return out;
}

}  // namespace sluice::pktgen
