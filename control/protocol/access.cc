#include "control/protocol/access.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>

namespace sluice::control {

namespace {
constexpr std::array<std::string_view, 4> kRoleNames = {"none", "read", "operate", "admin"};

// Every command either endpoint answers, with the role it needs. Forwarded commands
// (sluiced -> dataplane) are authorized at sluiced; the dataplane authorizes sluiced itself.
constexpr std::array kCommands = {
    CommandRole{"status", Role::Read, "both"},
    CommandRole{"stats", Role::Read, "both"},
    CommandRole{"accounts.top", Role::Read, "both"},
    CommandRole{"accounts.show", Role::Read, "both"},
    CommandRole{"clusters.list", Role::Read, "both"},
    CommandRole{"dataplanes.list", Role::Read, "sluiced"},
    CommandRole{"rules.list", Role::Read, "sluiced"},
    CommandRole{"policy.list", Role::Read, "sluiced"},
    CommandRole{"lists.show", Role::Operate, "both"},
    CommandRole{"lists.add", Role::Operate, "both"},
    CommandRole{"lists.del", Role::Operate, "both"},
    CommandRole{"lists.replace", Role::Operate, "dataplane"},
    CommandRole{"secrets.push", Role::Operate, "both"},
    CommandRole{"rules.validate", Role::Admin, "both"},
    CommandRole{"rules.push", Role::Admin, "both"},
    CommandRole{"rules.apply", Role::Admin, "dataplane"},
    CommandRole{"rules.diff", Role::Admin, "sluiced"},
    CommandRole{"rules.rollback", Role::Admin, "sluiced"},
    CommandRole{"policy.validate", Role::Admin, "both"},
    CommandRole{"policy.push", Role::Admin, "both"},
    CommandRole{"policy.apply", Role::Admin, "dataplane"},
    CommandRole{"policy.rollback", Role::Admin, "sluiced"},
};

bool parse_u32(std::string_view s, uint32_t& out) {
    const char* end = s.data() + s.size();
    return !s.empty() && std::from_chars(s.data(), end, out).ptr == end;
}

bool resolve_group(std::string_view s, uint32_t& gid) {
    if (parse_u32(s, gid)) return true;
    const group* g = ::getgrnam(std::string(s).c_str());
    if (!g) return false;
    gid = g->gr_gid;
    return true;
}

bool resolve_user(std::string_view s, uint32_t& uid) {
    if (parse_u32(s, uid)) return true;
    const passwd* p = ::getpwnam(std::string(s).c_str());
    if (!p) return false;
    uid = p->pw_uid;
    return true;
}

bool valid_san(std::string_view s) {
    return s.starts_with("DNS:") || s.starts_with("IP:") || s.starts_with("URI:") ||
           s.starts_with("email:");
}

template <class T>
bool contains(const std::vector<T>& v, const T& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}
}  // namespace

std::string_view role_name(Role r) {
    return kRoleNames[static_cast<size_t>(r)];
}

std::optional<Role> role_from_name(std::string_view s) {
    for (size_t i = 1; i < kRoleNames.size(); ++i)
        if (kRoleNames[i] == s) return static_cast<Role>(i);
    return std::nullopt;
}

std::optional<Role> command_role(std::string_view cmd) {
    for (const CommandRole& c : kCommands)
        if (c.cmd == cmd) return c.role;
    return std::nullopt;
}

std::span<const CommandRole> command_roles() {
    return kCommands;
}

Role AccessPolicy::role_of(const Peer& p) const {
    Role best = Role::None;
    if (p.kind == Peer::Kind::Unix && (p.uid == 0 || p.uid == ::geteuid())) return Role::Admin;
    for (const Grant& g : grants_) {
        bool match = false;
        if (p.kind == Peer::Kind::Unix) {
            match = contains(g.uids, p.uid) ||
                    std::any_of(p.groups.begin(), p.groups.end(),
                                [&](uint32_t gid) { return contains(g.groups, gid); });
        } else if (!p.subject.empty()) {
            match = contains(g.subjects, p.subject) ||
                    std::any_of(p.sans.begin(), p.sans.end(),
                                [&](const std::string& s) { return contains(g.sans, s); });
        }
        if (match && g.role > best) best = g.role;
    }
    return best;
}

bool AccessPolicy::add_flag(std::string_view spec, std::string& error) {
    const size_t eq = spec.find('='), colon = spec.find(':', eq);
    const auto role =
        eq == std::string_view::npos ? std::nullopt : role_from_name(spec.substr(0, eq));
    if (!role || colon == std::string_view::npos) {
        error =
            "--grant takes ROLE=KIND:VALUE (ROLE read, operate or admin; KIND uid, group, "
            "subject or san): '" +
            std::string(spec) + "'";
        return false;
    }
    const std::string_view kind = spec.substr(eq + 1, colon - eq - 1),
                           value = spec.substr(colon + 1);
    Grant g;
    g.role = *role;
    uint32_t id = 0;
    if (kind == "uid" && resolve_user(value, id)) {
        g.uids.push_back(id);
    } else if (kind == "group" && resolve_group(value, id)) {
        g.groups.push_back(id);
    } else if (kind == "subject" && !value.empty()) {
        g.subjects.emplace_back(value);
    } else if (kind == "san" && valid_san(value)) {
        g.sans.emplace_back(value);
    } else {
        error = "--grant '" + std::string(spec) +
                "': unknown user or group, or a SAN without its type (DNS:, IP:, URI:, email:)";
        return false;
    }
    add(std::move(g));
    return true;
}

bool parse_access(const YAML::Node& node, AccessPolicy& out, std::string& error) {
    auto at = [&](const YAML::Node& n, const std::string& why) {
        error = std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1) +
                ": access: " + why;
        return false;
    };
    if (!node.IsSequence()) return at(node, "a list of {role, uids, groups, subjects, sans}");
    for (const YAML::Node& g : node) {
        if (!g.IsMap()) return at(g, "each grant is a map");
        Grant grant;
        for (const auto& kv : g) {
            const std::string k = kv.first.as<std::string>();
            const YAML::Node& v = kv.second;
            if (k == "role") {
                const auto r = role_from_name(v.as<std::string>());
                if (!r) return at(v, "role is read, operate or admin");
                grant.role = *r;
                continue;
            }
            if (k != "uids" && k != "groups" && k != "subjects" && k != "sans")
                return at(kv.first, "unknown key '" + k + "' (role, uids, groups, subjects, sans)");
            if (!v.IsSequence()) return at(v, k + " is a list");
            for (const YAML::Node& e : v) {
                const std::string s = e.as<std::string>();
                uint32_t id = 0;
                if (k == "uids") {
                    if (!resolve_user(s, id)) return at(e, "unknown user '" + s + "'");
                    grant.uids.push_back(id);
                } else if (k == "groups") {
                    if (!resolve_group(s, id)) return at(e, "unknown group '" + s + "'");
                    grant.groups.push_back(id);
                } else if (k == "subjects") {
                    if (s.empty()) return at(e, "an empty subject");
                    grant.subjects.push_back(s);
                } else {
                    if (!valid_san(s))
                        return at(e,
                                  "a SAN names its type: DNS:, IP:, URI: or email: ('" + s + "')");
                    grant.sans.push_back(s);
                }
            }
        }
        if (grant.role == Role::None) return at(g, "a grant needs a role");
        out.add(std::move(grant));
    }
    return true;
}

}  // namespace sluice::control
