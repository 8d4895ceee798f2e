#include "http/http_inspector.h"

#include "account/sketches.h"
#include "common/hash.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

namespace sluice::http {

using rules::Buffer;
using rules::BufferSet;
using rules::InspectPoint;

namespace {

constexpr uint32_t kNil = BufferPool::kNil;
constexpr uint16_t kNoSession = 0xffff;
// Side area after each body buffer's prefix: an SSE line being assembled, or the tail of a
// JSON body longer than the cap (where "usage" sits).
constexpr size_t kSide = 16384;
constexpr size_t kMaxExcerpt = 128;

template <size_t N>
uint8_t copy_field(char (&dst)[N], std::string_view src) {
    const size_t n = std::min(src.size(), N);
    std::memcpy(dst, src.data(), n);
    return static_cast<uint8_t>(n);
}

// Query parameters whose values are credentials; their values never reach a log.
bool secret_param(std::string_view name) {
    for (std::string_view s : {"key", "api_key", "apikey", "api-key", "access_token", "token",
                               "auth", "sig", "signature", "password", "secret", "session"})
        if (iequals(name, s)) return true;
    return false;
}

// Copies the request target into dst, replacing credential parameter values by "REDACTED".
size_t masked_url(std::span<char> dst, std::string_view target) {
    size_t n = 0;
    auto put = [&](std::string_view s) {
        const size_t k = std::min(s.size(), dst.size() - n);
        std::memcpy(dst.data() + n, s.data(), k);
        n += k;
    };
    const size_t q = target.find('?');
    put(target.substr(0, q));
    if (q == std::string_view::npos) return n;
    put("?");
    std::string_view query = target.substr(q + 1);
    bool first = true;
    while (true) {
        const size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        if (!first) put("&");
        first = false;
        const size_t eq = pair.find('=');
        if (eq != std::string_view::npos && secret_param(pair.substr(0, eq))) {
            put(pair.substr(0, eq + 1));
            put("REDACTED");
        } else {
            put(pair);
        }
        if (amp == std::string_view::npos) break;
        query = query.substr(amp + 1);
    }
    return n;
}

bool parse_length(std::string_view v, uint64_t& out) {
    if (v.empty() || v.size() > 15) return false;
    for (char c : v)
        if (c < '0' || c > '9') return false;
    std::from_chars(v.data(), v.data() + v.size(), out);
    return true;
}

std::string_view json_start(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    return s.substr(i);
}

}  // namespace

struct HttpInspector::Txn {
    char method[12];
    char host[64];
    char url[256];
    char ua[128];
    char ctype[48];
    char model[48];
    char excerpt[kMaxExcerpt];
    uint8_t method_len = 0, host_len = 0, ua_len = 0, ctype_len = 0, model_len = 0, excerpt_len = 0;
    uint16_t url_len = 0;
    uint16_t status = 0;
    uint8_t version_minor = 1;
    bool req_complete = false;
    bool has_response = false;
    bool head_request = false;
    bool connect = false;
    bool llm = false;
    bool stream = false;
    bool sse = false;
    bool req_truncated = false;
    bool resp_truncated = false;
    bool req_over_cap = false;
    bool resp_over_cap = false;
    LlmApi api = LlmApi::Unknown;
    int64_t max_tokens = -1;
    uint32_t tools = 0, messages = 0, prompt_bytes = 0;
    LlmUsage usage;
    uint64_t req_body = 0, resp_body = 0;
    account::AccountRef account;  // keyed hash and hint only
    uint64_t prompt_simhash = 0;
    account::PromptFrame prompt_frame;
    uint16_t hit_classes = 0;  // account::RuleClass bits of the alerts it raised
    uint64_t ja4_hash = 0;
    Verdict enforced = Verdict::Pass;  // a decision that stopped this request
    EnforceTarget enforced_target = EnforceTarget::Account;
    uint16_t enforced_status = 0;
};

namespace {
struct DirBody {
    uint32_t buf = kNil;
    uint32_t dec = BodyDecoders::kNil;
    uint32_t len = 0;                             // bytes kept in the prefix (<= body_cap)
    uint32_t side_len = 0;                        // bytes in the side area
    uint32_t stream = rules::Matcher::kNoStream;  // Hyperscan body stream, if rules read it
    uint64_t wire = 0;                            // body bytes as sent
    uint64_t total = 0;                           // body bytes after decoding
    Coding coding = Coding::Identity;
    bool overflow = false;  // more than body_cap
    bool json = false;
    bool sse = false;
    bool sse_skip = false;  // an SSE line longer than the side area is being skipped
    bool gap = false;
    bool decode_failed = false;
    bool decode_capped = false;
};
}  // namespace

struct HttpInspector::Session {
    FramerState fs[2];
    uint32_t head_buf[2] = {kNil, kNil};
    DirBody body[2];
    std::array<Txn, kPipelineDepth> txq;
    uint8_t tx_first = 0, tx_count = 0;
    bool in_use = false;
    bool interim = false;   // the current response is a 1xx
    bool unpaired = false;  // the current response answers no request
    bool req_open = false;  // a request message is in progress (its txn is the last one)
    // The flow holding the session (checked against its id: flow slots are reused) and when
    // each direction's current message took its buffers (reclaim picks the oldest).
    Flow* owner = nullptr;
    uint64_t owner_id = 0;
    uint64_t since_ns[2] = {0, 0};
    Txn& tx(size_t i) { return txq[(tx_first + i) % kPipelineDepth]; }
};

HttpInspector::HttpInspector(EveEmitter& eve, const HttpOptions& opts, RuleInspector* rules,
                             const account::IdentityOptions& identity, const FlowTable* flows)
    : eve_(eve),
      opts_(opts),
      rules_(rules),
      framer_(opts.max_header_bytes),
      sessions_(std::min<uint32_t>(opts.sessions, kNoSession)),
      free_sessions_(static_cast<uint32_t>(sessions_.size())),
      heads_(opts.header_buffers, opts.max_header_bytes),
      bodies_(opts.body_buffers, opts.body_cap + kSide + kJsonPadding),
      decoders_(opts.decoders),
      llm_(std::make_unique<LlmExtractor>(opts.body_cap + kSide, opts.body_cap)),
      identity_(identity),
      claims_(identity.client_claims),
      flows_(flows),
      ja4_(flows != nullptr ? flows->capacity() : 0),
      head_(std::make_unique<MessageHead>()),
      usage_scratch_(kSide + 32 + kJsonPadding) {
    opts_.prompt_excerpt = std::min<uint32_t>(opts_.prompt_excerpt, kMaxExcerpt);
}

HttpInspector::~HttpInspector() = default;

void HttpInspector::on_client_hello(Flow& f, const tls::ClientHello&, const tls::Fingerprints& fp) {
    if (flows_ == nullptr) return;
    Ja4Slot& slot = ja4_[flows_->index_of(f)];
    slot.flow_id = f.flow_id;
    slot.len = static_cast<uint8_t>(std::min(fp.ja4.size(), slot.ja4.size()));
    std::memcpy(slot.ja4.data(), fp.ja4.data(), slot.len);
}

std::string_view HttpInspector::ja4_of(const Flow& f) const {
    if (flows_ == nullptr) return {};
    const Ja4Slot& slot = ja4_[flows_->index_of(f)];
    if (slot.flow_id != f.flow_id || slot.len == 0) return {};
    return {slot.ja4.data(), slot.len};
}

size_t HttpInspector::sessions_in_use() const {
    return static_cast<size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                             [](const Session& s) { return s.in_use; }));
}

