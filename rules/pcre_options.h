// How a rule's pcre becomes a PCRE2 pattern: its compile options, and the check the parser
// runs so that a pattern PCRE2 rejects fails its own rule (and only it) at load time.
#pragma once

#include <cstdint>
#include <string>

#include "rules/rule.h"

namespace sluice::rules {

uint32_t pcre2_options(const Pcre& p);
// True if PCRE2 compiles the pattern; else `why` says where and what.
bool pcre_compiles(const Pcre& p, std::string& why);

}  // namespace sluice::rules
