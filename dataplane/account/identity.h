// Who sent a request: the credential of an HTTP request (x-api-key, Authorization: Bearer, a
// session cookie, an organisation header; on signup endpoints the submitted email's domain),
// reduced at once to a keyed hash and a masked hint. The raw credential is never stored,
// logged or sent anywhere: account ids are the first 16 hex characters of
// HMAC-SHA256(secret, credential); hints keep the key-type prefix (through the third '-',
// e.g. "sk-ant-api03-", else the first 4 characters) and the last 4 characters.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "http/http_head.h"

namespace sluice::account {

enum class CredentialSource : uint8_t { None, ApiKey, Bearer, Cookie, OrgHeader, EmailDomain };
std::string_view source_name(CredentialSource s);
// x-api-key, bearer, cookie (the credential sources a precedence may list).
std::optional<CredentialSource> credential_source_from(std::string_view name);

struct AccountRef {
    CredentialSource source = CredentialSource::None;
    std::array<char, 16> id{};
    std::array<char, 48> hint{};
    uint8_t hint_len = 0;
    bool ambiguous = false;  // another, different credential came with the request
    bool repeated = false;   // the same credential field twice
    bool present() const { return source != CredentialSource::None; }
    std::string_view id_view() const { return {id.data(), id.size()}; }
    std::string_view hint_view() const { return {hint.data(), hint_len}; }
};

// An official client a user agent can claim to be, and the TLS stacks (JA4) that client
// really uses: a request claiming it from another stack is a client-claim mismatch.
struct ClientClaim {
    std::string name;
    std::vector<std::string> user_agent_prefixes;
    std::vector<std::string> ja4;
};
// Reads the claims file (YAML: clients: [{name, user_agent_prefixes, ja4}]); errors name
// file:line:col.
bool load_client_claims(const std::string& path, std::vector<ClientClaim>& out, std::string& error);

struct IdentityOptions {
    // Cookies that carry a session (first found wins).
    std::vector<std::string> cookie_names = {"sessionKey", "session",
                                             "__Secure-next-auth.session-token"};
    // Headers naming an organisation or workspace (used when no credential is present).
    std::vector<std::string> org_headers = {"anthropic-organization-id", "openai-organization",
                                            "x-workspace-id"};
    // Paths (prefixes) of signup and key-creation endpoints: the account is the submitted
    // email's domain when no credential is present.
    std::vector<std::string> signup_paths = {"/signup", "/register", "/api/signup", "/api/register",
                                             "/api/auth/signup"};
    // Official clients and their TLS stacks (rules/policy/clients.yaml by default).
    std::vector<ClientClaim> client_claims;
    // Which credential identifies a request that carries several: the order the upstream API
    // honours them in (Anthropic's API reads x-api-key, OpenAI's Authorization: Bearer; both
    // ignore session cookies when a key is present). The others make the request ambiguous
    // (an anomaly), never change whom it is attributed to.
    std::vector<CredentialSource> precedence = {CredentialSource::ApiKey, CredentialSource::Bearer,
                                                CredentialSource::Cookie};
    // HMAC key. Empty: a built-in default (ids are then stable but guessable for
    // low-entropy inputs such as email domains: set a secret in production).
    std::string secret;
};

// The key account ids are made with: `configured`, or the built-in default when it is empty.
std::string_view account_secret_or_default(std::string_view configured);

// The masked hint of a credential (see the file comment); returns its length.
size_t make_hint(std::string_view credential, std::span<char> out);

class Identifier {
  public:
    explicit Identifier(const IdentityOptions& opts);
    // `body` is the (possibly truncated) request body, for the email domain on signups.
    // `headers` in order, `target` the request's path and query, `body` its kept body.
    AccountRef identify(std::span<const http::Header> headers, std::string_view target,
                        std::string_view body) const;
    AccountRef identify(const http::MessageHead& req, std::string_view body) const {
        return identify(req.fields(), req.target, body);
    }
    // The id of a credential, as sluicectl's `accounts id --key-stdin` computes it.
    std::array<char, 16> id_of(std::string_view credential) const;
    bool default_secret() const { return default_secret_; }

  private:
    AccountRef make(CredentialSource src, std::string_view credential,
                    std::string_view hint_of) const;
    IdentityOptions opts_;
    HmacSha256 mac_;
    bool default_secret_;
};

}  // namespace sluice::account