void HttpInspector::audit(const Flow& f, PoolAudit& a) const {
    if (f.http_session == kNoSession) return;
    a.claim(PoolKind::HttpSessions, f.http_session, f.flow_id);
    if (f.http_session >= sessions_.size()) return;
    const Session& s = sessions_[f.http_session];
    if (!s.in_use || s.owner != &f || s.owner_id != f.flow_id)
        a.violation(PoolKind::HttpSessions, f.http_session, f.flow_id, "owner names another flow");
    for (size_t d = 0; d < 2; ++d) {
        if (s.head_buf[d] != kNil) a.claim(PoolKind::HeadBuffers, s.head_buf[d], f.flow_id);
        if (s.body[d].buf != kNil) a.claim(PoolKind::BodyBuffers, s.body[d].buf, f.flow_id);
        if (s.body[d].dec != BodyDecoders::kNil)
            a.claim(PoolKind::Decoders, s.body[d].dec, f.flow_id);
    }
}

void HttpInspector::audit_pools(PoolAudit& a) const {
    a.pool(PoolKind::HttpSessions, static_cast<uint32_t>(sessions_.size()), sessions_in_use());
    a.pool(PoolKind::HeadBuffers, heads_.count(), heads_.in_use());
    a.pool(PoolKind::BodyBuffers, bodies_.count(), bodies_.in_use());
    a.pool(PoolKind::Decoders, decoders_.count(), decoders_.in_use());
}

HttpInspector::Session* HttpInspector::session(Flow& f) {
    return f.http_session == kNoSession ? nullptr : &sessions_[f.http_session];
}

HttpInspector::Session* HttpInspector::start_session(Flow& f, std::span<const uint8_t> first) {
    // HTTP/1 requests start with a method token; HTTP/2 with "PRI". Anything else (or server
    // bytes first) is not ours.
    if (first.empty() || first[0] < 'A' || first[0] > 'Z') {
        f.inspect_flags |= inspect_flag::kNotHttp;
        return nullptr;
    }
    const uint32_t id = free_sessions_.alloc();
    if (id == IndexPool::kNil) {
        ++ctr_.sessions_exhausted;
        f.inspect_flags |= inspect_flag::kNotHttp;
        return nullptr;
    }
    Session& s = sessions_[id];
    s = Session{};
    s.in_use = true;
    s.owner = &f;
    s.owner_id = f.flow_id;
    f.http_session = static_cast<uint16_t>(id);
    ++ctr_.sessions;
    return &s;
}

void HttpInspector::on_data(Flow& f, Dir d, std::span<const uint8_t> bytes) {
    if (f.inspect_flags & (inspect_flag::kNotHttp | inspect_flag::kHttp2 | inspect_flag::kTunnel))
        return;
    Session* s = session(f);
    if (s == nullptr) {
        if (d != Dir::ToServer || (s = start_session(f, bytes)) == nullptr) return;
    }
    framer_.feed(f, d, s->fs[idx(d)], bytes, *this);
}

