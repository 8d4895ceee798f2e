// The HTTP stage's options (the `http:` config section): pool sizes, caps, what capped or
// reclaimed messages do to their flow, and what the transaction stage records.
#pragma once

#include <cstdint>

#include "verdict/verdict.h"

namespace sluice::http {

struct HttpOptions {
    bool enabled = true;                // false: no HTTP parsing (and no HTTP rules)
    uint32_t sessions = 4096;           // concurrent HTTP flows per worker (max 65535)
    uint32_t max_header_bytes = 16384;  // a longer head is an anomaly
    uint32_t header_buffers = 1024;     // heads being assembled or inspected at once
    uint32_t body_cap = 65536;          // body bytes inspected per message (after decoding)
    uint32_t body_buffers = 256;        // bodies being assembled at once
    uint32_t decoders = 64;             // gzip/deflate bodies being decoded at once
    // Decompression bombs: decoding of one message stops past this many decoded bytes, or
    // once it passed 256 KiB at more than max_decode_ratio times its wire bytes. Counted and
    // recorded; what it does to the flow is cap_verdict.
    uint64_t max_decoded_bytes = 8u << 20;
    uint32_t max_decode_ratio = 100;
    // What a capped decode, or a head over max_header_bytes (HTTP/1 header_too_long, HTTP/2
    // h2_header_list_too_large), does to the flow: alert (report; the default) or drop. The
    // runtime makes it drop on inline ports unless configured, so neither a bomb nor a head
    // padded past the limit can buy an uninspected request.
    Verdict cap_verdict = Verdict::Alert;
    uint32_t prompt_excerpt = 0;  // bytes of llm.prompt in EVE (max 128); 0: never
    // When head buffers, body buffers or decoders run out, the message that has held one
    // longest (at least reclaim_after_ms) gives it up: its direction stops being parsed,
    // counted and recorded (anomaly http_buffer_reclaimed), and its flow gets reclaim_verdict
    // (the runtime makes it drop on inline ports unless configured).
    uint32_t reclaim_after_ms = 1000;
    Verdict reclaim_verdict = Verdict::Alert;
    // What a request-smuggling shape does to the flow (other anomalies are only reported).
    Verdict smuggling_verdict = Verdict::Alert;
    // Which server the appliance protects, for the framing headers servers disagree on
    // (Content-Length / Transfer-Encoding with whitespace before the colon, or folded):
    // generic honours them (as libhtp), nginx and envoy answer such a request 400 and close,
    // so sluice stops reading that connection's requests there too.
    enum class Personality : uint8_t { Generic, Nginx, Envoy };
    Personality personality = Personality::Generic;
    bool eve_http = true;
    // Prompt signatures (SimHash, frame) for the correlator's template links: for requests
    // that raised a rule hit (the shipped policy links only those), for all, or none.
    enum class PromptSignatures : uint8_t { Off, Flagged, All };
    PromptSignatures prompt_signatures = PromptSignatures::Flagged;
};

}  // namespace sluice::http
