#include "tls/keylog.h"

#include <openssl/crypto.h>

#include <fstream>

namespace sluice::tls {
namespace {

bool unhex(std::string_view hex, uint8_t* out, size_t max, size_t& len) {
    if (hex.size() % 2 || hex.size() / 2 > max) return false;
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nib(hex[i]), lo = nib(hex[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
    }
    len = hex.size() / 2;
    return true;
}

std::string_view next_field(std::string_view& s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    size_t n = 0;
    while (n < s.size() && s[n] != ' ' && s[n] != '\t' && s[n] != '\r' && s[n] != '\n') ++n;
    std::string_view f = s.substr(0, n);
    s.remove_prefix(n);
    return f;
}

}  // namespace

SecretStore::~SecretStore() {
    for (auto& [k, v] : entries_) OPENSSL_cleanse(&v, sizeof v);
}

SecretStore::LineResult SecretStore::parse_line(std::string_view line, SecretUpdate& out) {
    std::string_view rest = line;
    const std::string_view label = next_field(rest);
    if (label.empty() || label.front() == '#') return LineResult::Ignored;
    const std::string_view random_hex = next_field(rest);
    const std::string_view secret_hex = next_field(rest);
    if (random_hex.empty() || secret_hex.empty() || !next_field(rest).empty())
        return LineResult::Malformed;
    using F = SecretUpdate::Field;
    if (label == "CLIENT_RANDOM")
        out.field = F::Master;
    else if (label == "CLIENT_HANDSHAKE_TRAFFIC_SECRET")
        out.field = F::ClientHandshake;
    else if (label == "SERVER_HANDSHAKE_TRAFFIC_SECRET")
        out.field = F::ServerHandshake;
    else if (label == "CLIENT_TRAFFIC_SECRET_0")
        out.field = F::ClientTraffic;
    else if (label == "SERVER_TRAFFIC_SECRET_0")
        out.field = F::ServerTraffic;
    else
        return LineResult::Ignored;  // EXPORTER_SECRET, EARLY_*: not needed
    size_t rlen = 0, slen = 0;
    if (!unhex(random_hex, out.client_random.data(), out.client_random.size(), rlen) || rlen != 32)
        return LineResult::Malformed;
    if (!unhex(secret_hex, out.secret.bytes.data(), out.secret.bytes.size(), slen) || slen < 32)
        return LineResult::Malformed;
    if (out.field == F::Master && slen != 48) return LineResult::Malformed;
    out.secret.len = static_cast<uint8_t>(slen);
    return LineResult::Added;
}

void SecretStore::apply(const SecretUpdate& u, uint64_t now_ns) {
    std::string key(reinterpret_cast<const char*>(u.client_random.data()), 32);
    auto [it, inserted] = entries_.try_emplace(key);
    if (inserted) {
        order_.emplace_back(key, now_ns);
        while (entries_.size() > capacity_) {
            auto old = entries_.find(order_.front().first);
            OPENSSL_cleanse(&old->second, sizeof old->second);
            entries_.erase(old);
            order_.pop_front();
        }
    }
    using F = SecretUpdate::Field;
    SessionSecrets& e = it->second;
    switch (u.field) {
        case F::Master:
            e.master = u.secret;
            break;
        case F::ClientHandshake:
            e.client_handshake = u.secret;
            break;
        case F::ServerHandshake:
            e.server_handshake = u.secret;
            break;
        case F::ClientTraffic:
            e.client_traffic = u.secret;
            break;
        case F::ServerTraffic:
            e.server_traffic = u.secret;
            break;
    }
}

size_t SecretStore::expire(uint64_t now_ns, uint64_t ttl_ns) {
    size_t n = 0;
    while (!order_.empty() && order_.front().second + ttl_ns < now_ns) {
        auto it = entries_.find(order_.front().first);
        if (it != entries_.end()) {
            OPENSSL_cleanse(&it->second, sizeof it->second);
            entries_.erase(it);
            ++n;
        }
        order_.pop_front();
    }
    return n;
}

SecretStore::LineResult SecretStore::add_line(std::string_view line) {
    SecretUpdate u;
    const LineResult r = parse_line(line, u);
    if (r == LineResult::Added) apply(u);
    OPENSSL_cleanse(&u, sizeof u);
    return r;
}

std::string SecretStore::load_file(const std::string& path, size_t& added) {
    std::ifstream in(path);
    if (!in) return path + ": cannot read key log";
    std::string line;
    size_t n = 0;
    added = 0;
    while (std::getline(in, line)) {
        ++n;
        const LineResult r = add_line(line);
        OPENSSL_cleanse(line.data(), line.size());
        if (r == LineResult::Malformed)
            return path + ":" + std::to_string(n) + ": not a key log line";
        if (r == LineResult::Added) ++added;
    }
    return "";
}

const SessionSecrets* SecretStore::find(std::span<const uint8_t> client_random) const {
    if (client_random.size() != 32) return nullptr;
    auto it = entries_.find(std::string(reinterpret_cast<const char*>(client_random.data()), 32));
    return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace sluice::tls
