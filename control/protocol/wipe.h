// Overwriting secret-bearing memory before it is freed (OPENSSL_cleanse: not optimised away).
// Request buffers on every control endpoint go through these, whatever the command.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sluice::control {

void wipe(std::string& s);  // the whole capacity, then empty
// Every string inside `j` (keys stay: they are protocol names), then null.
void wipe_json(nlohmann::json& j);

}  // namespace sluice::control
