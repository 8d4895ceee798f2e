// Every counter one worker's pipeline keeps, as one value: what a worker publishes for other
// threads to read (common/snapshot_slot.h) instead of letting them read its live counters.
#pragma once

#include "engine/counters.h"
#include "http/http_inspector.h"
#include "http2/h2_counters.h"
#include "inspect/rule_inspector.h"
#include "quic/quic_counters.h"
#include "reassembly/tcp_reassembler.h"
#include "tls/tls_inspector.h"

namespace sluice {

struct PipelineStats {
    WorkerCounters engine;
    ReassemblyCounters reassembly;
    tls::TlsCounters tls;
    http::HttpCounters http;
    http2::Http2Counters http2;
    quic::QuicCounters quic;
    RuleCounters rules;
    rules::MatcherCounters matcher;
};

}  // namespace sluice
