#include "control/sluiced/dashboard_auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/digest.h"
#include "control/protocol/wipe.h"

namespace sluice::control {

namespace {
std::array<uint8_t, 32> sha256_of(std::string_view s) {
    return sha256(as_bytes(s));
}

template <size_t N>
std::string hex(const std::array<uint8_t, N>& a) {
    std::string o(2 * N, '\0');
    to_hex(a, o);
    return o;
}
}  // namespace

bool DashboardAuth::load_token(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = path + ": cannot read the dashboard token";
        return false;
    }
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.size() < kMinTokenChars) {
        wipe(line);
        error = path + ": the dashboard token must be at least " + std::to_string(kMinTokenChars) +
                " characters";
        return false;
    }
    token_hash_ = sha256_of(line);
    has_token_ = true;
    wipe(line);
    return true;
}

bool DashboardAuth::token_ok(std::string_view candidate) const {
    if (!has_token_ || candidate.empty()) return false;
    const auto h = sha256_of(candidate);
    return CRYPTO_memcmp(h.data(), token_hash_.data(), h.size()) == 0;
}

bool DashboardAuth::may_try() {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (now - window_start_ >= std::chrono::minutes(1)) {
        window_start_ = now;
        failures_ = 0;
    }
    return failures_ < kFailuresPerMinute;
}

void DashboardAuth::failed() {
    std::lock_guard lock(mu_);
    ++failures_;
}

std::string DashboardAuth::open_session(std::chrono::seconds ttl) {
    std::array<uint8_t, 32> id{};
    if (RAND_bytes(id.data(), int(id.size())) != 1) return {};
    const std::string id_hex = hex(id);
    const auto h = sha256_of(id_hex);
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    std::erase_if(sessions_, [&](const auto& kv) { return kv.second <= now; });
    if (sessions_.size() >= kMaxSessions) {
        // The one expiring first goes.
        auto oldest =
            std::min_element(sessions_.begin(), sessions_.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        sessions_.erase(oldest);
    }
    sessions_[hex(h)] = now + ttl;
    return id_hex;
}

bool DashboardAuth::session_ok(std::string_view id) {
    if (id.size() != 64) return false;
    const auto h = sha256_of(id);
    std::lock_guard lock(mu_);
    auto it = sessions_.find(hex(h));
    if (it == sessions_.end()) return false;
    if (it->second <= Clock::now()) {
        sessions_.erase(it);
        return false;
    }
    return true;
}

void DashboardAuth::close_session(std::string_view id) {
    const auto h = sha256_of(id);
    std::lock_guard lock(mu_);
    sessions_.erase(hex(h));
}

size_t DashboardAuth::sessions() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
}

}  // namespace sluice::control
