#include "common/pool_audit.h"

namespace sluice {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(PoolKind::Count)> kPoolNames = {
    "segment_nodes", "handshake_buffers", "decrypt_sessions", "http_sessions",
    "head_buffers",  "body_buffers",      "decoders",         "h2_sessions",
    "h2_streams",    "h2_head_buffers",   "quic_sessions",
};
constexpr size_t kMaxReported = 8;

}  // namespace

std::string_view pool_kind_name(PoolKind k) {
    return kPoolNames[static_cast<size_t>(k)];
}

void PoolAudit::pool(PoolKind k, uint32_t slots, size_t in_use) {
    Claims& c = pools_[static_cast<size_t>(k)];
    c.owner.assign(slots, 0);
    c.in_use = in_use;
    c.claimed = 0;
}

void PoolAudit::claim(PoolKind k, uint32_t slot, uint64_t owner) {
    Claims& c = pools_[static_cast<size_t>(k)];
    if (slot >= c.owner.size()) return violation(k, slot, owner, "slot out of range");
    if (c.owner[slot] != 0) {
        return violation(k, slot, owner, "also claimed by flow " + std::to_string(c.owner[slot]));
    }
    c.owner[slot] = owner == 0 ? ~uint64_t{0} : owner;
    ++c.claimed;
}

void PoolAudit::violation(PoolKind k, uint32_t slot, uint64_t owner, std::string_view why) {
    if (violations_++ >= kMaxReported) return;
    report_ += std::string(pool_kind_name(k)) + " slot " + std::to_string(slot) + " (flow " +
               std::to_string(owner) + "): " + std::string(why) + "\n";
}

bool PoolAudit::verify() {
    for (size_t i = 0; i < pools_.size(); ++i) {
        const Claims& c = pools_[i];
        if (c.claimed == c.in_use) continue;
        const auto k = static_cast<PoolKind>(i);
        if (violations_++ >= kMaxReported) continue;
        report_ += std::string(pool_kind_name(k)) + ": " + std::to_string(c.in_use) + " in use, " +
                   std::to_string(c.claimed) + " held by live flows" +
                   (c.in_use > c.claimed ? " (a slot without an owner)\n" : "\n");
    }
    return violations_ == 0;
}

}  // namespace sluice
