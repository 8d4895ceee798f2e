// Stateless L2-L4 decoder over one contiguous frame. Never reads outside `frame`.
#pragma once

#include <span>

#include "decode/decoded_packet.h"

namespace sluice {

// Decodes `frame` captured with link type `link`. Always returns a packet whose status says
// what was found; on Malformed, `error` names the first problem.
DecodedPacket decode_frame(std::span<const uint8_t> frame, LinkType link);

}  // namespace sluice
