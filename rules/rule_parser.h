// Parses rule files in the Suricata 7 or Snort 3 dialect into the common Rule model.
//
// The dialect is chosen per file: an explicit option, else a header comment
// (`# sluice-dialect: snort3` or `suricata`), else auto-detected from the first rule that
// only one dialect would write (Snort 3's `content:"x",nocase`, a buffer name before its
// content, a header-less rule; Suricata's dotted sticky buffers or standalone modifiers).
// Every error names file:line:column and what was expected. A rule with an error yields
// nothing; whether the file's other rules still load is the caller's choice
// (ParseOptions::keep_valid, RuleSetOptions::skip_invalid).
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
    // Set when the rule uses something sluice does not support (a keyword, a protocol, a
    // modifier): the name a report counts skipped rules by. Empty for a malformed rule.
    std::string unsupported;
    uint32_t sid = 0;            // the failing rule's sid, when its text names one
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
    bool keep_valid = false;  // keep the good rules of a file that has bad ones
};

struct ParsedFile {
    std::vector<Rule> rules;
    std::vector<DatasetDecl> datasets;
    std::vector<RuleError> errors;        // one per rule that failed
    std::vector<RuleError> file_errors;   // about the file itself (its dialect comment)
    Dialect dialect = Dialect::Suricata;  // the dialect used
    bool ok() const { return errors.empty() && file_errors.empty(); }
};

ParsedFile parse_rules(std::string_view text, std::string_view file, const ParseOptions& opts = {});

// Parses an address or port expression as it appears in a rule header (for vars and tests).
bool parse_address_set(std::string_view text, const RuleVars& vars, AddressSet& out,
                       std::string& error);
bool parse_port_set(std::string_view text, const RuleVars& vars, PortSet& out, std::string& error);

}  // namespace sluice::rules
