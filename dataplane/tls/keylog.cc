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

SecretStore::LineResult SecretStore::add_line(std::string_view line) {
    std::string_view rest = line;
    const std::string_view label = next_field(rest);
    if (label.empty() || label.front() == '#') return LineResult::Ignored;
    const std::string_view random_hex = next_field(rest);
    const std::string_view secret_hex = next_field(rest);
    if (random_hex.empty() || secret_hex.empty() || !next_field(rest).empty())
        return LineResult::Malformed;
    SessionSecrets::Secret SessionSecrets::*field = nullptr;
    if (label == "CLIENT_RANDOM")
        field = &SessionSecrets::master;
    else if (label == "CLIENT_HANDSHAKE_TRAFFIC_SECRET")
        field = &SessionSecrets::client_handshake;
    else if (label == "SERVER_HANDSHAKE_TRAFFIC_SECRET")
        field = &SessionSecrets::server_handshake;
    else if (label == "CLIENT_TRAFFIC_SECRET_0")
        field = &SessionSecrets::client_traffic;
    else if (label == "SERVER_TRAFFIC_SECRET_0")
        field = &SessionSecrets::server_traffic;
    else
        return LineResult::Ignored;  // EXPORTER_SECRET, EARLY_*: not needed
    uint8_t random[32];
    size_t rlen = 0;
    if (!unhex(random_hex, random, sizeof random, rlen) || rlen != 32) return LineResult::Malformed;
    SessionSecrets::Secret secret;
    size_t slen = 0;
    if (!unhex(secret_hex, secret.bytes.data(), secret.bytes.size(), slen) || slen < 32)
        return LineResult::Malformed;
    if (field == &SessionSecrets::master && slen != 48) return LineResult::Malformed;
    secret.len = static_cast<uint8_t>(slen);
    std::string key(reinterpret_cast<const char*>(random), 32);
    auto [it, inserted] = entries_.try_emplace(key);
    if (inserted) {
        order_.push_back(key);
        while (entries_.size() > capacity_) {
            auto old = entries_.find(order_.front());
            OPENSSL_cleanse(&old->second, sizeof old->second);
            entries_.erase(old);
            order_.pop_front();
        }
    }
    it->second.*field = secret;
    OPENSSL_cleanse(&secret, sizeof secret);
    return LineResult::Added;
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
