#include "control/sluiced/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::control {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
std::string vdir(uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "%06llu", static_cast<unsigned long long>(v));
    return b;
}

bool fail(std::string& error, const std::string& what) {
    error = what + ": " + std::strerror(errno);
    return false;
}

bool fsync_dir(const std::string& dir, std::string& error) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return fail(error, dir);
    const bool ok = ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return ok || fail(error, dir + ": fsync");
}

// A directory only we can enter, made durable in its parent. An existing one is tightened.
bool make_dir(const std::string& dir, std::string& error) {
    if (::mkdir(dir.c_str(), 0700) == 0) {
        crash_point("after_mkdir");
        return fsync_dir(fs::path(dir).parent_path().string(), error);
    }
    struct stat st {};
    if (errno != EEXIST || ::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(error, dir + " (not a directory we can create)");
    return ::chmod(dir.c_str(), 0700) == 0 || fail(error, dir + ": chmod");
}
}  // namespace

void crash_point(const char* name) {
    // Fault injection for the state directory's crash tests: SLUICED_CRASH_AT=NAME kills the
    // process at that point as abruptly as a power cut (no destructors, no flush).
    static const char* want = std::getenv("SLUICED_CRASH_AT");
    if (want != nullptr && std::strcmp(want, name) == 0) ::raise(SIGKILL);
}

bool StateStore::atomic_write(const std::string& path, const std::string& data,
                              std::string& error) {
    const std::string tmp = path + ".tmp";
    // Never through a symlink, never onto an existing file: a leftover temporary is ours to
    // remove (unlink removes a planted symlink, not its target).
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fail(error, tmp);
    size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = ENOSPC;
            fail(error, tmp);
            ::close(fd);
            ::unlink(tmp.c_str());
            return false;
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        fail(error, tmp + ": fsync");
        ::close(fd);
        ::unlink(tmp.c_str());
        return false;
    }
    ::close(fd);
    crash_point("after_tmp_write");
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        fail(error, path);
        ::unlink(tmp.c_str());
        return false;
    }
    crash_point("after_rename");
    crash_point("before_dir_fsync");
    return fsync_dir(fs::path(path).parent_path().string(), error);
}

bool StateStore::read(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

bool StateStore::open(const std::string& dir, std::string& error) {
    std::error_code ec;
    // The parents may be shared (/var/lib); the state directory and below are ours alone.
    if (const auto parent = fs::path(dir).parent_path(); !parent.empty()) {
        fs::create_directories(parent, ec);
        if (ec) {
            error = parent.string() + ": " + ec.message();
            return false;
        }
    }
    for (const char* sub : {"", "/rules", "/policies"})
        if (!make_dir(dir + sub, error)) return false;
    // Leftovers of an interrupted write are never read; remove them.
    for (const auto& e : fs::recursive_directory_iterator(dir, ec))
        if (e.path().extension() == ".tmp") fs::remove(e.path(), ec);
    for (const char* kind : {"rules", "policies"})
        for (const auto& e : fs::directory_iterator(dir + "/" + kind, ec))
            if (e.is_directory() && !fs::exists(e.path() / "meta.json"))
                fs::remove_all(e.path(), ec);
    dir_ = dir;
    return true;
}

uint64_t StateStore::next_version(const std::string& kind) const {
    uint64_t v = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ + "/" + kind, ec)) {
        try {
            v = std::max<uint64_t>(v, std::stoull(e.path().filename().string()));
        } catch (...) {
        }
    }
    return v + 1;
}

uint64_t StateStore::add_rules(const std::vector<RuleFile>& files, const std::string& bundle,
                               json meta, std::string& error) {
    const uint64_t v = next_version("rules");
    const std::string d = dir_ + "/rules/" + vdir(v);
    auto abandon = [&] {
        std::error_code ec;
        fs::remove_all(d, ec);  // a version that could not be completed does not linger
        return uint64_t{0};
    };
    if (!make_dir(d, error) || !make_dir(d + "/src", error)) return abandon();
    json names = json::array();
    for (size_t i = 0; i < files.size(); ++i) {
        if (!atomic_write(d + "/src/" + std::to_string(i) + ".rules", files[i].text, error))
            return abandon();
        names.push_back(files[i].name);
    }
    if (!atomic_write(d + "/bundle.bin", bundle, error)) return abandon();
    meta["version"] = v;
    meta["files"] = names;
    // meta.json last: a version exists once it is complete.
    if (!atomic_write(d + "/meta.json", meta.dump(2), error)) return abandon();
    return v;
}

