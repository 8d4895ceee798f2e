// The `eve.redis:` config section (docs/fleet.md, "EVE to Redis"): EVE records also pushed to
// a Redis list (RPUSH, trimmed to the newest `maxlen`) or stream (XADD MAXLEN ~), as
// Suricata's redis output does, so a fleet's events reach a SIEM without a file shipper.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fleet/redis_node.h"

namespace YAML {
class Node;
}

namespace sluice::fleet {

struct EveRedisOptions {
    enum class Type : uint8_t { List, Stream };
    bool enabled = false;
    std::vector<Endpoint> seeds;  // empty: the fleet's
    std::string user, password_file;
    Credentials auth;
    uint32_t timeout_ms = 500;
    std::string key = "sluice:eve";
    Type type = Type::List;
    uint32_t maxlen = 100000;  // records kept (0: unbounded)
    uint32_t batch = 256;      // records per round trip
    uint32_t queue = 16384;    // records waiting for the Redis thread (live: past it, dropped)
};

// Parses the section at `n`; throws yaml_fields::ConfigError ("path:line:col: ...").
void parse_eve_redis_options(const std::string& path, const YAML::Node& n, EveRedisOptions& o);

}  // namespace sluice::fleet
