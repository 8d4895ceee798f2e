// Classtypes (Suricata's classification.config format): name -> description and priority.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rule_parser.h"

namespace sluice::rules {

struct Classtype {
    std::string description;
    uint8_t priority = 3;
};

class Classifications {
  public:
    // Lines "config classification: name,description,priority"; '#' comments.
    bool parse(std::string_view text, std::string_view file, std::vector<RuleError>& errors);
    const Classtype* find(std::string_view name) const;
    size_t size() const { return map_.size(); }

  private:
    std::map<std::string, Classtype, std::less<>> map_;
};

}  // namespace sluice::rules
