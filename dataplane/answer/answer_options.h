// The `answers:` config section (docs/dataplane.md): whether stopped requests are answered
// with HTTP 403/429 or reset, the sender's pool and retransmission bounds, and the templates.
#pragma once

#include <cstdint>
#include <memory>

#include "answer/answer_templates.h"

namespace sluice {

struct AnswerOptions {
    bool http = true;              // answer stopped requests (false: reset them instead)
    uint32_t sessions = 256;       // answers in progress at once, per worker
    uint32_t max_retransmits = 6;  // then the client gets an RST
    uint32_t rto_ms = 300;         // first retransmission timeout; doubles each time
    std::shared_ptr<const AnswerTemplates> templates;  // null: the built-in templates
};

}  // namespace sluice
