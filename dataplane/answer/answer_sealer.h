// What turns an answer into the bytes of an encrypted connection: TLS records sealed as the
// server would seal them (tls/tls_inspector.h implements it with the keys its decryption
// follows). The answer's TCP sender asks it when it opens an answer and when it sends one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "answer/answer_fallback.h"

namespace sluice {

struct Flow;

class AnswerSealer {
  public:
    virtual ~AnswerSealer() = default;
    // Nothing when the connection is decrypted, so an answer can be sealed when it is sent;
    // else why not. (Secrets that arrive late decrypt the client's queued request before the
    // server's queued records: whether the server's keys are in use is known only at seal().)
    virtual std::optional<AnswerFallback> can_seal(const Flow& f) const = 0;
    // Writes `answer` as the server's application data - its first `split` bytes in one
    // record, the rest (if any) in another - then its close_notify, into `out`; returns the
    // length and in `split_end` where the first record ends, or 0 with `why` set (no keys in
    // use, mid-record, failed).
    virtual size_t seal(const Flow& f, std::span<const uint8_t> answer, size_t split,
                        std::span<uint8_t> out, size_t& split_end, AnswerFallback& why) = 0;
};

}  // namespace sluice
