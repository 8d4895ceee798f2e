// Builds the TCP RST frames that a reject/block verdict injects toward each end of a flow.
#pragma once

#include <cstdint>
#include <span>

#include "flow/flow.h"

namespace sluice {

constexpr size_t kMaxRstFrame = 24 + 40 + 20;

// Writes an RST that appears to come from the peer of `toward`'s receiver: toward ToServer
// means from the client to the server. Returns the frame length, or 0 when the flow lacks
// what is needed (no link header seen in either direction).
size_t build_rst(const Flow& flow, Dir toward, LinkType link, std::span<uint8_t, kMaxRstFrame> out);

// Internet checksum helpers (exposed for tests and the packet generator).
uint32_t checksum_partial(std::span<const uint8_t> bytes, uint32_t sum = 0);
uint16_t checksum_fold(uint32_t sum);

}  // namespace sluice
