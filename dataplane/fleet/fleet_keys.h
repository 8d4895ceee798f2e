// The fleet's Redis data model (docs/fleet.md, "Keys"): every key of one account carries the
// hash tag {acct:ID} (ID: the keyed account id, never a credential), so an account's window
// keys live in one slot and PFCOUNT can union them in a cluster. Windows are aligned to
// multiples of `window` seconds of packet time, so every edge names the same window alike.
// Elements (addresses, networks, ASNs, JA4s) go in as keyed hashes only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/digest.h"

namespace sluice::fleet {

enum class EvidenceKind : uint8_t { Ips, Networks, Asns, Ja4s, Counters, Count };
std::string_view kind_tag(EvidenceKind k);  // "ip", "net", "asn", "ja4", "cnt"

// PREFIX{acct:ID}:KIND:WINDOW
std::string evidence_key(std::string_view prefix, std::string_view account, EvidenceKind k,
                         uint64_t window);
// PREFIX{tpl:FRAME}:WINDOW: the accounts (keyed ids) that sent a prompt frame (keyed hash).
std::string template_key(std::string_view prefix, std::string_view frame, uint64_t window);
// PREFIX{sync:RUN}:done, the offline sync point's counter.
std::string sync_key(std::string_view prefix, std::string_view run);

inline uint64_t window_of(uint64_t ts_ns, uint32_t window_s) {
    return ts_ns / (uint64_t{window_s} * 1'000'000'000ull);
}

// Keyed hashes of evidence elements: HMAC-SHA256 under a key derived from the account secret
// (every edge of a fleet shares it, as it must for account ids to agree), 16 hex characters.
// The derived key's states are wiped on destruction.
class ElementHasher {
  public:
    explicit ElementHasher(std::span<const uint8_t> account_secret);
    ~ElementHasher();
    ElementHasher(const ElementHasher&) = delete;
    ElementHasher& operator=(const ElementHasher&) = delete;
    // `domain` separates kinds (an address and a JA4 hash never collide by construction).
    std::array<char, 16> hash(char domain, std::span<const uint8_t> element) const;

  private:
    std::unique_ptr<HmacSha256> mac_;
};

}  // namespace sluice::fleet
