// Reading a dataset file named by a rule (`dataset:…, load PATH`) when the rule came from
// someone else - a push to sluiced: the path must resolve inside one of the configured
// dataset directories, opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to
// the directory (no `..`, no symlink, no magic link, no race between a check and the open),
// and be a regular file of at most 64 MiB. Otherwise a clear reason, never a read.
#pragma once

#include <string>
#include <vector>

namespace sluice::rules {

inline constexpr size_t kMaxDatasetBytes = 64u << 20;

// `path` as the rule wrote it: relative (tried under each directory in order) or absolute
// (then it must lie under one of them). False with `why`.
bool read_beneath(const std::vector<std::string>& dirs, const std::string& path, std::string& out,
                  std::string& why);

}  // namespace sluice::rules
