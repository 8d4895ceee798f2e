#include "account/identity.h"

#include <yaml-cpp/yaml.h>

#include <cstring>

namespace sluice::account {

namespace {

// Public on purpose: only a stand-in until a deployment sets accounts.secret.
constexpr std::string_view kDefaultSecret = "sluice-default-account-secret-change-me";

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The value of cookie `name` in a Cookie header, or empty.
std::string_view cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const size_t semi = header.find(';');
        std::string_view pair = trim(header.substr(0, semi));
        const size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
        if (semi == std::string_view::npos) break;
        header.remove_prefix(semi + 1);
    }
    return {};
}

// The domain of the first "email": "x@domain" in a JSON body (no full parse needed).
std::string_view email_domain(std::string_view body) {
    size_t k = body.find("\"email\"");
    if (k == std::string_view::npos) return {};
    k = body.find(':', k + 7);
    if (k == std::string_view::npos) return {};
    k = body.find('"', k + 1);
    if (k == std::string_view::npos) return {};
    const size_t end = body.find('"', k + 1);
    if (end == std::string_view::npos) return {};
    const std::string_view addr = body.substr(k + 1, end - k - 1);
    const size_t at = addr.rfind('@');
    if (at == std::string_view::npos || at + 1 >= addr.size() || addr.size() > 254) return {};
    return addr.substr(at + 1);
}

}  // namespace

std::string_view source_name(CredentialSource s) {
    switch (s) {
        case CredentialSource::None:
            return "none";
        case CredentialSource::ApiKey:
            return "x-api-key";
        case CredentialSource::Bearer:
            return "bearer";
        case CredentialSource::Cookie:
            return "cookie";
        case CredentialSource::OrgHeader:
            return "organization";
        case CredentialSource::EmailDomain:
            return "email_domain";
    }
    return "?";
}

std::optional<CredentialSource> credential_source_from(std::string_view name) {
    for (CredentialSource s :
         {CredentialSource::ApiKey, CredentialSource::Bearer, CredentialSource::Cookie})
        if (name == source_name(s)) return s;
    return std::nullopt;
}

size_t make_hint(std::string_view c, std::span<char> out) {
    // Prefix through the third '-' when it falls within the first 16 characters, else 4.
    size_t cut = std::min<size_t>(4, c.size());
    for (size_t i = 0, dashes = 0; i < c.size() && i < 16; ++i)
        if (c[i] == '-' && ++dashes == 3) {
            cut = i + 1;
            break;
        }
    // Never more than a third of the credential shows, prefix and tail together (short
    // credentials keep less of both).
    const size_t budget = c.size() / 3;
    const size_t tail = c.size() >= 12 ? std::min<size_t>(4, budget / 2) : 0;
    cut = std::min(cut, budget - tail);
    constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
    if (cut + kEllipsis.size() + tail > out.size()) return 0;
    std::memcpy(out.data(), c.data(), cut);
    std::memcpy(out.data() + cut, kEllipsis.data(), kEllipsis.size());
    std::memcpy(out.data() + cut + kEllipsis.size(), c.data() + c.size() - tail, tail);
    return cut + kEllipsis.size() + tail;
}

std::string_view account_secret_or_default(std::string_view configured) {
    return configured.empty() ? kDefaultSecret : configured;
}

Identifier::Identifier(const IdentityOptions& opts)
    : opts_(opts),
      mac_(as_bytes(account_secret_or_default(opts.secret))),
      default_secret_(opts.secret.empty()) {
    opts_.secret.clear();  // the MAC holds the key's derived state; drop the copy
}

std::array<char, 16> Identifier::id_of(std::string_view credential) const {
    const auto m = mac_.mac(as_bytes(credential));
    std::array<char, 16> out{};
    to_hex(std::span<const uint8_t>(m.data(), 8), out);
    return out;
}

AccountRef Identifier::make(CredentialSource src, std::string_view credential,
                            std::string_view hint_of) const {
    AccountRef r;
    r.source = src;
    r.id = id_of(credential);
    if (src == CredentialSource::EmailDomain || src == CredentialSource::OrgHeader) {
        // Not secrets: the domain or organisation shows as is (bounded).
        const size_t n = std::min(hint_of.size(), r.hint.size() - 1);
        r.hint[0] = '@';
        std::memcpy(r.hint.data() + 1, hint_of.data(), n);
        r.hint_len = static_cast<uint8_t>(n + 1);
    } else {
        r.hint_len = static_cast<uint8_t>(make_hint(credential, r.hint));
    }
    return r;
}

