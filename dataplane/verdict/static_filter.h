// Static flow filters from the config file: the first matching entry gives a new flow its
// verdict (allow, drop, reject, ...), optionally only once the flow has carried N bytes.
// This is the seed of the blocklist that the control plane later edits at run time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "verdict/verdict.h"

namespace sluice {

struct IpPrefix {
    IpAddress addr;
    unsigned len = 0;
    static std::optional<IpPrefix> parse(std::string_view text);
    bool contains(const IpAddress& a) const { return a.in_prefix(addr, len); }
};

struct StaticFilter {
    std::string name;
    Verdict verdict = Verdict::Pass;
    bool allow = false;  // allowlist entry: overrides every other verdict
    uint8_t proto = 0;   // 0 = any
    std::optional<IpPrefix> client;
    std::optional<IpPrefix> server;
    uint16_t client_port = 0;  // 0 = any
    uint16_t server_port = 0;
    uint64_t after_bytes = 0;  // apply once the flow carried this many bytes (both directions)
};

class StaticFilterTable {
  public:
    StaticFilterTable() = default;
    explicit StaticFilterTable(std::vector<StaticFilter> filters) : filters_(std::move(filters)) {}

    // Index of the first filter matching the flow's endpoints, or nullopt.
    std::optional<uint16_t> match(uint8_t proto, const IpAddress& client, uint16_t client_port,
                                  const IpAddress& server, uint16_t server_port) const;
    const StaticFilter& operator[](uint16_t i) const { return filters_[i]; }
    size_t size() const { return filters_.size(); }

  private:
    std::vector<StaticFilter> filters_;
};

}  // namespace sluice
