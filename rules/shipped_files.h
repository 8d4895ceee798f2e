// Where the shipped rule packs, policy and tables are read from. A binary run from its build
// tree reads them from the source tree (rules/). An installed one - its executable in
// PREFIX/bin - reads PREFIX/share/sluice, where a file of the same relative path under
// SYSCONFDIR/sluice (/etc/sluice) replaces the shipped one: package updates replace the
// shipped files without a conffile prompt, and local changes survive them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::rules {

struct ShippedLayout {
    std::string shipped;  // the source tree's rules/, or PREFIX/share/sluice
    std::string local;    // /etc/sluice when installed; empty in a build tree
};

// Decided once per process from /proc/self/exe.
const ShippedLayout& shipped_layout();
// The layout for an executable at `exe_dir` (exposed for tests).
ShippedLayout shipped_layout_for(std::string_view exe_dir);

// `rel` (e.g. "policy/default.yaml") under the local directory when it exists there, else
// under the shipped one.
std::string shipped_file(std::string_view rel);

// The default rule files: the shipped packs directory in a build tree; when installed, every
// *.rules of share/sluice/packs and of /etc/sluice/packs merged by file name (local wins),
// sorted by name.
std::vector<std::string> shipped_rule_files();

}  // namespace sluice::rules