void HttpInspector::on_gap(Flow& f, Dir d, uint32_t len) {
    Session* s = session(f);
    if (s == nullptr) return;
    FramerState& fs = s->fs[idx(d)];
    if (fs.state == FramerState::Body || fs.state == FramerState::ChunkData) {
        s->body[idx(d)].gap = true;
        ++ctr_.body_gaps;
    }
    const bool was_done = fs.state == FramerState::Done;
    framer_.gap(f, d, fs, len, *this);
    if (!was_done && fs.state == FramerState::Done) ++ctr_.parse_stopped;
}

void HttpInspector::on_end(Flow& f, Dir d) {
    if (Session* s = session(f)) framer_.end(f, d, s->fs[idx(d)], *this);
}

void HttpInspector::on_flow_end(Flow& f) {
    Session* s = session(f);
    if (s == nullptr) return;
    for (Dir d : {Dir::ToServer, Dir::ToClient}) framer_.end(f, d, s->fs[idx(d)], *this);
    end_session(f);
}

void HttpInspector::end_session(Flow& f) {
    Session& s = *session(f);
    while (s.tx_count > 0) {
        Txn& t = s.tx(0);
        if (!t.has_response) ++ctr_.unanswered;
        log_txn(f, s, t);
        s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
        --s.tx_count;
    }
    release_dir(s, Dir::ToServer);
    release_dir(s, Dir::ToClient);
    s.in_use = false;
    free_sessions_.release(f.http_session);
    f.http_session = kNoSession;
}

void HttpInspector::release_dir(Session& s, Dir d) {
    const size_t i = idx(d);
    if (s.head_buf[i] != kNil) heads_.release(s.head_buf[i]);
    s.head_buf[i] = kNil;
    DirBody& b = s.body[i];
    if (b.buf != kNil) bodies_.release(b.buf);
    if (b.dec != BodyDecoders::kNil) decoders_.release(b.dec);
    if (b.stream != rules::Matcher::kNoStream) rules_->discard_body_stream(b.stream);
    b = DirBody{};
}

bool HttpInspector::reclaim_oldest(const Flow& asking, Held what) {
    // Only on exhaustion: one scan of the sessions is cheaper than an age-ordered list kept on
    // every allocation (as the TLS handshake buffers do).
    const uint64_t now = eve_.now().ns;
    const uint64_t min_age = uint64_t{opts_.reclaim_after_ms} * 1'000'000;
    auto holds = [&](const Session& s, size_t i) {
        switch (what) {
            case Held::Head:
                return s.head_buf[i] != kNil;
            case Held::Body:
                return s.body[i].buf != kNil;
            case Held::Decoder:
                return s.body[i].dec != BodyDecoders::kNil;
        }
        return false;
    };
    size_t victim = sessions_.size(), dir = 0;
    for (size_t k = 0; k < sessions_.size(); ++k) {
        const Session& s = sessions_[k];
        if (!s.in_use || s.owner == nullptr || s.owner == &asking ||
            s.owner->flow_id != s.owner_id || s.owner->http_session != k)
            continue;
        for (size_t i = 0; i < 2; ++i) {
            if (!holds(s, i) || now - s.since_ns[i] < min_age) continue;
            if (victim == sessions_.size() || s.since_ns[i] < sessions_[victim].since_ns[dir])
                victim = k, dir = i;
        }
    }
    if (victim == sessions_.size()) return false;
    Session& s = sessions_[victim];
    Flow& f = *s.owner;
    ++ctr_.buffers_reclaimed;
    ++ctr_.parse_stopped;
    // Its inspection of this direction is over, never silently: counted, recorded, and the
    // flow gets the configured verdict. The framer stops here; the message still open is
    // logged as truncated when the flow ends.
    f.verdict.merge(opts_.reclaim_verdict);
    if (opts_.reclaim_verdict >= Verdict::Alert) f.alerted = true;
    if (eve_.enabled()) {
        static constexpr std::string_view kHeld[] = {"head_buffer", "body_buffer", "decoder"};
        JsonBuilder& j = eve_.begin(f, "anomaly");
        j.object("anomaly")
            .field("type", std::string_view("applayer"))
            .field("event", std::string_view("http_buffer_reclaimed"))
            .field("layer", std::string_view("http"))
            .field("direction",
                   dir == 0 ? std::string_view("to_server") : std::string_view("to_client"))
            .field("resource", kHeld[static_cast<size_t>(what)])
            .field("action", verdict_name(opts_.reclaim_verdict))
            .field("held_ms", (now - s.since_ns[dir]) / 1'000'000)
            .end_object();
        eve_.finish();
    }
    release_dir(s, dir == 0 ? Dir::ToServer : Dir::ToClient);
    s.fs[dir].state = FramerState::Done;
    return true;
}

// --- MessageSink ----------------------------------------------------------------------------

std::span<char> HttpInspector::head_buffer(Flow& f, Dir d) {
    Session& s = *session(f);
    uint32_t& h = s.head_buf[idx(d)];
    if (h == kNil) {
        h = heads_.alloc();
        if (h == kNil && reclaim_oldest(f, Held::Head)) h = heads_.alloc();
        s.since_ns[idx(d)] = eve_.now().ns;
        if (h == kNil) {
            ++ctr_.header_buffers_exhausted;
            ++ctr_.parse_stopped;
            return {};
        }
    }
    return heads_[h];
}

Framing HttpInspector::on_head(Flow& f, Dir d, std::string_view head) {
    Session& s = *session(f);
    return d == Dir::ToServer ? request_head(f, s, head) : response_head(f, s, head);
}

