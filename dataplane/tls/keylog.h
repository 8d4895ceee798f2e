// TLS session secrets from NSS key log lines (SSLKEYLOGFILE), keyed by client random.
// Secrets live in memory only: sluice never writes them anywhere, and they are wiped when
// dropped. Capacity is bounded; the oldest entries go first.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::tls {

struct SessionSecrets {
    static constexpr size_t kMax = 48;
    struct Secret {
        std::array<uint8_t, kMax> bytes{};
        uint8_t len = 0;
        bool present() const { return len != 0; }
        std::span<const uint8_t> span() const { return {bytes.data(), len}; }
    };
    Secret master;            // CLIENT_RANDOM (TLS 1.2)
    Secret client_handshake;  // CLIENT_HANDSHAKE_TRAFFIC_SECRET
    Secret server_handshake;  // SERVER_HANDSHAKE_TRAFFIC_SECRET
    Secret client_traffic;    // CLIENT_TRAFFIC_SECRET_0
    Secret server_traffic;    // SERVER_TRAFFIC_SECRET_0
};

// One secret from one key log line, as it travels to a worker (fixed size, no allocation).
struct SecretUpdate {
    enum class Field : uint8_t {
        Master,
        ClientHandshake,
        ServerHandshake,
        ClientTraffic,
        ServerTraffic
    };
    std::array<uint8_t, 32> client_random{};
    Field field = Field::Master;
    SessionSecrets::Secret secret;
};

class SecretStore {
  public:
    enum class LineResult { Added, Ignored, Malformed };

    explicit SecretStore(size_t capacity = 1 << 20) : capacity_(capacity) {}
    ~SecretStore();
    SecretStore(const SecretStore&) = delete;
    SecretStore& operator=(const SecretStore&) = delete;

    // One key log line ("LABEL <client_random hex> <secret hex>"). Comments and labels
    // sluice does not use are Ignored.
    LineResult add_line(std::string_view line);
    // Parses a line without storing it (Added means `out` holds a secret).
    static LineResult parse_line(std::string_view line, SecretUpdate& out);
    // Stores one secret; `now_ns` is when it arrived (for expire()).
    void apply(const SecretUpdate& u, uint64_t now_ns = 0);
    // Drops entries that arrived more than `ttl_ns` before `now_ns`.
    size_t expire(uint64_t now_ns, uint64_t ttl_ns);
    // Loads a key log file; returns an error ("path:line: ...") or "" and counts lines added.
    std::string load_file(const std::string& path, size_t& added);

    const SessionSecrets* find(std::span<const uint8_t> client_random) const;
    size_t size() const { return entries_.size(); }

  private:
    size_t capacity_;
    std::unordered_map<std::string, SessionSecrets> entries_;
    std::deque<std::pair<std::string, uint64_t>> order_;  // insertion order and time
};

}  // namespace sluice::tls
