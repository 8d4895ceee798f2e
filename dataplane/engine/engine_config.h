// Settings of the inspection engine (one copy per worker, immutable while running).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "answer/answer_options.h"
#include "decode/decoder.h"
#include "flow/flow_hash.h"
#include "flow/flow_table.h"
#include "http/http_inspector.h"
#include "http2/http2_options.h"
#include "normalize/tcp_normalizer.h"
#include "quic/quic_options.h"
#include "rules/compiled_rules.h"
#include "tls/keylog.h"
#include "tls/tls_inspector.h"
#include "verdict/static_filter.h"

namespace sluice {

enum class MalformedPolicy : uint8_t { Drop, Pass };
enum class FragmentPolicy : uint8_t { Drop, Reassemble };

struct EngineConfig {
    uint32_t flow_capacity = 65536;  // per worker
    // Keys the flow hash (table buckets and worker choice); the runtime draws a random one for
    // live runs unless configured, offline runs keep this fixed one (deterministic output).
    FlowHashKey flow_hash_key = FlowHashKey::fixed();
    FlowTimeouts timeouts;
    uint32_t reassembly_nodes = 16384;               // per worker: ~24 MiB of out-of-order data
    uint32_t reassembly_per_direction = 256 * 1024;  // bytes buffered per flow direction
    MalformedPolicy malformed = MalformedPolicy::Drop;
    FragmentPolicy fragments = FragmentPolicy::Drop;
    NormalizeOptions normalize;  // what a host would discard: checksums, TCP (normalize/)
    DecodeOptions decode;        // TSO lengths (offline captures only)
    StaticFilterTable filters;
    std::string dump_streams_dir;  // empty: off (dumps hold customer content)
    bool eve_flow_records = true;
    tls::TlsOptions tls;  // handshake buffers, decryption sessions, waiting for secrets
    // TLS session secrets (key log); read-only while workers run. Null: no decryption.
    std::shared_ptr<const tls::SecretStore> tls_secrets;
    http::HttpOptions http;             // sessions, buffers, body cap, smuggling verdict
    http2::Http2Options http2;          // connections, streams, limits, abuse verdict
    quic::QuicOptions quic;             // QUIC Initial visibility, pass or block
    account::IdentityOptions accounts;  // credential sources and the account-id secret
    // The compiled rule set (shared read-only by all workers). Null: no rule inspection.
    std::shared_ptr<const rules::CompiledRules> rules;
    AnswerOptions answers;  // what a client whose request is stopped is sent
};

}  // namespace sluice