Framing HttpInspector::request_head(Flow& f, Session& s, std::string_view head) {
    if (head.starts_with("PRI * HTTP/2.0")) {
        // HTTP/2 prior knowledge (or h2 over TLS): counted and reported, not parsed.
        ++ctr_.http2;
        f.inspect_flags |= inspect_flag::kHttp2;
        f.app_proto = AppProto::Http2;
        s.fs[1].state = FramerState::Done;
        if (eve_.enabled() && opts_.eve_http) {
            JsonBuilder& j = eve_.begin(f, "http");
            j.object("http").field("protocol", std::string_view("HTTP/2")).end_object();
            eve_.finish();
        }
        return {Framing::Tunnel, 0};
    }
    HeadError err;
    if (!parse_request_head(head, *head_, err)) {
        on_anomaly(f, Dir::ToServer, anomaly_of(err));
        ++ctr_.parse_stopped;
        return {Framing::Stop, 0};
    }
    const MessageHead& h = *head_;
    ++ctr_.requests;
    if (s.tx_count == kPipelineDepth) {
        // Too many requests in flight: the oldest is logged without its response.
        ++ctr_.pipeline_overflow;
        ++ctr_.unanswered;
        log_txn(f, s, s.tx(0));
        s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
        --s.tx_count;
    }
    Txn& t = s.tx(s.tx_count++);
    t = Txn{};
    s.req_open = true;
    t.method_len = copy_field(t.method, h.method);
    t.url_len = static_cast<uint16_t>(masked_url(t.url, h.target));
    t.version_minor = h.version_minor;
    t.head_request = h.method == "HEAD";
    t.connect = h.method == "CONNECT";
    if (const Header* x = h.find("host")) t.host_len = copy_field(t.host, x->value);
    if (const Header* x = h.find("user-agent")) t.ua_len = copy_field(t.ua, x->value);

    DirBody& b = s.body[0];
    b = DirBody{};
    if (const Header* ce = h.find("content-encoding")) b.coding = coding_from_header(ce->value);
    if (b.coding == Coding::Unsupported) on_anomaly(f, Dir::ToServer, Anomaly::UnsupportedEncoding);
    if (const Header* ct = h.find("content-type"))
        b.json = ct->value.find("json") != std::string_view::npos;

    // Body framing (RFC 9112 section 6.3), with the smuggling shapes reported.
    const Header* te = h.find("transfer-encoding");
    uint64_t len = 0;
    bool have_len = false;
    for (const Header& x : h.fields()) {
        if (!iequals(x.name, "content-length")) continue;
        uint64_t v;
        if (!parse_length(x.value, v)) {
            on_anomaly(f, Dir::ToServer, Anomaly::BadContentLength);
            return {Framing::Stop, 0};
        }
        if (have_len && v != len) {
            on_anomaly(f, Dir::ToServer, Anomaly::ConflictingContentLength);
            return {Framing::Stop, 0};
        }
        len = v;
        have_len = true;
    }
    if (te != nullptr) {
        if (!iequals(last_token(te->value), "chunked")) {
            on_anomaly(f, Dir::ToServer, Anomaly::TransferEncodingNotChunked);
            return {Framing::Stop, 0};
        }
        if (have_len) on_anomaly(f, Dir::ToServer, Anomaly::ContentLengthAndChunked);
        return {Framing::Chunked, 0};
    }
    if (have_len) return {Framing::Length, len};
    return {Framing::None, 0};
}

Framing HttpInspector::response_head(Flow& f, Session& s, std::string_view head) {
    HeadError err;
    if (!parse_response_head(head, *head_, err)) {
        on_anomaly(f, Dir::ToClient, anomaly_of(err));
        ++ctr_.parse_stopped;
        return {Framing::Stop, 0};
    }
    const MessageHead& h = *head_;
    s.interim = h.status >= 100 && h.status < 200 && h.status != 101;
    s.unpaired = s.tx_count == 0;
    if (s.interim) return {Framing::None, 0};
    ++ctr_.responses;
    if (s.unpaired) on_anomaly(f, Dir::ToClient, Anomaly::ResponseWithoutRequest);
    Txn* t = s.unpaired ? nullptr : &s.tx(0);
    DirBody& b = s.body[1];
    b = DirBody{};
    if (t != nullptr) {
        t->status = h.status;
        t->has_response = true;
        if (const Header* ct = h.find("content-type")) {
            t->ctype_len = copy_field(t->ctype, ct->value);
            t->sse = ct->value.find("text/event-stream") != std::string_view::npos;
            b.json = ct->value.find("json") != std::string_view::npos;
            b.sse = t->sse;
        }
    }
    if (const Header* ce = h.find("content-encoding")) b.coding = coding_from_header(ce->value);
    if (b.coding == Coding::Unsupported) on_anomaly(f, Dir::ToClient, Anomaly::UnsupportedEncoding);

    const bool connect_ok = t != nullptr && t->connect && h.status >= 200 && h.status < 300;
    if (h.status == 101 || connect_ok) {
        // The connection leaves HTTP/1: both directions stop here.
        ++ctr_.tunnels;
        f.inspect_flags |= inspect_flag::kTunnel;
        s.fs[0].state = FramerState::Done;
        return {Framing::Tunnel, 0};
    }
    if ((t != nullptr && t->head_request) || h.status == 204 || h.status == 304)
        return {Framing::None, 0};
    const Header* te = h.find("transfer-encoding");
    if (te != nullptr && iequals(last_token(te->value), "chunked")) return {Framing::Chunked, 0};
    uint64_t len = 0;
    bool have_len = false;
    for (const Header& x : h.fields()) {
        if (!iequals(x.name, "content-length")) continue;
        uint64_t v;
        if (!parse_length(x.value, v) || (have_len && v != len)) {
            on_anomaly(f, Dir::ToClient,
                       have_len ? Anomaly::ConflictingContentLength : Anomaly::BadContentLength);
            return {Framing::Stop, 0};
        }
        len = v;
        have_len = true;
    }
    if (have_len && te == nullptr) return {Framing::Length, len};
    return {Framing::UntilClose, 0};
}

