// The plain twin of Matcher: evaluates every rule on every buffer with no prefilter, using a
// different algorithm (the set of reachable match ends, condition by condition) and PCRE2 for
// every pcre. Slow and obviously correct; the differential tests and the benchmark's
// baseline compare Matcher against it.
#pragma once

#include <memory>
#include <vector>

#include "rules/compiled_rules.h"

namespace sluice::rules {

class ReferenceEvaluator {
  public:
    explicit ReferenceEvaluator(std::shared_ptr<const RuleSet> set);
    ~ReferenceEvaluator();
    void match(InspectPoint point, const BufferSet& bufs, const MatchContext& ctx,
               std::vector<uint32_t>& out) const;

  private:
    bool rule_matches(uint32_t ri, const BufferSet& bufs) const;
    // The rule's conditions on buffer b against one instance of it.
    bool group_matches(uint32_t ri, size_t b, std::string_view value) const;
    std::shared_ptr<const RuleSet> set_;
    std::vector<std::vector<Pcre2CodePtr>> pcre_;  // [rule][condition]
    pcre2_real_match_data_8* md_;
};

}  // namespace sluice::rules
