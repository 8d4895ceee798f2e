// The `fleet:` config section (docs/fleet.md): where the shared Redis is, how this edge
// publishes its accounts' evidence and reads the fleet's view back, and (offline) the sync
// point that makes N edges' results independent of which finished first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fleet/redis_node.h"

namespace YAML {
class Node;
}

namespace sluice::fleet {

struct OfflineSync {
    std::string run;  // a name all edges of one run share; empty: no sync point
    uint32_t edges = 1;
    uint32_t timeout_s = 120;
};

struct FleetOptions {
    bool enabled = false;
    std::string edge;  // this edge's name (default: the host name)
    std::vector<Endpoint> seeds;
    std::string user;           // ACL user (empty: the default user)
    std::string password_file;  // read at start, kept in memory only
    Credentials auth;           // filled from user and password_file by load_password()
    uint32_t timeout_ms = 500;  // connect and I/O deadline per Redis call
    std::string key_prefix = "sluice:";
    uint32_t window_s = 300;        // evidence windows: keys per multiple of this, in packet time
    uint32_t windows_read = 2;      // a read unions this many windows (now and the ones before)
    uint32_t batch_accounts = 512;  // publish when this many accounts wait ...
    uint32_t interval_ms = 200;     // ... or this long after the last publish
    uint32_t queue = 65536;         // evidence and read requests waiting for the fleet thread
    double read_fraction = 0.25;    // read the fleet's view of an account once its local
                                    // evidence reaches this share of a fleet rule's threshold
    uint32_t read_interval_s = 10;  // live: at most one read per account this often
    OfflineSync sync;
};

// A YAML list of host:port (`what` names it in errors); throws yaml_fields::ConfigError.
std::vector<Endpoint> parse_seeds(const std::string& path, const YAML::Node& n, const char* what);
// Parses the section at `n` into `o`; throws yaml_fields::ConfigError ("path:line:col: ...").
void parse_fleet_options(const std::string& path, const YAML::Node& n, FleetOptions& o);
// Fills `auth` with `user` and the password in `file` (one line; memory only). "" or an error.
std::string read_credentials(const std::string& file, const std::string& user, Credentials& auth);
// Reads o.password_file into o.auth (memory only). Error message or "".
std::string load_password(FleetOptions& o);
// Cross-field checks (seeds when enabled). Error message or "".
std::string validate(const FleetOptions& o);

}  // namespace sluice::fleet
