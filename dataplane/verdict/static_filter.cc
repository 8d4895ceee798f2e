#include "verdict/static_filter.h"

#include <charconv>

namespace sluice {

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
    const auto slash = text.find('/');
    const auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    IpPrefix p{*addr, static_cast<unsigned>(addr->size() * 8)};
    if (slash != std::string_view::npos) {
        const auto len_text = text.substr(slash + 1);
        unsigned len = 0;
        auto r = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
        if (r.ec != std::errc() || r.ptr != len_text.data() + len_text.size() || len > p.len)
            return std::nullopt;
        p.len = len;
    }
    return p;
}

std::optional<uint16_t> StaticFilterTable::match(uint8_t proto, const IpAddress& client,
                                                 uint16_t client_port, const IpAddress& server,
                                                 uint16_t server_port) const {
    for (size_t i = 0; i < filters_.size(); ++i) {
        const StaticFilter& f = filters_[i];
        if (f.proto != 0 && f.proto != proto) continue;
        if (f.client && !f.client->contains(client)) continue;
        if (f.server && !f.server->contains(server)) continue;
        if (f.client_port != 0 && f.client_port != client_port) continue;
        if (f.server_port != 0 && f.server_port != server_port) continue;
        return static_cast<uint16_t>(i);
    }
    return std::nullopt;
}

}  // namespace sluice
