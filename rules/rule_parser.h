// Parses rule files in the Suricata 7 or Snort 3 dialect into the common Rule model.
//
// The dialect is chosen per file: an explicit option, else a header comment
// (`# sluice-dialect: snort3` or `suricata`), else auto-detected from the first rule that
// only one dialect would write (Snort 3's `content:"x",nocase`, a buffer name before its
// content, a header-less rule; Suricata's dotted sticky buffers or standalone modifiers).
// Every error names file:line:column and what was expected; a file with any error yields no
// rules (the caller rejects the set whole).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rule.h"

namespace sluice::rules {

enum class Dialect : uint8_t { Auto, Suricata, Snort3 };
std::string_view dialect_name(Dialect d);

struct RuleError {
    RuleError() = default;
    RuleError(SourceLocation w, std::string m) : where(std::move(w)), message(std::move(m)) {}
    SourceLocation where;
    std::string message;
    std::string format() const;  // "file:line:col: error: message"
};

// Address and port variables ($HOME_NET, $API_SERVERS ...). Defaults: every well-known
// variable is "any"; configuration overrides them.
struct RuleVars {
    std::map<std::string, std::string, std::less<>> addresses;
    std::map<std::string, std::string, std::less<>> ports;
    static RuleVars defaults();
};

// A dataset a rule declares inline: dataset:isset,NAME,type string,load FILE.
struct DatasetDecl {
    std::string name;
    std::string type;  // string | md5 | sha256
    std::string load;  // path as written (relative to the rule file's directory)
    SourceLocation where;
};

struct ParseOptions {
    Dialect dialect = Dialect::Auto;
    RuleVars vars = RuleVars::defaults();
};

struct ParsedFile {
    std::vector<Rule> rules;
    std::vector<DatasetDecl> datasets;
    std::vector<RuleError> errors;
    Dialect dialect = Dialect::Suricata;  // the dialect used
    bool ok() const { return errors.empty(); }
};

ParsedFile parse_rules(std::string_view text, std::string_view file, const ParseOptions& opts = {});

// Parses an address or port expression as it appears in a rule header (for vars and tests).
bool parse_address_set(std::string_view text, const RuleVars& vars, AddressSet& out,
                       std::string& error);
bool parse_port_set(std::string_view text, const RuleVars& vars, PortSet& out, std::string& error);

}  // namespace sluice::rules
