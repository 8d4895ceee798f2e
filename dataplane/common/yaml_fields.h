// Helpers for parsing one YAML config section next to its options struct: typed scalars,
// ranges and key tables whose errors say "file:line:col: what". A parser throws ConfigError;
// the loader of the whole file catches it once and returns its text.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <string>

namespace sluice::yaml_fields {

struct ConfigError {
    std::string text;
};

inline std::string where(const std::string& path, const YAML::Node& n) {
    const YAML::Mark m = n.Mark();
    if (m.line < 0) return path + ": ";
    return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
}

[[noreturn]] inline void fail(const std::string& path, const YAML::Node& n,
                              const std::string& what) {
    throw ConfigError{where(path, n) + what};
}

template <typename T>
T scalar(const std::string& path, const YAML::Node& n, const char* what) {
    try {
        return n.as<T>();
    } catch (const YAML::Exception&) {
        fail(path, n, std::string("expected ") + what);
    }
}

inline unsigned uint_in(const std::string& path, const YAML::Node& n, unsigned lo, unsigned hi) {
    const auto v = scalar<long long>(path, n, "an integer");
    if (v < lo || v > hi)
        fail(path, n,
             "value " + std::to_string(v) + " out of range [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
    return static_cast<unsigned>(v);
}

using Handler = std::function<void(const YAML::Node&)>;

// Calls the handler of each key of `map`; an unknown key is an error that lists the known.
inline void for_keys(const std::string& path, const YAML::Node& map, const char* section,
                     const std::map<std::string, Handler>& handlers) {
    if (!map.IsMap()) fail(path, map, std::string("'") + section + "' must be a mapping");
    for (const auto& kv : map) {
        const auto key = scalar<std::string>(path, kv.first, "a key name");
        auto it = handlers.find(key);
        if (it == handlers.end()) {
            std::string known;
            for (const auto& [k, h] : handlers) known += (known.empty() ? "" : ", ") + k;
            fail(path, kv.first,
                 "unknown key '" + key + "' in " + section + " (known: " + known + ")");
        }
        it->second(kv.second);
    }
}

}  // namespace sluice::yaml_fields