std::vector<json> StateStore::list_rules() const {
    std::vector<json> out;
    for (uint64_t v = 1; v < next_version("rules"); ++v)
        if (auto m = rules_meta(v)) out.push_back(*m);
    return out;
}

std::optional<json> StateStore::meta(const char* kind, uint64_t v) const {
    std::string text;
    if (!read(dir_ + "/" + kind + "/" + vdir(v) + "/meta.json", text)) return std::nullopt;
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

bool StateStore::rules_sources(uint64_t v, std::vector<RuleFile>& out) const {
    auto m = rules_meta(v);
    if (!m) return false;
    out.clear();
    size_t i = 0;
    for (const auto& n : (*m)["files"]) {
        RuleFile f;
        f.name = n.get<std::string>();
        if (!read(dir_ + "/rules/" + vdir(v) + "/src/" + std::to_string(i++) + ".rules", f.text))
            return false;
        out.push_back(std::move(f));
    }
    return true;
}

bool StateStore::rules_bundle(uint64_t v, std::string& out) const {
    return read(dir_ + "/rules/" + vdir(v) + "/bundle.bin", out);
}

uint64_t StateStore::add_policy(const std::string& yaml, json meta, std::string& error) {
    const uint64_t v = next_version("policies");
    const std::string d = dir_ + "/policies/" + vdir(v);
    auto abandon = [&] {
        std::error_code ec;
        fs::remove_all(d, ec);
        return uint64_t{0};
    };
    if (!make_dir(d, error) || !atomic_write(d + "/policy.yaml", yaml, error)) return abandon();
    meta["version"] = v;
    if (!atomic_write(d + "/meta.json", meta.dump(2), error)) return abandon();
    return v;
}

std::vector<json> StateStore::list_policies() const {
    std::vector<json> out;
    for (uint64_t v = 1; v < next_version("policies"); ++v) {
        std::string text;
        if (!read(dir_ + "/policies/" + vdir(v) + "/meta.json", text)) continue;
        auto j = json::parse(text, nullptr, false);
        if (!j.is_discarded()) out.push_back(j);
    }
    return out;
}

bool StateStore::policy_text(uint64_t v, std::string& out) const {
    return read(dir_ + "/policies/" + vdir(v) + "/policy.yaml", out);
}

json StateStore::desired() const {
    std::string text;
    if (read(dir_ + "/desired.json", text)) {
        auto j = json::parse(text, nullptr, false);
        if (j.is_object()) return j;
    }
    return {{"rules", 0}, {"policy", 0}};
}

bool StateStore::set_desired(const json& d, std::string& error) {
    return atomic_write(dir_ + "/desired.json", d.dump(2), error);
}

json StateStore::lists() const {
    std::string text;
    if (read(dir_ + "/lists.json", text)) {
        auto j = json::parse(text, nullptr, false);
        if (j.is_object()) return j;
    }
    return {{"entries", json::array()}};
}

bool StateStore::set_lists(const json& l, std::string& error) {
    return atomic_write(dir_ + "/lists.json", l.dump(2), error);
}

bool StateStore::audit(const json& record, std::string& error) {
    const std::string line = record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    const std::string path = dir_ + "/audit.log";
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        error = path + ": " + std::strerror(errno);
        return false;
    }
    size_t off = 0;
    while (off < line.size()) {
        const ssize_t n = ::write(fd, line.data() + off, line.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = path + ": " + std::strerror(n < 0 ? errno : ENOSPC);
            // A torn line would poison the log: cut back to where this record began.
            struct stat st {};
            if (::fstat(fd, &st) == 0 && static_cast<size_t>(st.st_size) >= off) [[maybe_unused]]
                const int t = ::ftruncate(fd, st.st_size - static_cast<off_t>(off));
            ::close(fd);
            return false;
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        error = path + ": fsync: " + std::strerror(errno);
        ::close(fd);
        return false;
    }
    ::close(fd);
    return true;
}

}  // namespace sluice::control
