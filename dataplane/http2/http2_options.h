// The HTTP/2 stage's options (the `http2:` config section): pools, per-connection limits and
// the abuse thresholds, each with the default docs/dataplane.md states.
#pragma once

#include <cstdint>

#include "verdict/verdict.h"

namespace sluice::http2 {

struct Http2Options {
    bool enabled = true;
    uint32_t sessions = 1024;               // HTTP/2 connections per worker
    uint32_t streams = 4096;                // streams tracked at once per worker
    uint32_t max_concurrent_streams = 128;  // per connection; more are decoded, not tracked
    uint32_t max_header_bytes = 16384;      // decoded header list per block (HPACK bombs)
    uint32_t header_buffers = 256;    // request header lists held at once (until the request ends)
    uint32_t max_continuations = 32;  // CONTINUATION frames per header block
    // Rapid reset (CVE-2023-44487): more than rapid_reset_count streams reset by the client
    // within rapid_reset_window_ms of their opening, on one connection.
    uint32_t rapid_reset_count = 100;
    uint32_t rapid_reset_window_ms = 1000;
    uint32_t hpack_memory_mb = 64;  // every connection's HPACK tables together, per worker
    // Body buffers one connection's streams may hold at once (of http.body_buffers, shared by
    // the worker): past it a body is not kept and h2_body_quota applies abuse_action.
    uint32_t body_buffers_per_connection = 16;
    // What an abuse anomaly (too many streams, floods, rapid reset, oversize frames, protocol
    // errors) does to the flow: alert (the default) or drop; the runtime makes it drop on
    // inline ports unless configured. Smuggling shapes follow http.smuggling.
    Verdict abuse_verdict = Verdict::Alert;
};

}  // namespace sluice::http2
