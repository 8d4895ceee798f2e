// The one verdict vocabulary of sluice, in ascending precedence (see docs/architecture.md).
// Allowlist is not a rung of the ladder but an override: an allowlisted flow always passes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

enum class Verdict : uint8_t {
    Pass = 0,       // forward, nothing to say
    Alert = 1,      // forward, raise an alert event
    Tag = 2,        // forward, mark the flow/account in events for downstream systems
    RateLimit = 3,  // forward while within the token bucket, drop the excess
    Drop = 4,       // stop forwarding this flow silently
    Reject = 5,     // stop forwarding and inject TCP RSTs to both ends
    Block = 6,      // like Reject, and the subject (account, prefix, JA4) stays blocked
};

struct FlowVerdict {
    Verdict verdict = Verdict::Pass;
    bool allowlisted = false;

    // Combine: allowlist wins over everything; otherwise the stronger verdict wins.
    void merge(Verdict v) {
        if (!allowlisted && v > verdict) verdict = v;
    }
    void allow() {
        allowlisted = true;
        verdict = Verdict::Pass;
    }
    bool stops_flow() const { return !allowlisted && verdict >= Verdict::Drop; }
    bool injects_reset() const { return !allowlisted && verdict >= Verdict::Reject; }
};

std::string_view verdict_name(Verdict v);
std::optional<Verdict> verdict_from_name(std::string_view name);

}  // namespace sluice
