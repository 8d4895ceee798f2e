#include "account/asn_table.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "verdict/static_filter.h"

namespace sluice::account {

std::optional<AsnTable> AsnTable::parse(const std::string& text, const std::string& file,
                                        std::string& error) {
    AsnTable t;
    std::istringstream in(text);
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        const std::string_view l(line.data() + start, line.size() - start);
        const size_t c1 = l.find(',');
        auto where = [&] { return file + ":" + std::to_string(n) + ": "; };
        if (c1 == std::string_view::npos) {
            error = where() + "expected prefix,asn[,name]";
            return std::nullopt;
        }
        const auto prefix = IpPrefix::parse(l.substr(0, c1));
        if (!prefix) {
            error = where() + "not an IP prefix: '" + std::string(l.substr(0, c1)) + "'";
            return std::nullopt;
        }
        std::string_view asn_text = l.substr(c1 + 1);
        asn_text = asn_text.substr(0, asn_text.find(','));
        if (asn_text.starts_with("AS") || asn_text.starts_with("as")) asn_text.remove_prefix(2);
        uint32_t asn = 0;
        auto r = std::from_chars(asn_text.data(), asn_text.data() + asn_text.size(), asn);
        if (r.ec != std::errc() || r.ptr != asn_text.data() + asn_text.size() || asn == 0) {
            error = where() + "not an AS number: '" + std::string(asn_text) + "'";
            return std::nullopt;
        }
        t.map_.insert(prefix->addr, prefix->len, asn);
    }
    return t;
}

std::optional<AsnTable> AsnTable::load(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = path + ": cannot read the ASN table";
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path, error);
}

}  // namespace sluice::account
