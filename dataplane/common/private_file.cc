#include "common/private_file.h"

#include <fcntl.h>
#include <unistd.h>

namespace sluice {

std::FILE* open_private(const std::string& path, FileMode mode) {
    const int flags =
        O_WRONLY | O_CREAT | O_CLOEXEC | (mode == FileMode::Append ? O_APPEND : O_TRUNC);
    const int fd = ::open(path.c_str(), flags, 0640);
    if (fd < 0) return nullptr;
    std::FILE* f = ::fdopen(fd, mode == FileMode::Append ? "ab" : "wb");
    if (f == nullptr) ::close(fd);
    return f;
}

}  // namespace sluice
