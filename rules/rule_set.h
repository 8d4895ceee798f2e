// A validated rule set: the rules of one or more files, their classtypes and datasets.
// Building one either succeeds whole or returns every error (atomic, the default), or - with
// skip_invalid - keeps every rule that is valid and lists each one it skipped and why, as
// Suricata loads a rule file. Errors in what the rules stand on (the classification table,
// a dataset named by configuration, an unreadable file) reject the set in both modes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rules/classification.h"
#include "rules/dataset.h"
#include "rules/rule_parser.h"

namespace sluice::rules {

struct RuleSource {
    std::string name;  // file path (used in errors and to resolve dataset paths)
    std::string text;
};

struct RuleSetOptions {
    Dialect dialect = Dialect::Auto;
    RuleVars vars = RuleVars::defaults();
    std::string classification_file;  // empty: the shipped rules/classification.config
    // Datasets named by configuration: NAME -> {type, file}.
    struct DatasetFile {
        std::string type;
        std::string path;
    };
    std::map<std::string, DatasetFile> datasets;
    // Files served from memory before the disk is consulted (classification table, dataset
    // lists): a rule bundle carries everything its set was built from.
    std::map<std::string, std::string> files;
    // Rules from someone else (a push): dataset files are read only from these directories
    // (rules/dataset_path.h); with none, a dataset load is an error.
    bool confine_datasets = false;
    std::vector<std::string> dataset_dirs;
    // A bundle being rebuilt: every input must be in `files`; the disk is never read.
    bool files_only = false;
    // Skip bad rules (listed in RuleSet::skipped) instead of rejecting the set.
    bool skip_invalid = false;
};

// What a report says about the skipped rules: how many, and how many for each unsupported
// keyword (or protocol, modifier ...), most frequent first; the rest were malformed.
struct SkipSummary {
    size_t skipped = 0;
    size_t malformed = 0;
    std::vector<std::pair<std::string, size_t>> unsupported;
};
SkipSummary summarize_skipped(const std::vector<RuleError>& skipped);
// The report: one line per skipped rule (at most `max_lines`; 0 = all, then a pointer to
// --check-rules for the rest) and a last line with the counts. Empty when nothing was skipped.
std::string skip_report(const std::vector<RuleError>& skipped, size_t max_lines = 0);

struct RuleSet {
    std::vector<Rule> rules;
    std::vector<uint8_t> severity;      // per rule: priority, else the classtype's, else 3
    std::vector<std::string> category;  // per rule: the classtype's description
    std::vector<uint8_t> class_slot;    // per rule: its classtype's counter slot (class_slots.h)
    Classifications classes;
    std::map<std::string, std::shared_ptr<Dataset>, std::less<>> datasets;
    std::vector<std::string> files;
    std::string digest;              // sha256 of the sources: names the version in logs and bundles
    std::vector<RuleError> skipped;  // skip_invalid: one entry per rule left out, in file order
    std::vector<std::string> flowbit_names;  // by id (FlowbitsOp::ids)
    std::vector<std::string> flowint_names;  // by id (FlowintOp::id)

    // What the set was built from, so it can be rebuilt elsewhere (rules/bundle.h).
    std::vector<RuleSource> sources;
    RuleSetOptions options;  // with `files` holding the classification and dataset contents
};

struct RuleSetResult {
    std::unique_ptr<RuleSet> set;  // null if errors is not empty
    std::vector<RuleError> errors;
};

// Builds a set from sources already in memory.
RuleSetResult build_rule_set(const std::vector<RuleSource>& sources, const RuleSetOptions& opts);
// Reads files (a directory means every *.rules file in it, sorted) and builds the set.
RuleSetResult load_rule_files(const std::vector<std::string>& paths, const RuleSetOptions& opts);

// Where the shipped packs and classification table live (the source tree, or the install).
std::string default_rules_dir();

}  // namespace sluice::rules
