// Community ID v1 flow hash (https://github.com/corelight/community-id-spec), seed 0.
#pragma once

#include <span>

#include "flow/flow_key.h"

namespace sluice {

// Writes "1:<base64 sha1>" into out (at least 31 bytes); returns the length, 0 on failure.
// `src` is the initiator endpoint of the flow. Does not allocate.
size_t community_id(const Endpoint& src, const Endpoint& dst, uint8_t proto, std::span<char> out);

}  // namespace sluice
