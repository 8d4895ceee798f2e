// Why a stopped request got TCP resets instead of an HTTP answer (counted per reason).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

enum class AnswerFallback : uint8_t {
    Configured,  // answers.mode reset, or the decision says answer: reset
    TlsNoKeys,   // an encrypted connection sluice does not decrypt (no secrets, no session)
    TlsState,    // decrypted, but the server's record state is uncertain (mid-record, failed)
    Http2,       // HTTP/2: the server's direction mid-frame or its connection not parsed
    NoSession,   // every answer slot of the worker is busy
    NoLink,      // no link header was seen to address the frames with
    Sequence,    // the connection's sequence numbers are not known (picked up mid-stream)
    Count
};
constexpr size_t kAnswerFallbacks = static_cast<size_t>(AnswerFallback::Count);
std::string_view answer_fallback_name(AnswerFallback f);

}  // namespace sluice
