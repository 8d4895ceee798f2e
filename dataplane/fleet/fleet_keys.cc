#include "fleet/fleet_keys.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace sluice::fleet {

std::string_view kind_tag(EvidenceKind k) {
    static constexpr std::string_view kTags[] = {"ip", "net", "asn", "ja4", "cnt"};
    return kTags[static_cast<size_t>(k)];
}

std::string evidence_key(std::string_view prefix, std::string_view account, EvidenceKind k,
                         uint64_t window) {
    std::string s;
    s.reserve(prefix.size() + account.size() + 32);
    s += prefix;
    s += "{acct:";
    s += account;
    s += "}:";
    s += kind_tag(k);
    s += ':';
    s += std::to_string(window);
    return s;
}

std::string template_key(std::string_view prefix, std::string_view frame, uint64_t window) {
    std::string s(prefix);
    s += "{tpl:";
    s += frame;
    s += "}:";
    s += std::to_string(window);
    return s;
}

std::string sync_key(std::string_view prefix, std::string_view run) {
    std::string s(prefix);
    s += "{sync:";
    s += run;
    s += "}:done";
    return s;
}

ElementHasher::ElementHasher(std::span<const uint8_t> account_secret) {
    // A key of its own, so an element hash can never equal an account id.
    HmacSha256 parent(account_secret);
    auto derived = parent.mac(as_bytes("sluice fleet elements v1"));
    mac_ = std::make_unique<HmacSha256>(derived);
    OPENSSL_cleanse(derived.data(), derived.size());
    OPENSSL_cleanse(static_cast<void*>(&parent), sizeof(parent));
}

ElementHasher::~ElementHasher() {
    OPENSSL_cleanse(static_cast<void*>(mac_.get()), sizeof(HmacSha256));
}

std::array<char, 16> ElementHasher::hash(char domain, std::span<const uint8_t> element) const {
    uint8_t buf[64];
    const size_t n = std::min(element.size(), sizeof(buf) - 1);
    buf[0] = static_cast<uint8_t>(domain);
    std::copy_n(element.data(), n, buf + 1);
    const auto m = mac_->mac(std::span<const uint8_t>(buf, n + 1));
    std::array<char, 16> out{};
    to_hex(std::span(m.data(), 8), out);
    return out;
}

}  // namespace sluice::fleet
