#include "control/protocol/args.h"

namespace sluice::control {

const std::string& str_arg(const nlohmann::json& args, const char* name) {
    if (!args.contains(name) || !args[name].is_string())
        throw Refused{"bad_request", std::string("missing string argument '") + name + "'"};
    return args[name].get_ref<const std::string&>();
}

std::string opt_str_arg(const nlohmann::json& args, const char* name, std::string fallback) {
    if (!args.contains(name)) return fallback;
    if (!args[name].is_string())
        throw Refused{"bad_request", std::string("argument '") + name + "' is a string"};
    return args[name].get<std::string>();
}

bool opt_bool_arg(const nlohmann::json& args, const char* name, bool fallback) {
    if (!args.contains(name)) return fallback;
    if (!args[name].is_boolean())
        throw Refused{"bad_request", std::string("argument '") + name + "' is true or false"};
    return args[name].get<bool>();
}

uint64_t uint_arg(const nlohmann::json& args, const char* name, uint64_t fallback, uint64_t lo,
                  uint64_t hi) {
    if (!args.contains(name)) return fallback;
    const auto& v = args[name];
    if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi)
        throw Refused{"bad_request", std::string("argument '") + name + "' is an integer in [" +
                                         std::to_string(lo) + ", " + std::to_string(hi) + "]"};
    return v.get<uint64_t>();
}

}  // namespace sluice::control
