// Who may do what on a control endpoint (docs/operations.md#roles). Three roles, ordered:
// `read` (status, stats, accounts, clusters, versions), `operate` (lists, secrets), `admin`
// (rule-set and policy validate, push, rollback). Roles are granted to Unix uids and groups and
// to mutual-TLS certificates by exact subject DN or SAN; a peer gets the highest role any grant
// gives it. On a Unix socket, root and the serving process's own uid are always admin (they can
// read its memory anyway); everyone else, and every TLS client, has no role until granted one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control/protocol/peer.h"

namespace YAML {
class Node;
}

namespace sluice::control {

enum class Role : uint8_t { None, Read, Operate, Admin };
std::string_view role_name(Role r);
std::optional<Role> role_from_name(std::string_view s);

// The role a command needs; nullopt for a command no endpoint knows.
std::optional<Role> command_role(std::string_view cmd);
struct CommandRole {
    std::string_view cmd;
    Role role;
    std::string_view who;  // "both", "dataplane" or "sluiced"
};
// The whole table (docs and tests read it).
std::span<const CommandRole> command_roles();

struct Grant {
    Role role = Role::None;
    std::vector<uint32_t> uids, groups;
    std::vector<std::string> subjects, sans;  // exact matches; SANs typed ("DNS:x", "IP:a")
};

class AccessPolicy {
  public:
    Role role_of(const Peer& p) const;
    void add(Grant g) { grants_.push_back(std::move(g)); }
    // `--grant ROLE=KIND:VALUE` (KIND uid, group, subject, san); false with `error`.
    bool add_flag(std::string_view spec, std::string& error);
    const std::vector<Grant>& grants() const { return grants_; }

  private:
    std::vector<Grant> grants_;
};

// The `access:` section: a list of {role, uids, groups, subjects, sans}; group names are
// resolved here. False with "LINE:COL: why" in `error`.
bool parse_access(const YAML::Node& node, AccessPolicy& out, std::string& error);

}  // namespace sluice::control
