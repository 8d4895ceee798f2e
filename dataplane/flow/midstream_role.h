// Which side a payload came from when a TCP connection is picked up mid-stream (its handshake
// unseen): a request line, the HTTP/2 preface or a TLS ClientHello is the client speaking; a
// status line or a TLS ServerHello is the server. Ports only decide when the content does
// not (a capture that starts with a server's bytes would otherwise swap the roles and leave
// the session uninspected).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace sluice {

enum class PayloadRole : uint8_t { Client, Server };
std::optional<PayloadRole> payload_role(std::span<const uint8_t> payload);

}  // namespace sluice
