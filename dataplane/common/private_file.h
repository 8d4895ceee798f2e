// Output files that hold traffic (EVE logs, stream dumps): created mode 0640 - the service
// and its log group, nobody else - whatever the umask allows beyond that.
#pragma once

#include <cstdio>
#include <string>

namespace sluice {

enum class FileMode { Append, Truncate };
// fopen()'s answer, with the file created 0640 when it did not exist; nullptr with errno.
std::FILE* open_private(const std::string& path, FileMode mode);

}  // namespace sluice
