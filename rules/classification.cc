#include "rules/classification.h"

#include <charconv>

namespace sluice::rules {

namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}
}  // namespace

bool Classifications::parse(std::string_view text, std::string_view file,
                            std::vector<RuleError>& errors) {
    const size_t before = errors.size();
    uint32_t line_no = 0;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        if (line.empty() || line.front() == '#') continue;
        constexpr std::string_view kPrefix = "config classification:";
        auto fail = [&](std::string msg) {
            errors.push_back({{std::string(file), line_no, 1}, std::move(msg)});
        };
        if (!line.starts_with(kPrefix)) {
            fail("expected 'config classification: name,description,priority'");
            continue;
        }
        std::string_view rest = line.substr(kPrefix.size());
        const size_t c1 = rest.find(','), c2 = rest.rfind(',');
        if (c1 == std::string_view::npos || c1 == c2) {
            fail("expected three comma-separated fields: name,description,priority");
            continue;
        }
        std::string_view name = trim(rest.substr(0, c1));
        std::string_view desc = trim(rest.substr(c1 + 1, c2 - c1 - 1));
        std::string_view prio = trim(rest.substr(c2 + 1));
        unsigned p = 0;
        auto r = std::from_chars(prio.data(), prio.data() + prio.size(), p);
        if (name.empty() || r.ec != std::errc() || r.ptr != prio.data() + prio.size() || p < 1 ||
            p > 255) {
            fail("bad classification entry (priority must be 1..255)");
            continue;
        }
        map_[std::string(name)] = Classtype{std::string(desc), static_cast<uint8_t>(p)};
    }
    return errors.size() == before;
}

const Classtype* Classifications::find(std::string_view name) const {
    auto it = map_.find(name);
    return it == map_.end() ? nullptr : &it->second;
}

}  // namespace sluice::rules
