// The HTTP/1.x framing stage: message heads (parsed once), pairing of pipelined requests
// and responses, and the hand-over of each message to the transaction stage. Sessions are in
// http_sessions.cc, bodies in message_bodies.h (shared with HTTP/2).
#include "http/http_inspector.h"

#include "inspect/suricata_events.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "http/http_session.h"
#include "txn/url_mask.h"

namespace sluice::http {

namespace {

bool parse_length(std::string_view v, uint64_t& out) {
    if (v.empty() || v.size() > 15) return false;
    for (char c : v)
        if (c < '0' || c > '9') return false;
    std::from_chars(v.data(), v.data() + v.size(), out);
    return true;
}

}  // namespace

HttpInspector::HttpInspector(EveEmitter& eve, const HttpOptions& opts, RuleInspector* rules,
                             TransactionStage& txn, MessageBodies& bodies)
    : eve_(eve),
      opts_(opts),
      rules_(rules),
      txn_(txn),
      bodies_(bodies),
      framer_(opts.max_header_bytes, opts.personality == HttpOptions::Personality::Generic),
      sessions_(std::min<uint32_t>(opts.sessions, kNoSession)),
      free_sessions_(static_cast<uint32_t>(sessions_.size())),
      heads_(opts.header_buffers, opts.max_header_bytes),
      parsed_heads_(heads_.count()) {
    bodies_.add_holder(*this);
}

HttpInspector::~HttpInspector() = default;

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
    if (fs.state == FramerState::Switched) {
        upgrade_->upgraded_gap(f, d, len);
        return;
    }
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

void HttpInspector::on_body(Flow& f, Dir d, std::span<const uint8_t> bytes) {
    Session& s = *session(f);
    Transaction* sse = d == Dir::ToClient && !s.unpaired && s.tx_count > 0 ? &s.tx(0) : nullptr;
    bodies_.append(f, d, s.body[idx(d)], sse, bytes, *this);
}

Framing HttpInspector::on_head(Flow& f, Dir d, std::string_view head) {
    Session& s = *session(f);
    return d == Dir::ToServer ? request_head(f, s, head) : response_head(f, s, head);
}

Framing HttpInspector::request_head(Flow& f, Session& s, std::string_view head) {
    if (head.starts_with("PRI * HTTP/2.0")) {
        // The client's preface after it asked to upgrade: the rest of its bytes are HTTP/2,
        // whether the server's 101 came already or not (a client may send it early).
        if (s.h2c_asked && (s.h2c_switched || switch_to_h2(f, s))) {
            upgrade_->upgraded_data(f, Dir::ToServer,
                                    {reinterpret_cast<const uint8_t*>(head.data()), head.size()});
            return {Framing::Switch, 0};
        }
        // The HTTP/2 stage has it (its preface came in pieces this stage read too).
        if (f.h2_session != 0xffff) {
            s.fs[1].state = FramerState::Done;
            return {Framing::Tunnel, 0};
        }
        // HTTP/2 without the HTTP/2 stage (disabled, or no connection slot): counted and
        // reported, not parsed.
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
    // Parsed once, into the slot beside the head buffer that holds it: the views stay valid
    // until the message ends, when the request is inspected.
    HeadError err;
    MessageHead& h = parsed_heads_[s.head_buf[0]];
    if (!parse_request_head(head, h, err)) {
        on_anomaly(f, Dir::ToServer, anomaly_of(err));
        ++ctr_.parse_stopped;
        return {Framing::Stop, 0};
    }
    report_quirks(f, Dir::ToServer, h);
    ++ctr_.requests;
    if (s.tx_count == kPipelineDepth) {
        // Too many requests in flight: the oldest is logged without its response.
        ++ctr_.pipeline_overflow;
        ++ctr_.unanswered;
        log_txn(f, s.tx(0));
        s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
        --s.tx_count;
    }
    Transaction& t = s.tx(s.tx_count++);
    t = Transaction{};
    s.req_open = true;
    t.method_len = copy_bounded(t.method, h.method);
    t.url_len = static_cast<uint16_t>(masked_url(t.url, h.target));
    t.protocol = h.version_minor == 0 ? HttpProtocol::Http10 : HttpProtocol::Http11;
    t.head_request = h.method == "HEAD";
    t.connect = h.method == "CONNECT";
    if (const Header* x = h.find("host")) t.host_len = copy_bounded(t.host, x->value);
    if (const Header* x = h.find("user-agent")) t.ua_len = copy_bounded(t.ua, x->value);
    const Header* up = h.find("upgrade");
    s.h2c_asked = up != nullptr && has_token(up->value, "h2c") && upgrade_ != nullptr;

    DirBody& b = s.body[0];
    b = DirBody{};
    if (const Header* ce = h.find("content-encoding"); ce != nullptr && !b.set_codings(ce->value))
        on_anomaly(f, Dir::ToServer, Anomaly::UnsupportedEncoding);
    if (const Header* ct = h.find("content-type"))
        b.json = ct->value.find("json") != std::string_view::npos;

    // Body framing (RFC 9112 section 6.3), with the smuggling shapes reported.
    const Header* te = h.find("transfer-encoding");
    uint64_t len = 0;
    bool have_len = false;
    for (const Header& x : h.fields()) {
        if (!iequals(x.name, "content-length") && !iequals(x.name, "transfer-encoding")) continue;
        if (framing_header_rejected(f, Dir::ToServer, x)) {
            // The protected server answers 400 and closes: no later request on this
            // connection is served, so none is parsed (the smuggling action applies).
            ++ctr_.parse_stopped;
            return {Framing::Stop, 0};
        }
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
    // Parsed into the slot beside its head buffer, held to the response's end: the response
    // buffers (http.response_line, http.server, ...) are inspected then.
    MessageHead& h = parsed_heads_[s.head_buf[1]];
    if (!parse_response_head(head, h, err)) {
        on_anomaly(f, Dir::ToClient, anomaly_of(err));
        ++ctr_.parse_stopped;
        return {Framing::Stop, 0};
    }
    report_quirks(f, Dir::ToClient, h);
    s.interim = h.status >= 100 && h.status < 200 && h.status != 101;
    s.unpaired = s.tx_count == 0;
    if (s.interim) return {Framing::None, 0};
    // Upgrade: h2c accepted: the server's next bytes are HTTP/2 frames, the request's answer
    // comes on stream 1.
    if (h.status == 101 && s.h2c_asked) {
        const Header* up = h.find("upgrade");
        if (up != nullptr && has_token(up->value, "h2c") && (s.h2c_switched || switch_to_h2(f, s)))
            return {Framing::Switch, 0};
    }
    ++ctr_.responses;
    if (s.unpaired) on_anomaly(f, Dir::ToClient, Anomaly::ResponseWithoutRequest);
    Transaction* t = s.unpaired ? nullptr : &s.tx(0);
    DirBody& b = s.body[1];
    b = DirBody{};
    if (t != nullptr) {
        t->status = h.status;
        t->has_response = true;
        if (const Header* ct = h.find("content-type")) {
            t->ctype_len = copy_bounded(t->ctype, ct->value);
            t->sse = ct->value.find("text/event-stream") != std::string_view::npos;
            b.json = ct->value.find("json") != std::string_view::npos;
            b.sse = t->sse;
        }
    }
    if (const Header* ce = h.find("content-encoding"); ce != nullptr && !b.set_codings(ce->value))
        on_anomaly(f, Dir::ToClient, Anomaly::UnsupportedEncoding);

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
        if (!iequals(x.name, "content-length") && !iequals(x.name, "transfer-encoding")) continue;
        if (framing_header_rejected(f, Dir::ToServer, x)) {
            // The protected server answers 400 and closes: no later request on this
            // connection is served, so none is parsed (the smuggling action applies).
            ++ctr_.parse_stopped;
            return {Framing::Stop, 0};
        }
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

void HttpInspector::request_end(Flow& f, Session& s) {
    if (!s.req_open || s.tx_count == 0) return;
    s.req_open = false;
    Transaction& t = s.tx(s.tx_count - 1);
    t.req_complete = true;
    DirBody& b = s.body[0];
    t.req_body = b.wire;
    t.req_over_cap = b.overflow;
    if (b.overflow && b.buf != kNil) ++ctr_.bodies_over_cap;

    // The head parsed when it arrived, still held (a reclaimed buffer took its views along).
    if (s.head_buf[0] == kNil) return;
    const MessageHead& h = parsed_heads_[s.head_buf[0]];
    MessageView req;
    req.method = h.method;
    req.target = h.target;
    req.header_block = h.header_block;
    req.start_line = h.start_line;
    req.head = h.head;
    req.headers = h.fields();
    req.body = bodies_.view(b);
    t.earlier_in_flight = static_cast<uint8_t>(s.tx_count - 1);  // this request is the last
    txn_.on_request(f, t, req, *this);
    b.stream = req.body.stream;  // the stage ended it
    // A response that finished before its request did is logged now.
    if (t.has_response && s.tx_count > 0 && &s.tx(0) == &t && t.status != 0 &&
        s.fs[1].state == FramerState::Head && !s.fs[1].in_message) {
        log_txn(f, t);
        s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
        --s.tx_count;
    }
}

void HttpInspector::response_end(Flow& f, Session& s) {
    if (s.unpaired || s.tx_count == 0) return;
    Transaction& t = s.tx(0);
    DirBody& b = s.body[1];
    t.resp_body = b.wire;
    t.resp_over_cap = b.overflow;
    if (b.overflow && b.buf != kNil) ++ctr_.bodies_over_cap;
    MessageView resp;
    resp.status = t.status;
    resp.body = bodies_.view(b);
    if (s.head_buf[1] != kNil) {  // (a reclaimed head buffer took its views along)
        const MessageHead& h = parsed_heads_[s.head_buf[1]];
        resp.start_line = h.start_line;
        resp.head = h.head;
        resp.header_block = h.header_block;
        resp.headers = h.fields();
    }
    txn_.on_response(f, t, resp);
    b.stream = resp.body.stream;  // the stage ended it
    if (!t.req_complete) return;  // logged when the request ends
    log_txn(f, t);
    s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
    --s.tx_count;
}

bool HttpInspector::switch_to_h2(Flow& f, Session& s) {
    // Only the request that asked, complete and alone in flight (the client may not send more
    // before the switch, RFC 7540 section 3.2); otherwise the connection stays a tunnel.
    if (s.tx_count != 1 || s.req_open || !s.tx(0).req_complete) return false;
    if (!upgrade_->upgrade(f, s.tx(0))) return false;
    s.tx_first = static_cast<uint8_t>((s.tx_first + 1) % kPipelineDepth);
    s.tx_count = 0;
    s.h2c_switched = true;
    ++ctr_.h2c_upgrades;
    return true;
}

void HttpInspector::on_switched(Flow& f, Dir d, std::span<const uint8_t> bytes) {
    upgrade_->upgraded_data(f, d, bytes);
}

void HttpInspector::anomaly(Flow& f, Dir d, Anomaly a, std::string_view interpretation,
                            bool recovered) {
    // Decoding failures are counted by the body pool for both framings (pipeline.cc).
    if (a != Anomaly::DecompressionFailed) ++ctr_.anomalies[static_cast<size_t>(a)];
    if (rules_ != nullptr)
        rules_->on_event(f, d, rules::EventKind::AppLayer, suricata_http_event(a, d));
    // The framer read past these (lenient chunk sizes, a body inspected as sent).
    if (a == Anomaly::ChunkSizeJunk || a == Anomaly::DecompressionFailed) recovered = true;
    const bool smuggling = is_smuggling_shape(a);
    if (smuggling) {
        ++ctr_.smuggling;
        f.verdict.merge(opts_.smuggling_verdict);
        if (opts_.smuggling_verdict >= Verdict::Alert) f.alerted = true;
    }
    // A head past the limit is not parsed: the message would pass uninspected, so it gets the
    // cap action (drop inline), as a decompression bomb does.
    const bool capped = a == Anomaly::HeaderTooLong;
    if (capped) {
        f.verdict.merge(opts_.cap_verdict);
        if (opts_.cap_verdict >= Verdict::Alert) f.alerted = true;
    }
    if (!eve_.enabled()) return;
    JsonBuilder& j = eve_.begin(f, "anomaly");
    j.object("anomaly")
        .field("type", std::string_view("applayer"))
        .field("event", anomaly_name(a))
        .field("layer", std::string_view("proto_parser"))
        .field("direction",
               d == Dir::ToServer ? std::string_view("to_server") : std::string_view("to_client"));
    if (recovered) j.field("recovered", true);
    if (!interpretation.empty()) j.field("interpretation", interpretation);
    if (smuggling)
        j.field("smuggling", true).field("action", verdict_name(opts_.smuggling_verdict));
    if (capped) j.field("action", verdict_name(opts_.cap_verdict));
    j.end_object();
    eve_.finish();
}

void HttpInspector::report_quirks(Flow& f, Dir d, const MessageHead& h) {
    static constexpr std::pair<uint16_t, Anomaly> kQuirks[] = {
        {kQuirkRequestLine, Anomaly::BadRequestLine},
        {kQuirkStatusLine, Anomaly::BadStatusLine},
        {kQuirkVersion, Anomaly::BadVersion},
        {kQuirkHeaderName, Anomaly::BadHeaderName},
        {kQuirkNameWhitespace, Anomaly::HeaderNameWhitespace},
        {kQuirkHeaderValue, Anomaly::BadHeaderValue},
        {kQuirkObsFold, Anomaly::ObsFold},
        {kQuirkNoColon, Anomaly::HeaderWithoutColon},
    };
    if (h.quirks == 0) return;
    ++ctr_.parse_recovered;
    for (const auto& [bit, a] : kQuirks)
        if (h.quirks & bit) anomaly(f, d, a, {}, true);
}

bool HttpInspector::framing_header_rejected(Flow& f, Dir d, const Header& x) {
    if ((x.quirks & (kQuirkNameWhitespace | kQuirkObsFold)) == 0) return false;
    const bool honoured = opts_.personality == HttpOptions::Personality::Generic;
    anomaly(f, d, Anomaly::MalformedFramingHeader,
            honoured ? std::string_view("honoured") : std::string_view("rejected_by_server"),
            honoured);
    return !honoured;
}

void HttpInspector::log_txn(Flow& f, Transaction& t) {
    txn_.on_complete(f, t);
}

void HttpInspector::transaction_anomaly(Flow& f, Dir d, Anomaly a) {
    on_anomaly(f, d, a);
}

}  // namespace sluice::http
