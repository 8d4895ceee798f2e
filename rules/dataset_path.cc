#include "rules/dataset_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::rules {

namespace {
// glibc 2.36 has no wrapper for openat2(2).
int openat2_beneath(int dirfd, const std::string& rel) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how));
}

// Opens `rel` beneath `dir`; -1 with errno on failure.
int open_beneath(const std::string& dir, const std::string& rel) {
    const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return -1;
    const int fd = openat2_beneath(d, rel);
    const int saved = errno;
    ::close(d);
    errno = saved;
    return fd;
}

std::string trimmed(std::string d) {
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    return d;
}
}  // namespace

bool read_beneath(const std::vector<std::string>& dirs, const std::string& path, std::string& out,
                  std::string& why) {
    if (dirs.empty()) {
        why = "'" + path +
              "': datasets in pushed rules are read only from configured dataset directories "
              "(sluiced dataset_dirs), and none is configured";
        return false;
    }
    if (path.empty() || path.find('\0') != std::string::npos) {
        why = "an empty dataset path";
        return false;
    }
    int fd = -1, err = ENOENT;
    for (const std::string& raw : dirs) {
        const std::string dir = trimmed(raw);
        std::string rel = path;
        if (path.front() == '/') {
            if (path.compare(0, dir.size() + 1, dir + "/") != 0) continue;
            rel = path.substr(dir.size() + 1);
        }
        fd = open_beneath(dir, rel);
        if (fd >= 0) break;
        if (errno != ENOENT) err = errno;
    }
    if (fd < 0) {
        why =
            "'" + path + "' is not a file inside the dataset directories (" +
            (err == EXDEV || err == ELOOP ? std::string("it escapes them or goes through a symlink")
                                          : std::string(std::strerror(err))) +
            ")";
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<size_t>(st.st_size) > kMaxDatasetBytes) {
        ::close(fd);
        why = "'" + path + "' is not a regular file of at most 64 MiB";
        return false;
    }
    out.clear();
    out.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    out.resize(got);
    return true;
}

}  // namespace sluice::rules
