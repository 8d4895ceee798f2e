// The HTTP/2 stage alone (frames, HPACK, streams, bodies, the transaction stage with the
// shipped rules) over both directions of one connection. Input: chunks of [u8 control][u8
// length][bytes]: control bit 0 picks the direction, bit 1 ends the direction, bit 2 reports a
// gap. Each chunk is an exact-size heap copy so AddressSanitizer sees any overread. Seeds are
// real connections (tests/fuzz/seeds/http2, cut from tests/data/h2 by make-seeds.sh there).
#include <cstring>
#include <memory>

#include "fuzz/fuzz_target.h"
#include "http/message_bodies.h"
#include "http2/http2_inspector.h"
#include "rules/rule_set.h"

namespace {

using namespace sluice;

struct NullSink final : EventSink {
    bool emit(EveOrder, std::string_view json) override { return !json.empty(); }
};

std::shared_ptr<const rules::CompiledRules> packs() {
    static auto compiled = [] {
        rules::RuleSetOptions ro;
        auto rs = rules::load_rule_files({rules::default_rules_dir() + "/packs"}, ro);
        if (!rs.set) __builtin_trap();
        return rules::CompiledRules::compile(
                   std::shared_ptr<const rules::RuleSet>(std::move(rs.set)))
            .rules;
    }();
    return compiled;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static NullSink sink;
    static EveEmitter eve(&sink, 0);
    static RuleInspector rules_inspector(eve, packs());
    static const http::HttpOptions opts = [] {
        http::HttpOptions o;
        o.body_buffers = 4;
        o.body_cap = 2048;
        o.decoders = 1;
        return o;
    }();
    static const http2::Http2Options h2opts = [] {
        http2::Http2Options o;
        o.sessions = 2;
        o.streams = 8;
        o.max_concurrent_streams = 4;
        o.header_buffers = 2;
        o.max_header_bytes = 2048;
        o.max_continuations = 4;
        o.rapid_reset_count = 3;
        o.hpack_memory_mb = 1;
        return o;
    }();
    static TransactionStage txn(eve, opts, &rules_inspector, {}, nullptr);
    static http::MessageBodies bodies(opts, &rules_inspector, txn);
    static http2::Http2Inspector inspector(eve, h2opts, opts, txn, bodies);
    Flow f;
    f.state = FlowState::Established;
    f.app_proto = AppProto::Http2;
    size_t i = 0;
    while (i + 2 <= size) {
        const uint8_t ctl = data[i];
        const size_t len = std::min<size_t>(size - i - 2, data[i + 1]);
        i += 2;
        const Dir d = (ctl & 1) ? Dir::ToClient : Dir::ToServer;
        if (ctl & 4) inspector.on_gap(f, d, ctl >> 3);
        std::unique_ptr<uint8_t[]> chunk(new uint8_t[len ? len : 1]);
        std::memcpy(chunk.get(), data + i, len);
        i += len;
        inspector.on_data(f, d, {chunk.get(), len});
        if (ctl & 2) {
            f.stream[idx(d)].ended = true;
            inspector.on_end(f, d);
        }
    }
    inspector.on_flow_end(f);
    if (inspector.sessions_in_use() != 0 || inspector.streams_in_use() != 0 ||
        bodies.buffers_in_use() != 0)
        __builtin_trap();  // a connection that ended holds nothing
    return 0;
}
