// Prometheus text exposition (format 0.0.4) of a dataplane summary: packets, drops, flows,
// rules, HTTP, TLS, accounts, enforcement and EVE counters, served at /metrics by
// `--metrics ADDR:PORT` (with /health). Names are documented in docs/operations.md.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sluice {

std::string prometheus_text(const nlohmann::json& summary);

}  // namespace sluice
