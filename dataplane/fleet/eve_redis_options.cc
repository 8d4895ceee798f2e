#include "fleet/eve_redis_options.h"

#include "common/yaml_fields.h"
#include "fleet/fleet_options.h"

namespace sluice::fleet {

using namespace yaml_fields;

void parse_eve_redis_options(const std::string& path, const YAML::Node& n, EveRedisOptions& o) {
    auto text = [&](const YAML::Node& x) { return scalar<std::string>(path, x, "a string"); };
    o.enabled = true;
    for_keys(path, n, "eve.redis",
             {
                 {"enabled",
                  [&](const YAML::Node& x) { o.enabled = scalar<bool>(path, x, "true or false"); }},
                 {"seeds",
                  [&](const YAML::Node& x) { o.seeds = parse_seeds(path, x, "eve.redis.seeds"); }},
                 {"user", [&](const YAML::Node& x) { o.user = text(x); }},
                 {"password_file", [&](const YAML::Node& x) { o.password_file = text(x); }},
                 {"timeout_ms",
                  [&](const YAML::Node& x) { o.timeout_ms = uint_in(path, x, 10, 60000); }},
                 {"key",
                  [&](const YAML::Node& x) {
                      o.key = text(x);
                      if (o.key.empty() || o.key.size() > 128 ||
                          o.key.find_first_of(" \r\n") != std::string::npos)
                          fail(path, x, "eve.redis.key: 1 to 128 characters, no spaces");
                  }},
                 {"type",
                  [&](const YAML::Node& x) {
                      const std::string t = text(x);
                      if (t == "list")
                          o.type = EveRedisOptions::Type::List;
                      else if (t == "stream")
                          o.type = EveRedisOptions::Type::Stream;
                      else
                          fail(path, x, "eve.redis.type must be list or stream");
                  }},
                 {"maxlen", [&](const YAML::Node& x) { o.maxlen = uint_in(path, x, 0, 1u << 30); }},
                 {"batch", [&](const YAML::Node& x) { o.batch = uint_in(path, x, 1, 10000); }},
                 {"queue", [&](const YAML::Node& x) { o.queue = uint_in(path, x, 16, 1u << 22); }},
             });
}

}  // namespace sluice::fleet
