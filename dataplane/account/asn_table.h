// Prefix-to-ASN table for the distinct-ASN signal. CSV, one prefix per line:
//
//   # prefix,asn[,name]       (comments and blank lines ignored)
//   203.0.113.0/24,64500,Example Residential ISP
//   2001:db8::/32,64501
//
// Longest prefix wins. Build one from a routing-table dump (e.g. a pyasn or RouteViews
// prefix2as export: "prefix<TAB>length<TAB>asn" converts with one awk line, docs/detection.md).
// Errors name file:line.
#pragma once

#include <optional>
#include <string>

#include "common/prefix_map.h"

namespace sluice::account {

class AsnTable {
  public:
    static std::optional<AsnTable> parse(const std::string& text, const std::string& file,
                                         std::string& error);
    static std::optional<AsnTable> load(const std::string& path, std::string& error);
    // 0: no prefix covers the address.
    uint32_t lookup(const IpAddress& a) const {
        const uint32_t* v = map_.find(a);
        return v ? *v : 0;
    }
    size_t size() const { return map_.size(); }

  private:
    PrefixMap<uint32_t> map_;
};

}  // namespace sluice::account
