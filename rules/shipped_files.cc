#include "rules/shipped_files.h"

#include <filesystem>
#include <map>
#include <system_error>

namespace sluice::rules {

namespace fs = std::filesystem;

ShippedLayout shipped_layout_for(std::string_view exe_dir) {
#if defined(SLUICE_BINDIR) && defined(SLUICE_DATADIR) && defined(SLUICE_SYSCONFDIR)
    std::error_code ec;
    // Compared as canonical paths: /bin and /usr/bin are one directory on merged-/usr systems.
    const fs::path bin = fs::weakly_canonical(SLUICE_BINDIR, ec);
    const fs::path here = fs::weakly_canonical(fs::path(exe_dir), ec);
    if (!ec && here == bin) return {SLUICE_DATADIR, SLUICE_SYSCONFDIR};
#else
    (void)exe_dir;
#endif
#ifdef SLUICE_RULES_DIR
    return {SLUICE_RULES_DIR, ""};
#else
    return {"rules", ""};
#endif
}

const ShippedLayout& shipped_layout() {
    static const ShippedLayout layout = [] {
        std::error_code ec;
        const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
        return shipped_layout_for(ec ? std::string() : exe.parent_path().string());
    }();
    return layout;
}

std::string shipped_file(std::string_view rel) {
    const ShippedLayout& l = shipped_layout();
    if (!l.local.empty()) {
        const fs::path local = fs::path(l.local) / rel;
        std::error_code ec;
        if (fs::exists(local, ec)) return local.string();
    }
    return (fs::path(l.shipped) / rel).string();
}

std::vector<std::string> shipped_rule_files() {
    const ShippedLayout& l = shipped_layout();
    const fs::path shipped = fs::path(l.shipped) / "packs";
    if (l.local.empty()) return {shipped.string()};
    std::map<std::string, std::string> by_name;  // sorted, local entries replace shipped ones
    for (const fs::path& dir : {shipped, fs::path(l.local) / "packs"}) {
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().extension() == ".rules")
                by_name[it->path().filename().string()] = it->path().string();
    }
    std::vector<std::string> out;
    for (auto& [name, path] : by_name) out.push_back(std::move(path));
    return out;
}

}  // namespace sluice::rules
