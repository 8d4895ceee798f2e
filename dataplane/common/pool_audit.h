// The bounded-state invariant, checked (docs/architecture.md, "Normalization and bounds"):
// every pooled slot in use has exactly one live owner, and every slot an owner names is in use.
// Each stage claims the slots a live flow holds (and checks the slot's own record of its
// owner); verify() then compares the claims with each pool's occupancy. A slot in use that no
// flow claims is a leak that pins the pool; a slot claimed twice is shared state.
// Allocates: debug builds and tests only (Pipeline::audit), never on the packet path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class PoolKind : uint8_t {
    SegmentNodes,
    HandshakeBuffers,
    DecryptSessions,
    HttpSessions,
    HeadBuffers,
    BodyBuffers,
    Decoders,
    H2Sessions,
    H2Streams,
    H2HeadBuffers,
    QuicSessions,
    Count
};
std::string_view pool_kind_name(PoolKind k);

class PoolAudit {
  public:
    // A pool with `slots` slots of which `in_use` are handed out (its own count).
    void pool(PoolKind k, uint32_t slots, size_t in_use);
    // `owner` (a flow id) holds `slot`. Out of range or already claimed: a violation.
    void claim(PoolKind k, uint32_t slot, uint64_t owner);
    // A stage's own check failed (e.g. the slot records another owner).
    void violation(PoolKind k, uint32_t slot, uint64_t owner, std::string_view why);
    // Compares claims with occupancy; true when the invariant holds.
    bool verify();
    // The first violations, one per line (empty when verify() held).
    const std::string& report() const { return report_; }

  private:
    struct Claims {
        std::vector<uint64_t> owner;  // by slot: 0 = unclaimed
        size_t in_use = 0;
        size_t claimed = 0;
    };
    std::array<Claims, static_cast<size_t>(PoolKind::Count)> pools_;
    std::string report_;
    size_t violations_ = 0;
};

}  // namespace sluice
