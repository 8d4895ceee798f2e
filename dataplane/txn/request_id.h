// The id sluice gives a request it stops: in the answer's request-id header and the request's
// EVE records, so support can find the decision a customer quotes. Made from a per-run salt,
// the worker and a per-worker count through a bijective mix (no two requests of a run share
// one; nothing about the client is in it).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "common/hash.h"

namespace sluice {

inline uint64_t request_tag(uint64_t salt, uint32_t worker, uint64_t count) {
    return mix64(salt ^ (uint64_t{worker} << 48 | (count & 0xffffffffffffull)));
}

struct RequestIdText {
    std::array<char, 20> text;  // "req_" and 16 hex digits
    std::string_view view() const { return {text.data(), text.size()}; }
};

inline RequestIdText request_id_text(uint64_t tag) {
    static constexpr char kHex[] = "0123456789abcdef";
    RequestIdText r{{'r', 'e', 'q', '_'}};
    for (int i = 0; i < 16; ++i) r.text[4 + i] = kHex[(tag >> (60 - 4 * i)) & 15];
    return r;
}

}  // namespace sluice
