#include "verdict/verdict.h"

#include <array>

namespace sluice {

namespace {
constexpr std::array<std::string_view, 7> kNames = {"pass", "alert",  "tag",  "rate-limit",
                                                    "drop", "reject", "block"};
}

std::string_view verdict_name(Verdict v) {
    const auto i = static_cast<size_t>(v);
    return i < kNames.size() ? kNames[i] : "unknown";
}

std::optional<Verdict> verdict_from_name(std::string_view name) {
    for (size_t i = 0; i < kNames.size(); ++i)
        if (kNames[i] == name) return static_cast<Verdict>(i);
    if (name == "reset") return Verdict::Reject;  // Suricata/Snort users say reset
    return std::nullopt;
}

}  // namespace sluice
