// Stateless L2-L4 decoder over one contiguous frame. Never reads outside `frame`.
#pragma once

#include <span>

#include "decode/decoded_packet.h"

namespace sluice {

struct DecodeOptions {
    // Captures taken on the sending host before TSO/GSO segmentation carry IPv4 total length
    // (IPv6 payload length) 0; accept them with the frame length. Offline only, by option: on
    // a live port such a packet is malformed.
    bool tso_lengths = false;
};

// Decodes `frame` captured with link type `link`. Always returns a packet whose status says
// what was found; on Malformed, `error` names the first problem.
DecodedPacket decode_frame(std::span<const uint8_t> frame, LinkType link,
                           const DecodeOptions& opt = {});

}  // namespace sluice
