// Reading a request's arguments with their types and ranges checked: a bad argument is a
// Refused{"bad_request", what to fix}, never a wrapped number or a default nobody asked for.
// Both endpoints' handlers throw Refused and answer it with error_json.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace sluice::control {

struct Refused {
    std::string code, message;
};

// A required string.
const std::string& str_arg(const nlohmann::json& args, const char* name);
// An optional string (`fallback` when absent); any other type is refused.
std::string opt_str_arg(const nlohmann::json& args, const char* name, std::string fallback = {});
// An optional boolean (`fallback` when absent); any other type is refused.
bool opt_bool_arg(const nlohmann::json& args, const char* name, bool fallback = false);
// An optional unsigned integer in [lo, hi] (`fallback` when absent).
uint64_t uint_arg(const nlohmann::json& args, const char* name, uint64_t fallback, uint64_t lo,
                  uint64_t hi);

}  // namespace sluice::control
