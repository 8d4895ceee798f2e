#include "http/message_bodies.h"

#include <algorithm>
#include <cstring>

namespace sluice::http {

using rules::Buffer;

namespace {

constexpr uint32_t kNil = BufferPool::kNil;
constexpr size_t kSide = kBodySide;
// Below this much decoded output the ratio is not judged: small JSON documents compress well.
constexpr uint64_t kRatioFloor = 256 * 1024;

}  // namespace

MessageBodies::MessageBodies(const HttpOptions& opts, RuleInspector* rules, TransactionStage& txn)
    : opts_(opts),
      rules_(rules),
      txn_(txn),
      bodies_(opts.body_buffers, opts.body_cap + kSide + kJsonPadding),
      decoders_(opts.decoders) {}

bool MessageBodies::reclaim(const Flow& asking, Held what, Holder& first) {
    if (first.reclaim(asking, what)) return true;
    for (size_t i = 0; i < n_holders_; ++i)
        if (holders_[i] != &first && holders_[i]->reclaim(asking, what)) return true;
    return false;
}

void MessageBodies::append(Flow& f, Dir d, DirBody& b, Transaction* sse_txn,
                           std::span<const uint8_t> bytes, Holder& holder) {
    b.wire += bytes.size();
    if (b.buf == kNil) {
        if (b.overflow) return;  // no buffer could be had: counted once
        b.buf = bodies_.alloc();
        if (b.buf == kNil && reclaim(f, Held::Body, holder)) b.buf = bodies_.alloc();
        if (b.buf == kNil) {
            ++ctr_.body_buffers_exhausted;
            b.overflow = true;
            return;
        }
        auto decoder = [&](Coding c) {
            uint32_t id = decoders_.acquire(c);
            if (id == BodyDecoders::kNil && reclaim(f, Held::Decoder, holder))
                id = decoders_.acquire(c);
            if (id == BodyDecoders::kNil) ++ctr_.decoders_exhausted;
            return id;
        };
        if (b.coding == Coding::Gzip || b.coding == Coding::Deflate) {
            b.dec = decoder(b.coding);
            if (b.dec != BodyDecoders::kNil && b.coding2 != Coding::Identity) {
                b.dec2 = decoder(b.coding2);
                if (b.dec2 == BodyDecoders::kNil) {  // both layers or none
                    decoders_.release(b.dec);
                    b.dec = BodyDecoders::kNil;
                }
            }
        }
        if (rules_ != nullptr)
            b.stream = rules_->open_body_stream(
                f, d == Dir::ToServer ? Buffer::HttpRequestBody : Buffer::HttpResponseBody);
    }
    const bool encoded = b.coding == Coding::Gzip || b.coding == Coding::Deflate;
    if (b.decode_capped) return;
    if (!encoded || b.decode_failed) {
        store(b, d, sse_txn, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
        return;
    }
    if (b.dec == BodyDecoders::kNil) return;  // cannot decode: the body is not inspected
    const std::span<const uint8_t> whole = bytes;
    std::span<const uint8_t> in = bytes;
    char out[8192];
    char out2[8192];
    while (!in.empty()) {
        size_t produced = 0;
        const auto r = decoders_.inflate(b.dec, in, out, produced);
        std::span<const char> decoded(out, produced);
        if (b.dec2 != BodyDecoders::kNil && produced > 0 && r != BodyDecoders::Result::Error) {
            // The inner layer: everything the outer one produced goes through it.
            std::span<const uint8_t> mid(reinterpret_cast<const uint8_t*>(out), produced);
            decoded = {};
            while (!mid.empty()) {
                size_t p2 = 0;
                const auto r2 = decoders_.inflate(b.dec2, mid, out2, p2);
                if (p2 > 0) store(b, d, sse_txn, {out2, p2});
                if (r2 == BodyDecoders::Result::Error) {
                    // The inner layer is not what it says: from here on the outer layer's
                    // output is the body.
                    decoders_.release(b.dec2);
                    b.dec2 = BodyDecoders::kNil;
                    ++ctr_.decompression_failed;
                    holder.body_anomaly(f, d, Anomaly::DecompressionFailed);
                    decoded = {reinterpret_cast<const char*>(mid.data()), mid.size()};
                    break;
                }
                if (r2 == BodyDecoders::Result::End || p2 == 0) break;
            }
        }
        if (!decoded.empty()) store(b, d, sse_txn, decoded);
        if (r == BodyDecoders::Result::Error) {
            // Declared compressed, not compressed (or corrupt from here on): what a server or
            // client might still act on is inspected as sent - from the body's first byte if
            // nothing decoded, else from where decoding failed.
            b.decode_failed = true;
            ++ctr_.decompression_failed;
            holder.body_anomaly(f, d, Anomaly::DecompressionFailed);
            const std::span<const uint8_t> raw = b.total == 0 ? whole : in;
            if (!raw.empty())
                store(b, d, sse_txn, {reinterpret_cast<const char*>(raw.data()), raw.size()});
            return;
        }
        if (r == BodyDecoders::Result::End) return;
        if (b.total > opts_.max_decoded_bytes ||
            (b.total > kRatioFloor && b.total / opts_.max_decode_ratio > b.wire)) {
            // A bomb: stop decoding (the message is still framed on its wire bytes), free the
            // decoder for other flows, and say so.
            b.decode_capped = true;
            decoders_.release(b.dec);
            b.dec = BodyDecoders::kNil;
            if (b.dec2 != BodyDecoders::kNil) decoders_.release(b.dec2);
            b.dec2 = BodyDecoders::kNil;
            ++ctr_.decompression_capped;
            holder.body_anomaly(f, d, Anomaly::DecompressionCapped);
            f.verdict.merge(opts_.cap_verdict);
            if (opts_.cap_verdict >= Verdict::Alert) f.alerted = true;
            return;
        }
        if (produced == 0 && !in.empty()) return;  // no progress: wait for more input
    }
}

void MessageBodies::store(DirBody& b, Dir d, Transaction* sse_txn, std::span<const char> bytes) {
    std::span<char> buf = bodies_[b.buf];
    b.total += bytes.size();
    // The whole (decoded) body goes through the Hyperscan stream, not only the kept part.
    if (b.stream != rules::Matcher::kNoStream) rules_->scan_body_stream(b.stream, bytes);
    const size_t room = opts_.body_cap - b.len;
    const size_t take = std::min(room, bytes.size());
    std::memcpy(buf.data() + b.len, bytes.data(), take);
    b.len += static_cast<uint32_t>(take);
    if (take < bytes.size()) b.overflow = true;
    if (d == Dir::ToClient && b.sse) {
        sse_scan(b, sse_txn, bytes);
        return;
    }
    if (d == Dir::ToClient && b.overflow) {
        // Keep the last kSide bytes of a long response: its "usage" comes at the end.
        std::span<const char> rest = bytes.subspan(take);
        char* side = buf.data() + opts_.body_cap;
        if (rest.size() >= kSide) {
            std::memcpy(side, rest.data() + rest.size() - kSide, kSide);
            b.side_len = kSide;
        } else {
            const size_t keep = std::min<size_t>(b.side_len, kSide - rest.size());
            std::memmove(side, side + b.side_len - keep, keep);
            std::memcpy(side + keep, rest.data(), rest.size());
            b.side_len = static_cast<uint32_t>(keep + rest.size());
        }
    }
}

void MessageBodies::sse_scan(DirBody& b, Transaction* t, std::span<const char> bytes) {
    std::span<char> buf = bodies_[b.buf];
    char* side = buf.data() + opts_.body_cap;
    for (char c : bytes) {
        if (c != '\n') {
            if (b.sse_skip) continue;
            if (b.side_len == kSide) {
                b.sse_skip = true;
                continue;
            }
            side[b.side_len++] = c;
            continue;
        }
        std::string_view line(side, b.side_len);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const bool skipped = b.sse_skip;
        b.side_len = 0;
        b.sse_skip = false;
        if (skipped || !line.starts_with("data:") || t == nullptr) continue;
        line.remove_prefix(5);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (line.empty() || line.front() != '{') continue;
        // The event's JSON sits in the side area with the rest of it (and the padding) after.
        const size_t off = static_cast<size_t>(line.data() - buf.data());
        txn_.on_event(*t, buf.subspan(off), line.size());
    }
}

void MessageBodies::release(DirBody& b) {
    if (b.buf != kNil) bodies_.release(b.buf);
    if (b.dec != BodyDecoders::kNil) decoders_.release(b.dec);
    if (b.dec2 != BodyDecoders::kNil) decoders_.release(b.dec2);
    if (b.stream != rules::Matcher::kNoStream) rules_->discard_body_stream(b.stream);
    b = DirBody{};
}

MessageBodyView MessageBodies::view(const DirBody& b) {
    MessageBodyView v;
    if (b.buf != kNil) {
        v.buf = bodies_[b.buf];
        v.present = true;
    }
    v.len = b.len;
    v.side_len = b.side_len;
    v.json = b.json;
    v.sse = b.sse;
    v.overflow = b.overflow;
    v.stream = b.stream;
    return v;
}

void MessageBodies::audit_pools(PoolAudit& a) const {
    a.pool(PoolKind::BodyBuffers, bodies_.count(), bodies_.in_use());
    a.pool(PoolKind::Decoders, decoders_.count(), decoders_.in_use());
}

}  // namespace sluice::http
