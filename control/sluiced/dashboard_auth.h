// Who may see the dashboard (the read role): a browser whose client certificate the access
// policy grants read or more, or one that signed in with the dashboard token. The token is a
// file's first line (at least 32 characters); only its SHA-256 is kept, the text is wiped.
// Signing in opens a session: a random 256-bit id in a Secure, HttpOnly, SameSite=Strict
// cookie, of which sluiced keeps the SHA-256 and an expiry (at most kMaxSessions; the oldest
// goes first). Failed sign-ins are limited per minute for everyone together, so the token
// cannot be guessed at speed.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace sluice::control {

class DashboardAuth {
  public:
    static constexpr size_t kMaxSessions = 256;
    static constexpr size_t kMinTokenChars = 32;
    static constexpr int kFailuresPerMinute = 20;
    using Clock = std::chrono::steady_clock;

    bool load_token(const std::string& path, std::string& error);
    bool has_token() const { return has_token_; }
    bool token_ok(std::string_view candidate) const;  // constant time in the token's length
    // A sign-in attempt may be tried now (false: too many failures this minute).
    bool may_try();
    void failed();
    // A new session's id (hex), valid for `ttl`.
    std::string open_session(std::chrono::seconds ttl = std::chrono::hours(12));
    bool session_ok(std::string_view id);
    void close_session(std::string_view id);
    size_t sessions() const;

  private:
    std::array<uint8_t, 32> token_hash_{};
    bool has_token_ = false;
    mutable std::mutex mu_;                              // below
    std::map<std::string, Clock::time_point> sessions_;  // SHA-256 (hex) of the id -> expiry
    Clock::time_point window_start_{};
    int failures_ = 0;
};

}  // namespace sluice::control
