// sluiced's durable desired state, in a state directory (docs/operations.md):
//
//   rules/000001/meta.json     {version, sha256, author, time, message, files[], rules}
//   rules/000001/bundle.bin    the compiled bundle (rules/bundle.h) shipped to dataplanes
//   rules/000001/src/N.rules   the rule sources, in order (names in meta.json)
//   policies/000001/{meta.json, policy.yaml}
//   lists.json                 block/allow entries with absolute expiry
//   desired.json               {rules: N, policy: M} - the versions in force
//   audit.log                  one JSON line per change (time, peer uid, command, outcome)
//
// Every file is written to a temporary name (O_EXCL|O_NOFOLLOW, mode 0600), fsynced and
// renamed, then its directory is fsynced; directories are 0700 and fsynced into their parent
// when created. A crash leaves the old or the new file, never half of one; a version
// directory is complete (meta.json last) before desired.json names it, and an incomplete one
// is removed at the next start. A failed write (a full disk) is an error and leaves the
// previous state in force. TLS secrets are never written here.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace sluice::control {

// Fault injection: SLUICED_CRASH_AT=NAME kills the process at that point (after_mkdir,
// after_tmp_write, after_rename, before_dir_fsync, before_audit, while_pushing).
void crash_point(const char* name);

struct RuleFile {
    std::string name;
    std::string text;
};

class StateStore {
  public:
    // Creates the layout if missing; false with `error` if the directory is unusable.
    bool open(const std::string& dir, std::string& error);
    const std::string& dir() const { return dir_; }

    // Rule-set versions.
    uint64_t add_rules(const std::vector<RuleFile>& files, const std::string& bundle,
                       nlohmann::json meta, std::string& error);
    std::vector<nlohmann::json> list_rules() const;  // metas, oldest first
    std::optional<nlohmann::json> rules_meta(uint64_t v) const { return meta("rules", v); }
    std::optional<nlohmann::json> policy_meta(uint64_t v) const { return meta("policies", v); }
    bool rules_sources(uint64_t v, std::vector<RuleFile>& out) const;
    bool rules_bundle(uint64_t v, std::string& out) const;

    // Policy versions.
    uint64_t add_policy(const std::string& yaml, nlohmann::json meta, std::string& error);
    std::vector<nlohmann::json> list_policies() const;
    bool policy_text(uint64_t v, std::string& out) const;

    nlohmann::json desired() const;  // {rules, policy}; 0: none (the dataplane's own)
    bool set_desired(const nlohmann::json& d, std::string& error);
    nlohmann::json lists() const;  // {entries: [...]}
    bool set_lists(const nlohmann::json& l, std::string& error);

    // Appends one line and fsyncs it; false with `error` (the change must then be refused).
    bool audit(const nlohmann::json& record, std::string& error);

    static bool atomic_write(const std::string& path, const std::string& data, std::string& error);
    static bool read(const std::string& path, std::string& out);

  private:
    uint64_t next_version(const std::string& kind) const;
    std::optional<nlohmann::json> meta(const char* kind, uint64_t v) const;
    std::string dir_;
};

}  // namespace sluice::control
