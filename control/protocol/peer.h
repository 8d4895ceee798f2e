// Who is on the other end of a control connection: a local process (Unix socket: SO_PEERCRED
// and SO_PEERGROUPS) or a mutual-TLS client (its certificate's subject DN and SANs). Roles are
// granted to these identities (control/protocol/access.h); audit records name them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

typedef struct ssl_st SSL;

namespace sluice::control {

struct Peer {
    enum class Kind : uint8_t { Unix, Tls };
    Kind kind = Kind::Unix;
    uint32_t uid = UINT32_MAX, gid = UINT32_MAX, pid = 0;
    std::vector<uint32_t> groups;   // supplementary groups, primary included
    std::string address;            // TLS: the client's IP
    std::string subject;            // TLS: RFC 2253, e.g. "CN=ops,O=Example"
    std::vector<std::string> sans;  // TLS: "DNS:…", "IP:…", "URI:…", "email:…"

    // For audit logs: "uid:1000" or "cert:CN=ops,O=Example".
    std::string principal() const;
    // What per-peer connection limits count: the uid, or the client address.
    std::string limit_key() const;
};

// Fills uid, gid, pid and groups of a connected Unix socket.
Peer unix_peer(int fd);
// The address part of a TCP peer (before the handshake: limits count it).
Peer tcp_peer(int fd);
// After a TLS handshake: the verified client certificate's subject and SANs.
void add_certificate(Peer& peer, SSL* ssl);

}  // namespace sluice::control