namespace {

// The credential one header field carries for `src`, or empty.
std::string_view credential_in(CredentialSource src, const http::Header& h,
                               const IdentityOptions& opts) {
    switch (src) {
        case CredentialSource::ApiKey:
            return http::iequals(h.name, "x-api-key") ? trim(h.value) : std::string_view();
        case CredentialSource::Bearer:
            if (http::iequals(h.name, "authorization") && h.value.size() > 7 &&
                http::iequals(h.value.substr(0, 7), "bearer "))
                return trim(h.value.substr(7));
            return {};
        case CredentialSource::Cookie:
            if (http::iequals(h.name, "cookie"))
                for (const std::string& name : opts.cookie_names)
                    if (std::string_view v = cookie_value(h.value, name); !v.empty()) return v;
            return {};
        default:
            return {};
    }
}

}  // namespace

AccountRef Identifier::identify(std::span<const http::Header> headers, std::string_view target,
                                std::string_view body) const {
    // Credentials in the configured precedence (the upstream API's: whom it bills is whom the
    // request is attributed to); every other credential present makes the request ambiguous.
    AccountRef found;
    std::string_view first;
    for (CredentialSource src : opts_.precedence) {
        for (const http::Header& h : headers) {
            const std::string_view v = credential_in(src, h, opts_);
            if (v.empty()) continue;
            if (!found.present()) {
                found = make(src, v, v);
                first = v;
            } else if (v != first) {
                found.ambiguous = true;  // a second, different credential
            } else {
                found.repeated = true;  // the same credential twice
            }
        }
    }
    if (found.present()) return found;
    for (const std::string& name : opts_.org_headers)
        for (const http::Header& h : headers)
            if (http::iequals(h.name, name)) {
                if (!h.value.empty()) return make(CredentialSource::OrgHeader, h.value, h.value);
                break;  // the first field of that name decides, as MessageHead::find does
            }
    const std::string_view path = target.substr(0, target.find('?'));
    for (const std::string& p : opts_.signup_paths)
        if (path.starts_with(p) || path.ends_with(p))
            if (std::string_view d = email_domain(body); !d.empty())
                return make(CredentialSource::EmailDomain, d, d);
    return {};
}

bool load_client_claims(const std::string& path, std::vector<ClientClaim>& out,
                        std::string& error) {
    try {
        const YAML::Node root = YAML::LoadFile(path);
        auto where = [&](const YAML::Node& n) {
            return path + ":" + std::to_string(n.Mark().line + 1) + ":" +
                   std::to_string(n.Mark().column + 1) + ": ";
        };
        const YAML::Node list = root["clients"];
        if (!list || !list.IsSequence()) {
            error = path + ": expected 'clients:' with a list of {name, user_agent_prefixes, ja4}";
            return false;
        }
        out.clear();
        for (const auto& n : list) {
            ClientClaim c;
            for (const auto& kv : n) {
                const std::string k = kv.first.as<std::string>();
                if (k == "name") {
                    c.name = kv.second.as<std::string>();
                } else if (k == "user_agent_prefixes" || k == "ja4") {
                    if (!kv.second.IsSequence()) {
                        error = where(kv.second) + k + " must be a list";
                        return false;
                    }
                    auto& dst = k == "ja4" ? c.ja4 : c.user_agent_prefixes;
                    for (const auto& x : kv.second) dst.push_back(x.as<std::string>());
                } else {
                    error = where(kv.first) + "unknown key '" + k +
                            "' (name, user_agent_prefixes, ja4)";
                    return false;
                }
            }
            if (c.user_agent_prefixes.empty() || c.ja4.empty()) {
                error = where(n) + "a client needs user_agent_prefixes and ja4";
                return false;
            }
            out.push_back(std::move(c));
        }
        return true;
    } catch (const YAML::Exception& e) {
        error = path + ":" + std::to_string(e.mark.line + 1) + ":" +
                std::to_string(e.mark.column + 1) + ": " + e.msg;
        return false;
    }
}

}  // namespace sluice::account
