// The operator's blocklist and allowlist (sluicectl blocklist/allowlist, later sluiced):
// entries by client address or prefix (IPv4/IPv6), account id or JA4, each with an optional
// TTL and a reason. Edited by the control thread, read by the correlator thread when it
// builds an enforcement snapshot (verdict/enforcement.h) - a mutex, never on a worker's path.
// Allowlist entries override every other decision, blocklist entries block.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "verdict/enforcement.h"
#include "verdict/static_filter.h"

namespace sluice {

enum class ListKind : uint8_t { Ip, Account, Ja4 };
std::optional<ListKind> list_kind_from_name(std::string_view name);
std::string_view list_kind_name(ListKind k);

struct ListEntry {
    bool allow = false;  // allowlist, else blocklist
    ListKind kind = ListKind::Ip;
    std::string value;  // as given (normalised: prefixes printed back, ids lower-case)
    std::string reason;
    uint64_t added_ns = 0;    // wall clock
    uint64_t expires_ns = 0;  // wall clock; 0: no expiry
    // Parsed
    IpPrefix prefix;
    uint64_t key = 0;  // account key or JA4 hash
};

class OperatorLists {
  public:
    // Adds or replaces (same list, kind and value). Error text on a bad value.
    bool add(bool allow, ListKind kind, std::string_view value, uint64_t ttl_s, std::string reason,
             uint64_t now_ns, std::string& error);
    // Replaces every entry at once (a daemon resynchronising its desired lists). Entries
    // given as {allow, kind, value, expires_ns, reason}; all are validated first, an error
    // changes nothing.
    bool replace(const std::vector<ListEntry>& wanted, uint64_t now_ns, std::string& error);
    // Removes; false if no such entry.
    bool remove(bool allow, ListKind kind, std::string_view value);
    // Entries still alive at `now_ns` (expired ones are dropped here).
    std::vector<ListEntry> entries(uint64_t now_ns);
    // Adds every live entry to a snapshot being built.
    void apply(EnforcementTable& t, uint64_t now_ns);
    uint64_t version() const { return version_.load(std::memory_order_acquire); }
    // Earliest expiry of a live entry (0: none): the snapshot must be rebuilt then.
    uint64_t next_expiry() const { return next_expiry_.load(std::memory_order_acquire); }

  private:
    void prune(uint64_t now_ns);  // with mu_ held
    std::mutex mu_;
    std::vector<ListEntry> entries_;
    std::atomic<uint64_t> version_{0};
    std::atomic<uint64_t> next_expiry_{0};
};

}  // namespace sluice
