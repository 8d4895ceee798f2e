#include "fleet/fleet_options.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "common/yaml_fields.h"

namespace sluice::fleet {

using namespace yaml_fields;

std::vector<Endpoint> parse_seeds(const std::string& path, const YAML::Node& n, const char* what) {
    if (!n.IsSequence() || n.size() == 0) fail(path, n, std::string(what) + " must list host:port");
    std::vector<Endpoint> out;
    for (const auto& s : n) {
        Endpoint e;
        if (!parse_endpoint(scalar<std::string>(path, s, "a string"), e))
            fail(path, s, "expected host:port");
        out.push_back(e);
    }
    return out;
}

void parse_fleet_options(const std::string& path, const YAML::Node& n, FleetOptions& o) {
    auto text = [&](const YAML::Node& x) { return scalar<std::string>(path, x, "a string"); };
    for_keys(
        path, n, "fleet",
        {
            {"enabled",
             [&](const YAML::Node& x) { o.enabled = scalar<bool>(path, x, "true or false"); }},
            {"edge",
             [&](const YAML::Node& x) {
                 o.edge = text(x);
                 if (o.edge.empty() || o.edge.size() > 64)
                     fail(path, x, "fleet.edge must be 1 to 64 characters");
             }},
            {"redis",
             [&](const YAML::Node& r) {
                 for_keys(
                     path, r, "fleet.redis",
                     {
                         {"seeds",
                          [&](const YAML::Node& x) {
                              o.seeds = parse_seeds(path, x, "fleet.redis.seeds");
                          }},
                         {"user", [&](const YAML::Node& x) { o.user = text(x); }},
                         {"password_file", [&](const YAML::Node& x) { o.password_file = text(x); }},
                         {"timeout_ms",
                          [&](const YAML::Node& x) { o.timeout_ms = uint_in(path, x, 10, 60000); }},
                     });
             }},
            {"key_prefix",
             [&](const YAML::Node& x) {
                 o.key_prefix = text(x);
                 // Braces would change the hash tag and so the slot of every key.
                 if (o.key_prefix.size() > 64 ||
                     o.key_prefix.find_first_of("{} \r\n") != std::string::npos)
                     fail(path, x, "fleet.key_prefix: at most 64 characters, no braces or spaces");
             }},
            {"window", [&](const YAML::Node& x) { o.window_s = uint_in(path, x, 10, 86400); }},
            {"windows_read",
             [&](const YAML::Node& x) { o.windows_read = uint_in(path, x, 1, 24); }},
            {"batch_accounts",
             [&](const YAML::Node& x) { o.batch_accounts = uint_in(path, x, 1, 100000); }},
            {"interval_ms",
             [&](const YAML::Node& x) { o.interval_ms = uint_in(path, x, 10, 60000); }},
            {"queue", [&](const YAML::Node& x) { o.queue = uint_in(path, x, 64, 1u << 22); }},
            {"read_fraction",
             [&](const YAML::Node& x) {
                 o.read_fraction = scalar<double>(path, x, "a number");
                 if (!(o.read_fraction > 0 && o.read_fraction <= 1))
                     fail(path, x, "fleet.read_fraction must be in (0, 1]");
             }},
            {"read_interval",
             [&](const YAML::Node& x) { o.read_interval_s = uint_in(path, x, 1, 86400); }},
            {"offline_sync",
             [&](const YAML::Node& s) {
                 for_keys(
                     path, s, "fleet.offline_sync",
                     {
                         {"run",
                          [&](const YAML::Node& x) {
                              o.sync.run = text(x);
                              if (o.sync.run.empty() || o.sync.run.size() > 64 ||
                                  o.sync.run.find_first_of("{} \r\n") != std::string::npos)
                                  fail(path, x,
                                       "fleet.offline_sync.run: 1 to 64 characters, no "
                                       "braces or spaces");
                          }},
                         {"edges",
                          [&](const YAML::Node& x) { o.sync.edges = uint_in(path, x, 1, 10000); }},
                         {"timeout",
                          [&](const YAML::Node& x) {
                              o.sync.timeout_s = uint_in(path, x, 1, 3600);
                          }},
                     });
             }},
        });
}

std::string load_password(FleetOptions& o) {
    return read_credentials(o.password_file, o.user, o.auth);
}

std::string read_credentials(const std::string& file, const std::string& user, Credentials& auth) {
    auth.user = user;
    if (file.empty()) return "";
    std::ifstream in(file, std::ios::binary);
    if (!in) return file + ": cannot read the Redis password file";
    std::string pw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    if (pw.empty() || pw.size() > 512) {
        OPENSSL_cleanse(pw.data(), pw.size());
        return file + ": the Redis password must be 1 to 512 bytes on one line";
    }
    auth.password = pw;
    OPENSSL_cleanse(pw.data(), pw.size());
    return "";
}

std::string validate(const FleetOptions& o) {
    if (!o.enabled) return "";
    if (o.seeds.empty()) return "fleet.redis.seeds: an enabled fleet needs at least one Redis node";
    return "";
}

}  // namespace sluice::fleet
