// A rule bundle: a compiled rule set as bytes the control plane builds once and ships to every
// dataplane. It carries what the set was built from (rule sources, variables, dialect, the
// classification table, dataset lists) and the serialized Hyperscan databases. Loading
// rebuilds and validates the set, then deserializes the databases; a dataplane whose Hyperscan
// version or CPU cannot load them compiles locally and says so.
//
// Format (little-endian): "SLUICERB" magic, u32 format version, then length-prefixed fields;
// see bundle.cc. Any damage is an error, never a crash (fuzzed with the rule parser).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rules/compiled_rules.h"

namespace sluice::rules {

std::vector<uint8_t> write_bundle(const CompiledRules& rules);

struct BundleLoad {
    CompiledRules::Result compiled;  // rules, errors, databases loaded / recompiled and why
    std::string built_with;          // the Hyperscan version of the builder
};
// Load: deserialize the bundle's Hyperscan databases (only for a bundle whose origin was
// verified - rules/bundle_signature.h - or built in this process). Rebuild: compile them from
// the sources (a crafted database could match nothing, or name patterns that do not exist).
enum class DatabaseTrust { Load, Rebuild };
BundleLoad read_bundle(std::span<const uint8_t> bytes, DatabaseTrust trust);

}  // namespace sluice::rules