void HttpInspector::on_body(Flow& f, Dir d, std::span<const uint8_t> bytes) {
    Session& s = *session(f);
    append_body(f, s, d, bytes);
}

// Below this much decoded output the ratio is not judged: small JSON documents compress well.
constexpr uint64_t kRatioFloor = 256 * 1024;

void HttpInspector::append_body(Flow& f, Session& s, Dir d, std::span<const uint8_t> bytes) {
    DirBody& b = s.body[idx(d)];
    b.wire += bytes.size();
    if (b.buf == kNil) {
        if (b.overflow) return;  // no buffer could be had: counted once
        b.buf = bodies_.alloc();
        if (b.buf == kNil && reclaim_oldest(f, Held::Body)) b.buf = bodies_.alloc();
        if (b.buf == kNil) {
            ++ctr_.body_buffers_exhausted;
            b.overflow = true;
            return;
        }
        if (b.coding == Coding::Gzip || b.coding == Coding::Deflate) {
            b.dec = decoders_.acquire(b.coding);
            if (b.dec == BodyDecoders::kNil && reclaim_oldest(f, Held::Decoder))
                b.dec = decoders_.acquire(b.coding);
            if (b.dec == BodyDecoders::kNil) ++ctr_.decoders_exhausted;
        }
        if (rules_ != nullptr)
            b.stream = rules_->open_body_stream(
                f, d == Dir::ToServer ? Buffer::HttpRequestBody : Buffer::HttpResponseBody);
    }
    const bool encoded = b.coding == Coding::Gzip || b.coding == Coding::Deflate;
    if (b.decode_capped) return;
    if (!encoded || b.decode_failed) {
        store_body(s, d, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
        return;
    }
    if (b.dec == BodyDecoders::kNil) return;  // cannot decode: the body is not inspected
    std::span<const uint8_t> in = bytes;
    char out[8192];
    while (!in.empty()) {
        size_t produced = 0;
        const auto r = decoders_.inflate(b.dec, in, out, produced);
        if (produced > 0) store_body(s, d, {out, produced});
        if (r == BodyDecoders::Result::Error) {
            b.decode_failed = true;
            ++ctr_.anomalies[static_cast<size_t>(Anomaly::DecompressionFailed)];
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
            ++ctr_.decompression_capped;
            on_anomaly(f, d, Anomaly::DecompressionCapped);
            f.verdict.merge(opts_.cap_verdict);
            if (opts_.cap_verdict >= Verdict::Alert) f.alerted = true;
            return;
        }
        if (produced == 0 && !in.empty()) return;  // no progress: wait for more input
    }
}

void HttpInspector::store_body(Session& s, Dir d, std::span<const char> bytes) {
    DirBody& b = s.body[idx(d)];
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
        sse_scan(s, bytes);
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

void HttpInspector::sse_scan(Session& s, std::span<const char> bytes) {
    DirBody& b = s.body[1];
    std::span<char> buf = bodies_[b.buf];
    char* side = buf.data() + opts_.body_cap;
    Txn* t = s.unpaired || s.tx_count == 0 ? nullptr : &s.tx(0);
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
        if (llm_->parse_usage(buf.subspan(off), line.size(), t->usage)) ++ctr_.usage_reports;
    }
}

void HttpInspector::on_message_end(Flow& f, Dir d, bool truncated) {
    Session& s = *session(f);
    if (d == Dir::ToServer) {
        if (s.req_open && s.tx_count > 0) s.tx(s.tx_count - 1).req_truncated = truncated;
        request_end(f, s);
    } else {
        if (s.interim) {
            s.interim = false;
        } else {
            if (!s.unpaired && s.tx_count > 0) s.tx(0).resp_truncated = truncated;
            response_end(f, s);
        }
    }
    release_dir(s, d);
}

namespace {

class HttpAlertContext final : public AlertContext {
  public:
    HttpAlertContext(const HttpInspector::Txn& t, bool response, std::string_view ja4)
        : t_(t), response_(response), ja4_(ja4) {}
    void write(JsonBuilder& j) const override;
    void write_sluice(JsonBuilder& j) const override;
    const account::AccountRef* account() const override { return &t_.account; }

  private:
    const HttpInspector::Txn& t_;
    bool response_;
    std::string_view ja4_;
};

}  // namespace

void HttpInspector::request_end(Flow& f, Session& s) {
    if (!s.req_open || s.tx_count == 0) return;
    s.req_open = false;
    Txn& t = s.tx(s.tx_count - 1);
    t.req_complete = true;
    DirBody& b = s.body[0];
    t.req_body = b.wire;
    t.req_over_cap = b.overflow;
    if (b.overflow && b.buf != kNil) ++ctr_.bodies_over_cap;

    // Re-read the head still held in its buffer: the buffer views point into it.
    HeadError err;
    if (s.head_buf[0] == kNil ||
        !parse_request_head({heads_[s.head_buf[0]].data(), s.fs[0].head_len}, *head_, err))
        return;
    const MessageHead& h = *head_;
    BufferSet bufs;
    bufs.set(Buffer::HttpMethod, h.method);
    bufs.set(Buffer::HttpUri, h.target);
    bufs.set(Buffer::HttpHeader, h.header_block);
    if (const Header* x = h.find("host")) bufs.set(Buffer::HttpHost, x->value);
    if (const Header* x = h.find("user-agent")) bufs.set(Buffer::HttpUserAgent, x->value);
    if (const Header* x = h.find("cookie")) bufs.set(Buffer::HttpCookie, x->value);
    t.account = identity_.identify(
        h, b.buf != kNil ? std::string_view(bodies_[b.buf].data(), b.len) : std::string_view());
    if (t.account.ambiguous || t.account.repeated)
        on_anomaly(f, Dir::ToServer, Anomaly::MultipleCredentials);
    std::string_view prompt;  // valid until the body buffer is released
    if (b.buf != kNil) {
        std::span<char> buf = bodies_[b.buf];
        const std::string_view body(buf.data(), b.len);
        bufs.set(Buffer::HttpRequestBody, body);
        if (b.json || json_start(body).starts_with("{")) {
            if (b.overflow) {
                ++ctr_.llm_truncated;  // a cut JSON document cannot be read
            } else {
                const LlmRequest r = llm_->parse_request(buf, b.len, h.target);
                if (r.parsed) {
                    ++ctr_.llm_requests;
                    if (r.prompt_truncated) ++ctr_.llm_truncated;
                    t.llm = true;
                    t.api = r.api;
                    t.model_len = copy_field(t.model, r.model);
                    t.max_tokens = r.max_tokens;
                    t.stream = r.stream;
                    t.tools = r.tools;
                    t.messages = r.messages;
                    t.prompt_bytes = static_cast<uint32_t>(r.prompt.size());
                    if (opts_.prompt_excerpt > 0)
                        t.excerpt_len = static_cast<uint8_t>(std::min<size_t>(
                            {r.prompt.size(), opts_.prompt_excerpt, sizeof t.excerpt}));
                    std::memcpy(t.excerpt, r.prompt.data(), t.excerpt_len);
                    bufs.set(Buffer::LlmPrompt, r.prompt);
                    // Only the correlator reads it: no hashing when accounts are off.
                    prompt = r.prompt;
                    bufs.set(Buffer::LlmSystem, r.system);
                    bufs.set(Buffer::LlmModel, r.model);
                }
            }
        }
    }
    if (rules_ != nullptr) {
        HttpAlertContext ctx(t, false, ja4_of(f));
        const uint32_t streams[1] = {b.stream};
        const size_t n = b.stream != rules::Matcher::kNoStream ? 1 : 0;
        b.stream = rules::Matcher::kNoStream;  // ended by the inspection
        rules_->inspect(f, Dir::ToServer, InspectPoint::Request, bufs, &ctx, {streams, n});
        t.hit_classes |= rules_->last_hit_classes();
    }
    if (const std::string_view ja4 = ja4_of(f); !ja4.empty()) t.ja4_hash = account::hash_item(ja4);
    // Only the correlator reads prompt signatures, and by default only of flagged requests:
    // ordinary traffic pays nothing for them. Long prompts are signed on their first 8 KiB
    // (templates sit at the start) and their frame (first and last tokens).
    using PS = HttpOptions::PromptSignatures;
    if (observations_ != nullptr && !prompt.empty() &&
        (opts_.prompt_signatures == PS::All ||
         (opts_.prompt_signatures == PS::Flagged && t.hit_classes != 0))) {
        t.prompt_simhash = account::simhash(prompt.substr(0, 8192));
        t.prompt_frame = account::prompt_frame(prompt);
    }
    if (enforcement_ != nullptr) enforce(f, t);
    // A response that finished before its request did is logged now.
    if (t.has_response && s.tx_count > 0 && &s.tx(0) == &t && t.status != 0 &&
        s.fs[1].state == FramerState::Head && !s.fs[1].in_message) {
        log_txn(f, s, t);
        s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
        --s.tx_count;
    }
}

namespace {

// Finds `"usage": {...}` in the tail of a long JSON body and copies it as a document of its
// own ({"usage":{...}}) into out; returns its length, or 0.
size_t usage_from_tail(std::string_view tail, std::span<char> out) {
    const size_t k = tail.rfind("\"usage\"");
    if (k == std::string_view::npos) return 0;
    size_t i = tail.find('{', k + 7);
    if (i == std::string_view::npos) return 0;
    const size_t start = i;
    int depth = 0;
    bool in_str = false;
    for (; i < tail.size(); ++i) {
        const char c = tail[i];
        if (in_str) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') in_str = true;
        if (c == '{') ++depth;
        if (c == '}' && --depth == 0) break;
    }
    if (i >= tail.size()) return 0;
    const std::string_view obj = tail.substr(start, i - start + 1);
    constexpr std::string_view kOpen = "{\"usage\":";
    if (kOpen.size() + obj.size() + 1 + kJsonPadding > out.size()) return 0;
    std::memcpy(out.data(), kOpen.data(), kOpen.size());
    std::memcpy(out.data() + kOpen.size(), obj.data(), obj.size());
    out[kOpen.size() + obj.size()] = '}';
    return kOpen.size() + obj.size() + 1;
}

}  // namespace

void HttpInspector::response_end(Flow& f, Session& s) {
    if (s.unpaired || s.tx_count == 0) return;
    Txn& t = s.tx(0);
    DirBody& b = s.body[1];
    t.resp_body = b.wire;
    t.resp_over_cap = b.overflow;
    if (b.overflow && b.buf != kNil) ++ctr_.bodies_over_cap;
    std::string_view body;
    if (b.buf != kNil) {
        std::span<char> buf = bodies_[b.buf];
        body = std::string_view(buf.data(), b.len);
        if (!b.sse && (b.json || json_start(body).starts_with("{"))) {
            if (!b.overflow) {
                if (llm_->parse_usage(buf, b.len, t.usage)) ++ctr_.usage_reports;
            } else {
                const size_t n =
                    usage_from_tail({buf.data() + opts_.body_cap, b.side_len}, usage_scratch_);
                if (n > 0 && llm_->parse_usage(usage_scratch_, n, t.usage)) ++ctr_.usage_reports;
            }
        }
    }
    if (rules_ != nullptr && b.stream != rules::Matcher::kNoStream &&
        !rules_->inspects(InspectPoint::Response)) {
        rules_->discard_body_stream(b.stream);
        b.stream = rules::Matcher::kNoStream;
    }
    if (rules_ != nullptr && rules_->inspects(InspectPoint::Response)) {
        char status[4];
        std::snprintf(status, sizeof status, "%03u", static_cast<unsigned>(t.status % 1000));
        BufferSet bufs;
        bufs.set(Buffer::HttpStatCode, std::string_view(status, 3));
        if (b.buf != kNil) bufs.set(Buffer::HttpResponseBody, body);
        HttpAlertContext ctx(t, true, ja4_of(f));
        const uint32_t streams[1] = {b.stream};
        const size_t n = b.stream != rules::Matcher::kNoStream ? 1 : 0;
        b.stream = rules::Matcher::kNoStream;
        rules_->inspect(f, Dir::ToClient, InspectPoint::Response, bufs, &ctx, {streams, n});
        t.hit_classes |= rules_->last_hit_classes();
    }
    if (!t.req_complete) return;  // logged when the request ends
    log_txn(f, s, t);
    s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
    --s.tx_count;
}

void HttpInspector::on_anomaly(Flow& f, Dir d, Anomaly a) {
    ++ctr_.anomalies[static_cast<size_t>(a)];
    const bool smuggling = is_smuggling_shape(a);
    if (smuggling) {
        ++ctr_.smuggling;
        f.verdict.merge(opts_.smuggling_verdict);
        if (opts_.smuggling_verdict >= Verdict::Alert) f.alerted = true;
    }
    if (!eve_.enabled()) return;
    JsonBuilder& j = eve_.begin(f, "anomaly");
    j.object("anomaly")
        .field("type", std::string_view("applayer"))
        .field("event", anomaly_name(a))
        .field("layer", std::string_view("proto_parser"))
        .field("direction",
               d == Dir::ToServer ? std::string_view("to_server") : std::string_view("to_client"));
    if (smuggling)
        j.field("smuggling", true).field("action", verdict_name(opts_.smuggling_verdict));
    j.end_object();
    eve_.finish();
}

namespace {

void write_account(JsonBuilder& j, const HttpInspector::Txn& t) {
    if (!t.account.present()) return;
    j.object("account")
        .field("id", t.account.id_view())
        .field("hint", t.account.hint_view())
        .field("source", account::source_name(t.account.source))
        .end_object();
}

void write_http(JsonBuilder& j, const HttpInspector::Txn& t, bool with_response) {
    j.object("http");
    if (t.host_len) j.field("hostname", std::string_view(t.host, t.host_len));
    j.field("url", std::string_view(t.url, t.url_len));
    if (t.ua_len) j.field("http_user_agent", std::string_view(t.ua, t.ua_len));
    if (with_response && t.ctype_len)
        j.field("http_content_type", std::string_view(t.ctype, t.ctype_len));
    j.field("http_method", std::string_view(t.method, t.method_len))
        .field("protocol",
               t.version_minor == 0 ? std::string_view("HTTP/1.0") : std::string_view("HTTP/1.1"));
    if (with_response && t.status) j.field("status", t.status);
    if (with_response) j.field("length", t.resp_body);
    j.field("request_length", t.req_body);
    j.end_object();
}

void write_llm(JsonBuilder& j, const HttpInspector::Txn& t) {
    j.object("llm")
        .field("api", llm_api_name(t.api))
        .field("model", std::string_view(t.model, t.model_len))
        .field("stream", t.stream)
        .field("tools", t.tools)
        .field("messages", t.messages)
        .field("prompt_bytes", t.prompt_bytes);
    if (t.max_tokens >= 0) j.field("max_tokens", t.max_tokens);
    if (t.excerpt_len) j.field("prompt_excerpt", std::string_view(t.excerpt, t.excerpt_len));
    if (t.usage.any()) {
        j.object("usage");
        if (t.usage.input_tokens >= 0) j.field("input_tokens", t.usage.input_tokens);
        if (t.usage.output_tokens >= 0) j.field("output_tokens", t.usage.output_tokens);
        j.end_object();
    }
    j.end_object();
}

void write_ja4(JsonBuilder& j, std::string_view ja4) {
    // The JA4 of the TLS session that carried the transaction (decrypted flows).
    if (!ja4.empty()) j.object("tls").field("ja4", ja4).end_object();
}

void HttpAlertContext::write(JsonBuilder& j) const {
    write_http(j, t_, response_);
    write_account(j, t_);
    write_ja4(j, ja4_);
}

void HttpAlertContext::write_sluice(JsonBuilder& j) const {
    if (t_.llm || t_.usage.any()) write_llm(j, t_);
}

}  // namespace

void HttpInspector::log_txn(Flow& f, Session& s, Txn& t) {
    (void)s;
    ++ctr_.transactions;
    if (observations_ != nullptr && t.account.present()) {
        account::Observation o;
        o.ts_ns = eve_.now().ns;
        o.seq = eve_.seq();
        o.account = t.account.id;
        o.hint = t.account.hint;
        o.hint_len = t.account.hint_len;
        o.src = f.client().addr;
        o.ja4_hash = t.ja4_hash;
        o.ua_hash = t.ua_len ? account::hash_item({t.ua, t.ua_len}) : 0;
        o.prompt_simhash = t.prompt_simhash;
        o.prompt_bytes = t.prompt_bytes;
        o.prompt_head = t.prompt_frame.head;
        o.prompt_tail = t.prompt_frame.tail;
        o.pushed_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::steady_clock::now().time_since_epoch())
                                                .count());
        o.request_bytes = static_cast<uint32_t>(std::min<uint64_t>(t.req_body, UINT32_MAX));
        o.response_bytes = static_cast<uint32_t>(std::min<uint64_t>(t.resp_body, UINT32_MAX));
        o.input_tokens =
            static_cast<int32_t>(std::clamp<int64_t>(t.usage.input_tokens, -1, INT32_MAX));
        o.output_tokens =
            static_cast<int32_t>(std::clamp<int64_t>(t.usage.output_tokens, -1, INT32_MAX));
        o.hit_classes = t.hit_classes;
        const std::string_view ua(t.ua, t.ua_len);
        for (const account::ClientClaim& c : claims_)
            for (const std::string& p : c.user_agent_prefixes)
                if (ua.starts_with(p)) {
                    o.claims_official = true;
                    const std::string_view ja4 = ja4_of(f);
                    o.claim_mismatch =
                        !ja4.empty() && std::find(c.ja4.begin(), c.ja4.end(), ja4) == c.ja4.end();
                }
        observations_->observe(o);
    }
    if (!eve_.enabled() || !opts_.eve_http) return;
    JsonBuilder& j = eve_.begin(f, "http");
    write_http(j, t, t.has_response);
    write_account(j, t);
    write_ja4(j, ja4_of(f));
    if (t.llm || t.usage.any() || t.req_over_cap || t.resp_over_cap || t.req_truncated ||
        t.resp_truncated || t.sse || t.enforced != Verdict::Pass) {
        j.object("sluice");
        if (t.llm || t.usage.any()) write_llm(j, t);
        if (t.sse) j.field("sse", true);
        if (t.req_over_cap) j.field("request_body_over_cap", true);
        if (t.resp_over_cap) j.field("response_body_over_cap", true);
        if (t.req_truncated) j.field("request_truncated", true);
        if (t.resp_truncated) j.field("response_truncated", true);
        if (t.enforced != Verdict::Pass)
            j.object("enforcement")
                .field("action", verdict_name(t.enforced))
                .field("target", enforce_target_name(t.enforced_target))
                .field("http_status", t.enforced_status)
                .end_object();
        j.end_object();
    }
    eve_.finish();
}

