// Application protocol recognised from stream content (never from the port).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice {

enum class AppProto : uint8_t { Unknown = 0, Http, Tls, Http2, Ssh, Socks, Failed, Quic };

std::string_view app_proto_name(AppProto p);

// Outcome of looking at the first bytes of a direction.
struct ProtoGuess {
    AppProto proto = AppProto::Unknown;
    // Bytes of a preamble (e.g. a SOCKS handshake) to skip before the real protocol starts.
    // Only meaningful when proto == Socks.
    uint32_t preamble = 0;
    bool need_more = false;
};

// Guesses the protocol from the first bytes a client sent. Pure function, no state.
ProtoGuess guess_client_proto(std::span<const uint8_t> first_bytes);

}  // namespace sluice