void HttpInspector::enforce(Flow& f, Txn& t) {
    // A decision published by the correlator (or an operator's list) stops the request: the
    // packet completing it is dropped and both ends are reset, so the server never acts on
    // it. Answering 403/429 instead needs TLS termination; the status is carried for that.
    const EnforcementTable* table = enforcement_->current();
    if (table == nullptr || table->empty()) return;
    const uint64_t acct = t.account.present() ? account_key(t.account.id_view()) : 0;
    const Enforcement* e = table->find(acct, f.client().addr, t.ja4_hash, eve_.now().ns);
    if (e == nullptr || e->allow) return;  // allowlisted: nothing applies
    if (e->verdict == Verdict::RateLimit) {
        // One bucket per subject of the decision.
        uint64_t subject = e->bucket != 0 ? e->bucket : acct;
        if (e->bucket == 0 && e->target == EnforceTarget::Ja4) subject = t.ja4_hash;
        if (e->bucket == 0 && e->target == EnforceTarget::Prefix) {
            const IpAddress p = account::network_prefix(f.client().addr);
            subject = hash_bytes(p.span(), 0x70);
        }
        if (limiter_.admit(subject, e->rate_per_minute, eve_.now().ns)) {
            ++ctr_.rate_limit_admitted;
            return;
        }
        ++ctr_.enforced_rate_limit;
        f.verdict.merge(Verdict::Reject);
    } else if (e->verdict >= Verdict::Drop) {
        ++ctr_.enforced_block;
        f.verdict.merge(e->verdict);
    } else {
        return;
    }
    t.enforced = e->verdict;
    t.enforced_target = e->target;
    t.enforced_status = e->http_status;
}

}  // namespace sluice::http
