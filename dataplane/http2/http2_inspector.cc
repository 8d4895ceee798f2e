#include "http2/http2_inspector.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "http/http_head.h"
#include "inspect/rule_inspector.h"
#include "txn/url_mask.h"

namespace sluice::http2 {

namespace {

constexpr uint32_t kNil = BufferPool::kNil;

// One direction's frame reader: where in the byte stream it is.
enum class ReadState : uint8_t { Preface, Header, Payload, Stopped };

bool is_connection_specific(std::string_view name, std::string_view value) {
    // RFC 9113 section 8.2.2: such fields make a message malformed; an HTTP/1 backend behind a
    // downgrading proxy would honour them (request smuggling).
    for (std::string_view n :
         {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
        if (name == n) return true;
    return name == "te" && value != "trailers";
}

bool has_upper(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool bad_value(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == 0; });
}

bool parse_u64(std::string_view v, uint64_t& out) {
    if (v.empty() || v.size() > 15) return false;
    for (char c : v)
        if (c < '0' || c > '9') return false;
    std::from_chars(v.data(), v.data() + v.size(), out);
    return true;
}

// Appends "name: value\r\n" at `len` in `buf` (which ends where it may grow to) and lists the
// field in `m`; false when it does not fit.
bool append_field(http::MessageHead& m, std::span<char> buf, uint32_t& len, std::string_view name,
                  std::string_view value) {
    const size_t line = name.size() + 2 + value.size() + 2;
    if (line > buf.size() - len || m.header_count == m.headers.size()) return false;
    char* p = buf.data() + len;
    std::memcpy(p, name.data(), name.size());
    std::memcpy(p + name.size(), ": ", 2);
    std::memcpy(p + name.size() + 2, value.data(), value.size());
    std::memcpy(p + name.size() + 2 + value.size(), "\r\n", 2);
    m.headers[m.header_count++] = {std::string_view(p, name.size()),
                                   std::string_view(p + name.size() + 2, value.size())};
    len += static_cast<uint32_t>(line);
    m.header_block = std::string_view(buf.data(), len);
    return true;
}

}  // namespace

struct Http2Inspector::Stream {
    uint32_t id = 0;
    uint16_t conn = kNoSession;
    bool req_headers = false;  // the request's header block was decoded
    bool req_done = false;     // END_STREAM from the client
    bool resp_headers = false;
    bool resp_done = false;
    bool interim = false;      // the last response block was 1xx
    uint32_t head_buf = kNil;  // the request's decoded header list
    uint32_t head_len = 0;     // regular header lines from the buffer's start
    uint32_t pseudo_at = 0;    // pseudo-header values from its end, downwards
    bool head_overflow = false;
    std::string_view authority;  // in the head buffer, while it is held
    // The final response's regular fields ("name: value\r\n" lines), kept in a head buffer
    // of their own until the response is inspected, only while the rules read response headers.
    uint32_t resp_head = kNil;
    uint32_t resp_len = 0;
    bool resp_overflow = false;
    int64_t content_length[2] = {-1, -1};
    uint64_t data_total[2] = {0, 0};
    uint64_t opened_ns = 0;
    uint16_t frame_types[2] = {0, 0};  // frames on this stream, per direction (http2.*)
    int64_t window[2] = {kDefaultWindow, kDefaultWindow};  // what each sender may still send
    uint64_t body_since_ns[2] = {0, 0};  // when each direction's body took its buffer
    uint16_t error_codes[2] = {0, 0};    // its RST_STREAM codes
    Transaction txn;
    http::DirBody body[2];
};

struct Http2Inspector::Connection {
    struct Reader {
        ReadState state = ReadState::Header;
        uint8_t hdr[kFrameHeaderSize];
        uint8_t have = 0;  // header bytes, or preface bytes matched
        FrameHeader fh;
        uint32_t left = 0;        // payload bytes still to come
        uint8_t prefix_need = 0;  // pad length, priority or promised stream bytes first
        uint8_t prefix_have = 0;
        uint8_t prefix[6];
        uint8_t pad = 0;  // trailing padding of this frame
        uint8_t ctl[8];   // the first bytes of a control frame
        uint8_t ctl_have = 0;
        uint8_t entry[6];  // a SETTINGS entry being assembled
        uint8_t entry_have = 0;
        // The header block in progress (HEADERS or PUSH_PROMISE, then CONTINUATIONs).
        bool in_block = false;
        bool block_end_stream = false;
        bool block_tracked = false;  // its fields go to a tracked stream (else decoded only)
        bool block_trailers = false;
        uint32_t block_stream = 0;
        uint32_t block_bytes = 0;  // decoded bytes of this header list
        uint32_t continuations = 0;
        bool block_over = false;
        bool block_final = false;  // the inflater saw the block's end
        nghttp2_hd_inflater* inflater = nullptr;
        uint32_t max_frame = kDefaultMaxFrameSize;  // what the receiver accepts
        // SETTINGS this side sent, applied when the other side acknowledges them.
        uint32_t pending_table = 0, pending_frame = 0;
        bool pending_table_set = false, pending_frame_set = false;
        // Flow control of what this direction sends (section 6.9): the connection window,
        // and the initial window of new streams (the other side's SETTINGS_INITIAL_WINDOW_SIZE;
        // a raise counts at once, a cut only once this side acknowledged it, so in-flight
        // DATA is never taken for a violation).
        int64_t conn_window = kDefaultWindow;
        int64_t initial_window = kDefaultWindow;
        int64_t pending_initial = 0;
        bool pending_initial_set = false;
    };
    Reader dir[2];
    bool in_use = false;
    bool tentative = false;  // started by the server's bytes; the client preface confirms it
    bool upgraded = false;   // from HTTP/1.1 Upgrade: h2c; its bytes come through that stage
    bool stopped = false;
    Flow* owner = nullptr;
    uint64_t owner_id = 0;
    std::array<uint16_t, kMaxStreamsPerConnection> slots{};
    uint16_t n_streams = 0;
    uint32_t last_client_stream = 0;
    uint32_t anomalies_seen = 0;  // one record per kind and connection
    uint16_t bodies_held = 0;  // body buffers its streams hold (http2.body_buffers_per_connection)
    // For the http2.* keywords: stream-0 frames and GOAWAY codes, the first SETTINGS of each
    // side and the last WINDOW_UPDATE increments, per direction (the streams add their own).
    rules::Http2Facts facts;
    bool settings_done[2] = {false, false};
    // Rapid reset: client resets of fresh streams within the window.
    uint64_t reset_window_ns = 0;
    uint32_t resets_in_window = 0;
    // The client's framing fingerprint (Akamai): SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo order.
    bool fp_settings = false, fp_done = false, fp_pseudo = false;
    char fp_s[96];
    uint8_t fp_s_len = 0;
    char fp_wu[12];
    uint8_t fp_wu_len = 0;
    char fp_p[96];
    uint8_t fp_p_len = 0;
    char fp_ps[8];
    uint8_t fp_ps_len = 0;
    char fp[224];
    uint8_t fp_len = 0;
};

namespace {

template <size_t N>
void put(char (&dst)[N], uint8_t& len, std::string_view s) {
    const size_t n = std::min(s.size(), N - len);
    std::memcpy(dst + len, s.data(), n);
    len = static_cast<uint8_t>(len + n);
}

template <size_t N>
void put_u(char (&dst)[N], uint8_t& len, uint64_t v) {
    char b[24];
    const auto r = std::to_chars(b, b + sizeof b, v);
    put(dst, len, std::string_view(b, static_cast<size_t>(r.ptr - b)));
}

}  // namespace

Http2Inspector::Http2Inspector(EveEmitter& eve, const Http2Options& opts,
                               const http::HttpOptions& http, TransactionStage& txn,
                               http::MessageBodies& bodies)
    : eve_(eve),
      opts_(opts),
      http_(http),
      txn_(txn),
      bodies_(bodies),
      hpack_(size_t{opts.hpack_memory_mb} << 20),
      sessions_(std::min<uint32_t>(opts.sessions, kNoSession)),
      free_sessions_(static_cast<uint32_t>(sessions_.size())),
      streams_(std::min<uint32_t>(opts.streams, 0xfffe)),
      free_streams_(static_cast<uint32_t>(streams_.size())),
      heads_(std::max<uint32_t>(1, opts.header_buffers), opts.max_header_bytes),
      parsed_(heads_.count()) {
    names_.reserve(opts.max_header_bytes);
    bodies_.add_holder(*this);
    opts_.max_concurrent_streams =
        std::min<uint32_t>(opts_.max_concurrent_streams, kMaxStreamsPerConnection);
}

Http2Inspector::~Http2Inspector() {
    for (Connection& c : sessions_)
        for (auto& r : c.dir)
            if (r.inflater != nullptr) nghttp2_hd_inflate_del(r.inflater);
}

// --- connections -----------------------------------------------------------------------------

Http2Inspector::Connection* Http2Inspector::start(Flow& f, bool tentative) {
    const uint32_t id = free_sessions_.alloc();
    if (id == IndexPool::kNil) {
        ++ctr_[H2Ctr::ConnectionsRefused];
        return nullptr;
    }
    Connection& c = sessions_[id];
    c = Connection{};
    for (auto& r : c.dir) {
        if (nghttp2_hd_inflate_new2(&r.inflater, hpack_.mem()) != 0) {
            ++ctr_[H2Ctr::HpackNoMemory];
            for (auto& x : c.dir)
                if (x.inflater != nullptr) nghttp2_hd_inflate_del(x.inflater), x.inflater = nullptr;
            free_sessions_.release(id);
            return nullptr;
        }
    }
    c.in_use = true;
    c.tentative = tentative;
    c.owner = &f;
    c.owner_id = f.flow_id;
    c.dir[0].state = ReadState::Preface;
    f.h2_session = static_cast<uint16_t>(id);
    return &c;
}

void Http2Inspector::end_connection(Flow& f, Connection& c) {
    while (c.n_streams > 0) finish_stream(f, c, c.n_streams - 1, true);
    for (auto& r : c.dir)
        if (r.inflater != nullptr) nghttp2_hd_inflate_del(r.inflater), r.inflater = nullptr;
    c.in_use = false;
    c.owner = nullptr;
    free_sessions_.release(f.h2_session);
    f.h2_session = kNoSession;
}

void Http2Inspector::on_data(Flow& f, Dir d, std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    Connection* c = f.h2_session == kNoSession ? nullptr : &sessions_[f.h2_session];
    if (c != nullptr && c->upgraded) return;  // upgraded_data() has its bytes
    if (c == nullptr) {
        if (f.inspect_flags & (inspect_flag::kNotHttp2 | inspect_flag::kHttp2 |
                               inspect_flag::kTunnel | inspect_flag::kNotHttp))
            return;
        if (d == Dir::ToServer) {
            const size_t n = std::min(bytes.size(), kClientPreface.size());
            if (std::memcmp(bytes.data(), kClientPreface.data(), n) != 0) {
                f.inspect_flags |= inspect_flag::kNotHttp2;
                if (!f.handshake_seen && looks_like_frame(bytes)) midstream(f);
                return;
            }
            if ((c = start(f, false)) == nullptr) return;  // HTTP/1 counts it as HTTP/2 seen
        } else {
            // A server speaks first only on h2 (its SETTINGS on stream 0): start tentatively.
            if (bytes.size() < kFrameHeaderSize || bytes[3] != 4 || bytes[4] != 0 ||
                std::any_of(bytes.begin() + 5, bytes.begin() + 9, [](uint8_t b) { return b; }))
                return;
            if ((c = start(f, true)) == nullptr) return;
        }
    }
    feed(f, *c, d, bytes);
}

bool Http2Inspector::upgrade(Flow& f, const Transaction& request) {
    if (f.h2_session != kNoSession) return false;
    Connection* c = start(f, false);
    if (c == nullptr) return false;
    // The client's preface still comes (RFC 7540 section 3.2); the server's first frame is
    // its SETTINGS, right after the 101. The client's settings came in its HTTP2-Settings
    // header, which this stage does not read: what the server may send stays unbounded until
    // the client's SETTINGS frame (the same values) is acknowledged.
    c->upgraded = true;
    c->dir[idx(Dir::ToClient)].initial_window = kMaxWindow;
    Stream* s = open(f, *c, 1);
    if (s == nullptr) {
        end_connection(f, *c);
        return false;
    }
    // Stream 1 is the upgraded request, half-closed from the client: inspected already at its
    // request point by the HTTP/1.x stage; its answer is HTTP/2.
    if (s->head_buf != kNil) heads_.release(s->head_buf), s->head_buf = kNil;
    s->txn = request;
    s->txn.protocol = HttpProtocol::Http2;
    s->txn.stream_id = 1;
    s->req_headers = true;
    s->req_done = true;
    c->last_client_stream = 1;
    f.app_proto = AppProto::Http2;
    ++ctr_[H2Ctr::Upgrades];
    return true;
}

void Http2Inspector::upgraded_data(Flow& f, Dir d, std::span<const uint8_t> bytes) {
    if (f.h2_session == kNoSession || bytes.empty()) return;
    Connection& c = sessions_[f.h2_session];
    if (c.upgraded) feed(f, c, d, bytes);
}

void Http2Inspector::upgraded_gap(Flow& f, Dir d, uint32_t) {
    if (f.h2_session == kNoSession) return;
    Connection& c = sessions_[f.h2_session];
    // As on_gap: frames cannot be found again after a hole.
    if (c.upgraded && !c.stopped) stop(f, c, d, H2Anomaly::ProtocolError);
}

bool Http2Inspector::looks_like_frame(std::span<const uint8_t> b) {
    // A whole plausible frame header at the very first byte: a known type, the reserved bit
    // clear, a length the type allows, and the stream id its type needs.
    if (b.size() < kFrameHeaderSize) return false;
    const uint32_t len = uint32_t{b[0]} << 16 | uint32_t{b[1]} << 8 | b[2];
    const uint8_t type = b[3];
    const uint32_t stream = read_u32(b.data() + 5);
    if (type >= kFrameTypes || (stream >> 31) != 0 || len > kDefaultMaxFrameSize) return false;
    const bool conn = type == uint8_t(FrameType::Settings) || type == uint8_t(FrameType::Ping) ||
                      type == uint8_t(FrameType::Goaway);
    if (conn != (stream == 0) && type != uint8_t(FrameType::WindowUpdate)) return false;
    switch (static_cast<FrameType>(type)) {
        case FrameType::Settings:
            return len % 6 == 0;
        case FrameType::Ping:
            return len == 8;
        case FrameType::RstStream:
        case FrameType::WindowUpdate:
            return len == 4;
        case FrameType::Priority:
            return len == 5;
        default:
            return len > 0;
    }
}

void Http2Inspector::midstream(Flow& f) {
    // Its HPACK tables began before the capture did: no header block can be decoded. Counted
    // and said, so an operator sees an uninspected HTTP/2 connection rather than nothing.
    ++ctr_[H2Ctr::Midstream];
    ++ctr_.anomalies[static_cast<size_t>(H2Anomaly::Midstream)];
    f.inspect_flags |= inspect_flag::kHttp2;
    f.app_proto = AppProto::Http2;
    if (!eve_.enabled()) return;
    JsonBuilder& j = eve_.begin(f, "anomaly");
    j.object("anomaly")
        .field("type", std::string_view("applayer"))
        .field("event", h2_anomaly_name(H2Anomaly::Midstream))
        .field("layer", std::string_view("http2"))
        .field("direction", std::string_view("to_server"))
        .field("action", verdict_name(Verdict::Pass))
        .end_object();
    eve_.finish();
}

void Http2Inspector::on_gap(Flow& f, Dir d, uint32_t) {
    if (f.h2_session == kNoSession) return;
    Connection& c = sessions_[f.h2_session];
    if (c.upgraded) return;  // upgraded_gap() reports its holes
    // Frames cannot be found again after a hole, and the HPACK table is lost with them.
    if (!c.stopped) stop(f, c, d, H2Anomaly::ProtocolError);
}

void Http2Inspector::on_end(Flow& f, Dir) {
    if (f.h2_session == kNoSession) return;
    if (f.stream[0].ended && f.stream[1].ended) end_connection(f, sessions_[f.h2_session]);
}

void Http2Inspector::on_flow_end(Flow& f) {
    if (f.h2_session != kNoSession) end_connection(f, sessions_[f.h2_session]);
}

// --- frames ----------------------------------------------------------------------------------

void Http2Inspector::feed(Flow& f, Connection& c, Dir d, std::span<const uint8_t> bytes) {
    Connection::Reader& r = c.dir[idx(d)];
    while (!bytes.empty() && !c.stopped && c.in_use) {
        switch (r.state) {
            case ReadState::Preface: {
                // Until the whole preface is in, the flow may still be HTTP/1 ("POST" starts
                // like "PRI"): the HTTP/1 stage reads the same bytes meanwhile.
                const size_t n = std::min(bytes.size(), kClientPreface.size() - r.have);
                if (std::memcmp(bytes.data(), kClientPreface.data() + r.have, n) != 0) {
                    end_connection(f, c);
                    f.inspect_flags |= inspect_flag::kNotHttp2;
                    return;
                }
                r.have = static_cast<uint8_t>(r.have + n);
                bytes = bytes.subspan(n);
                if (r.have == kClientPreface.size()) {
                    r.state = ReadState::Header;
                    r.have = 0;
                    c.tentative = false;
                    // The HTTP/1 stage leaves it alone - unless it is the one handing over
                    // an upgraded connection's bytes.
                    if (!c.upgraded) f.inspect_flags |= inspect_flag::kHttp2;
                    ++ctr_[H2Ctr::Connections];
                }
                break;
            }
            case ReadState::Header: {
                const size_t n = std::min(bytes.size(), kFrameHeaderSize - r.have);
                std::memcpy(r.hdr + r.have, bytes.data(), n);
                r.have = static_cast<uint8_t>(r.have + n);
                bytes = bytes.subspan(n);
                if (r.have < kFrameHeaderSize) break;
                r.have = 0;
                if (!frame_header(f, c, d)) return;
                if (r.left == 0) frame_done(f, c, d);
                break;
            }
            case ReadState::Payload: {
                const size_t n = std::min<size_t>(bytes.size(), r.left);
                payload(f, c, d, bytes.first(n));
                bytes = bytes.subspan(n);
                if (!c.stopped && c.in_use && r.left == 0) frame_done(f, c, d);
                break;
            }
            case ReadState::Stopped:
                return;
        }
    }
}

bool Http2Inspector::frame_header(Flow& f, Connection& c, Dir d) {
    Connection::Reader& r = c.dir[idx(d)];
    r.fh = FrameHeader::parse(std::span<const uint8_t, kFrameHeaderSize>(r.hdr, kFrameHeaderSize));
    const FrameHeader& h = r.fh;
    ++ctr_[H2Ctr::Frames];
    r.left = h.length;
    r.prefix_need = r.prefix_have = r.pad = r.ctl_have = r.entry_have = 0;
    r.state = ReadState::Payload;
    if (h.length > r.max_frame) {
        stop(f, c, d, H2Anomaly::FrameTooLarge);
        return false;
    }
    const auto type = static_cast<FrameType>(h.type);
    // Inside a header block only its CONTINUATIONs may come (RFC 9113 section 6.10).
    if (r.in_block != (h.type == uint8_t(FrameType::Continuation)) ||
        (r.in_block && h.stream != r.block_stream)) {
        stop(f, c, d, H2Anomaly::ProtocolError);
        return false;
    }
    const bool on_stream = type == FrameType::Data || type == FrameType::Headers ||
                           type == FrameType::Priority || type == FrameType::RstStream ||
                           type == FrameType::PushPromise || type == FrameType::Continuation;
    const bool on_conn =
        type == FrameType::Settings || type == FrameType::Ping || type == FrameType::Goaway;
    bool ok = !(on_stream && h.stream == 0) && !(on_conn && h.stream != 0);
    switch (type) {
        case FrameType::Priority:
            ok = ok && h.length == 5;
            break;
        case FrameType::RstStream:
        case FrameType::WindowUpdate:
            ok = ok && h.length == 4;
            break;
        case FrameType::Ping:
            ok = ok && h.length == 8;
            break;
        case FrameType::Settings:
            ok = ok && (h.has(flag::kAck) ? h.length == 0 : h.length % 6 == 0);
            break;
        case FrameType::Goaway:
            ok = ok && h.length >= 8;
            break;
        case FrameType::Data: {
            r.prefix_need = h.has(flag::kPadded) ? 1 : 0;
            if (!ok) break;
            // Flow control (section 6.9.1): the whole payload, padding included, counts.
            Stream* s = find(c, h.stream);
            r.conn_window -= h.length;
            if (s != nullptr) s->window[idx(d)] -= h.length;
            if (r.conn_window < 0 || (s != nullptr && s->window[idx(d)] < 0))
                anomaly(f, c, d, H2Anomaly::FlowControl, h.stream);
            // Stream states (section 5.1): no DATA on a stream never opened, none after the
            // sender's END_STREAM.
            const bool idle = d == Dir::ToServer
                                  ? h.stream > c.last_client_stream
                                  : (h.stream & 1) && h.stream > c.last_client_stream;
            if (idle || (s != nullptr && d == Dir::ToServer && s->req_done))
                anomaly(f, c, d, H2Anomaly::StreamState, h.stream);
            break;
        }
        case FrameType::Headers:
            r.prefix_need = static_cast<uint8_t>((h.has(flag::kPadded) ? 1 : 0) +
                                                 (h.has(flag::kPriority) ? 5 : 0));
            break;
        case FrameType::PushPromise:
            r.prefix_need = static_cast<uint8_t>((h.has(flag::kPadded) ? 1 : 0) + 4);
            ok = ok && d == Dir::ToClient;
            break;
        case FrameType::Continuation:
            if (++r.continuations > opts_.max_continuations) {
                stop(f, c, d, H2Anomaly::ContinuationFlood);
                return false;
            }
            break;
        default:
            if (h.type >= kFrameTypes) ++ctr_[H2Ctr::UnknownFrames];
            break;
    }
    if (!ok || r.prefix_need > h.length) {
        stop(f, c, d, H2Anomaly::ProtocolError);
        return false;
    }
    if (type == FrameType::Headers || type == FrameType::PushPromise) {
        r.in_block = true;
        r.block_stream = h.stream;
        r.block_end_stream = type == FrameType::Headers && h.has(flag::kEndStream);
        r.block_bytes = 0;
        r.continuations = 0;
        r.block_over = false;
        r.block_final = false;
        r.block_trailers = false;
        r.block_tracked = false;
        if (type == FrameType::Headers) {
            Stream* s = find(c, h.stream);
            if (d == Dir::ToClient && (h.stream & 1) && h.stream > c.last_client_stream)
                anomaly(f, c, d, H2Anomaly::StreamState, h.stream);
            if (d == Dir::ToServer) {
                if (s == nullptr && h.stream > c.last_client_stream) s = open(f, c, h.stream);
                if (s != nullptr && s->req_headers) r.block_trailers = true;
            } else if (s != nullptr && s->resp_headers && !s->interim) {
                r.block_trailers = true;
            }
            r.block_tracked = s != nullptr && !r.block_trailers;
            if (s != nullptr && d == Dir::ToClient && !r.block_trailers) s->interim = false;
            if (d == Dir::ToServer && h.stream > c.last_client_stream)
                c.last_client_stream = h.stream;
            if (d == Dir::ToServer && !c.fp_done) fingerprint_done(c);
        }
    }
    return true;
}

void Http2Inspector::payload(Flow& f, Connection& c, Dir d, std::span<const uint8_t> bytes) {
    Connection::Reader& r = c.dir[idx(d)];
    const FrameHeader& h = r.fh;
    const auto type = static_cast<FrameType>(h.type);
    while (!bytes.empty() && r.prefix_have < r.prefix_need) {
        r.prefix[r.prefix_have++] = bytes[0];
        bytes = bytes.subspan(1);
        --r.left;
        if (r.prefix_have == r.prefix_need && h.has(flag::kPadded)) {
            r.pad = r.prefix[0];
            if (r.pad > r.left) {
                stop(f, c, d, H2Anomaly::ProtocolError);
                return;
            }
        }
    }
    if (bytes.empty()) return;
    // What is content, what is trailing padding.
    // Padding ends the payload: once inside it, nothing is content.
    const size_t content_left = r.left > r.pad ? r.left - r.pad : 0;
    const std::span<const uint8_t> content = bytes.first(std::min(bytes.size(), content_left));
    r.left -= static_cast<uint32_t>(bytes.size());
    if (content.empty()) return;
    switch (type) {
        case FrameType::Data: {
            uint32_t slot = 0;
            Stream* s = find(c, h.stream, &slot);
            if (s == nullptr) return;
            s->data_total[idx(d)] += content.size();
            Transaction* sse = d == Dir::ToClient ? &s->txn : nullptr;
            http::DirBody& b = s->body[idx(d)];
            const bool first = b.buf == kNil && !b.overflow;
            if (first && c.bodies_held >= opts_.body_buffers_per_connection) {
                // One connection may not take the worker's body buffers from everyone else:
                // past its quota a body is not kept, which is abuse (the configured verdict).
                b.overflow = true;
                anomaly(f, c, d, H2Anomaly::BodyQuota, s->id);
                return;
            }
            bodies_.append(f, d, b, sse, content, *this);
            if (first && b.buf != kNil) {
                ++c.bodies_held;
                s->body_since_ns[idx(d)] = eve_.now().ns;
            }
            return;
        }
        case FrameType::Headers:
        case FrameType::Continuation:
        case FrameType::PushPromise:
            header_fragment(f, c, d, content,
                            h.has(flag::kEndHeaders) && content.size() == content_left);
            return;
        case FrameType::Settings:
            for (uint8_t b : content) {
                r.entry[r.entry_have++] = b;
                if (r.entry_have == 6) {
                    settings_entry(c, d, r.entry);
                    r.entry_have = 0;
                }
            }
            return;
        default:
            for (uint8_t b : content)
                if (r.ctl_have < sizeof r.ctl) r.ctl[r.ctl_have++] = b;
            return;
    }
}

void Http2Inspector::settings_entry(Connection& c, Dir d, const uint8_t* e) {
    Connection::Reader& r = c.dir[idx(d)];
    const uint16_t id = static_cast<uint16_t>(e[0] << 8 | e[1]);
    const uint32_t value = read_u32(e + 2);
    if (id == setting::kHeaderTableSize) r.pending_table = value, r.pending_table_set = true;
    if (id == setting::kMaxFrameSize) r.pending_frame = value, r.pending_frame_set = true;
    if (id == setting::kInitialWindowSize) {
        // Bounds what the other side sends on every stream: a raise counts now, a cut once
        // that side acknowledged it.
        Connection::Reader& s = c.dir[idx(reverse(d))];
        if (int64_t{value} >= s.initial_window) {
            retarget_windows(c, reverse(d), value);
        } else {
            s.pending_initial = value;
            s.pending_initial_set = true;
        }
    }
    const size_t i = idx(d);
    if (!c.settings_done[i] && c.facts.n_settings[i] < rules::Http2Facts::kSettings)
        c.facts.settings[i][c.facts.n_settings[i]++] = {id, value};
    if (d == Dir::ToServer && !c.fp_settings) {
        if (c.fp_s_len != 0) put(c.fp_s, c.fp_s_len, ";");
        put_u(c.fp_s, c.fp_s_len, id);
        put(c.fp_s, c.fp_s_len, ":");
        put_u(c.fp_s, c.fp_s_len, value);
    }
}

void Http2Inspector::frame_done(Flow& f, Connection& c, Dir d) {
    Connection::Reader& r = c.dir[idx(d)];
    const FrameHeader h = r.fh;
    r.state = ReadState::Header;
    // What the http2.* keywords read, before the frame may complete a request or response.
    const size_t i = idx(d);
    rules::Http2Facts& facts = c.facts;
    if (h.stream == 0) {
        facts.frame_types[i] |= rules::h2_bit(h.type);
    } else if (Stream* s = find(c, h.stream)) {
        s->frame_types[i] |= rules::h2_bit(h.type);
        if (h.type == uint8_t(FrameType::RstStream))
            s->error_codes[i] |= rules::h2_bit(read_u32(r.ctl));
    }
    if (h.type == uint8_t(FrameType::Goaway))
        facts.error_codes[i] |= rules::h2_bit(read_u32(r.ctl + 4));
    if (h.type == uint8_t(FrameType::WindowUpdate)) {
        auto& w = facts.windows[i];
        const uint32_t inc = read_u32(r.ctl) & 0x7fffffffu;
        if (facts.n_windows[i] < w.size()) {
            w[facts.n_windows[i]++] = inc;
        } else {  // keep the last kWindows
            std::move(w.begin() + 1, w.end(), w.begin());
            w.back() = inc;
        }
    }
    if (h.type == uint8_t(FrameType::Settings) && !h.has(flag::kAck)) c.settings_done[i] = true;
    switch (static_cast<FrameType>(h.type)) {
        case FrameType::Settings:
            if (h.has(flag::kAck)) {
                // The other side's settings are in force for what this side sends from now.
                // The other side's table limit bounds this side's encoder (our decoder of
                // this direction); its frame size limit bounds this side's frames.
                Connection::Reader& o = c.dir[idx(reverse(d))];
                if (o.pending_table_set)
                    nghttp2_hd_inflate_change_table_size(r.inflater, o.pending_table);
                if (o.pending_frame_set && o.pending_frame >= kDefaultMaxFrameSize &&
                    o.pending_frame <= 0xffffff)
                    r.max_frame = o.pending_frame;
                o.pending_table_set = o.pending_frame_set = false;
                if (r.pending_initial_set) retarget_windows(c, d, r.pending_initial);
                r.pending_initial_set = false;
            } else if (d == Dir::ToServer) {
                c.fp_settings = true;
            }
            break;
        case FrameType::WindowUpdate: {
            if (d == Dir::ToServer && h.stream == 0 && !c.fp_done && c.fp_wu_len == 0)
                put_u(c.fp_wu, c.fp_wu_len, read_u32(r.ctl) & 0x7fffffffu);
            // The receiver opens the other side's window, on the connection or one stream.
            const int64_t inc = read_u32(r.ctl) & 0x7fffffffu;
            const size_t o = idx(reverse(d));
            int64_t* w = nullptr;
            if (h.stream == 0) {
                w = &c.dir[o].conn_window;
            } else if (Stream* s = find(c, h.stream)) {
                w = &s->window[o];
            }
            if (w != nullptr && (*w += inc) > kMaxWindow)
                anomaly(f, c, d, H2Anomaly::FlowControl, h.stream);
            break;
        }
        case FrameType::Priority:
            if (d == Dir::ToServer && !c.fp_done) {
                if (c.fp_p_len != 0) put(c.fp_p, c.fp_p_len, ",");
                const uint32_t dep = read_u32(r.ctl);
                put_u(c.fp_p, c.fp_p_len, h.stream);
                put(c.fp_p, c.fp_p_len, (dep >> 31) ? ":1:" : ":0:");
                put_u(c.fp_p, c.fp_p_len, dep & 0x7fffffffu);
                put(c.fp_p, c.fp_p_len, ":");
                put_u(c.fp_p, c.fp_p_len, uint32_t{r.ctl[4]} + 1);
            }
            break;
        case FrameType::RstStream:
            reset_stream(f, c, d, h.stream);
            break;
        case FrameType::Data:
            if (h.has(flag::kEndStream))
                if (Stream* s = find(c, h.stream)) direction_done(f, c, *s, d);
            break;
        case FrameType::Headers:
        case FrameType::Continuation:
        case FrameType::PushPromise:
            if (h.has(flag::kEndHeaders)) block_done(f, c, d);
            break;
        default:
            break;
    }
}

// --- header blocks ---------------------------------------------------------------------------

void Http2Inspector::header_fragment(Flow& f, Connection& c, Dir d, std::span<const uint8_t> in,
                                     bool last) {
    Connection::Reader& r = c.dir[idx(d)];
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        const ssize_t n =
            nghttp2_hd_inflate_hd2(r.inflater, &nv, &flags, in.data(), in.size(), last ? 1 : 0);
        if (n < 0) {
            ++ctr_[n == NGHTTP2_ERR_NOMEM ? H2Ctr::HpackNoMemory : H2Ctr::HpackErrors];
            stop(f, c, d, H2Anomaly::HpackError);
            return;
        }
        in = in.subspan(static_cast<size_t>(n));
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
            r.block_bytes += static_cast<uint32_t>(nv.namelen + nv.valuelen + 32);
            if (r.block_bytes > opts_.max_header_bytes && !r.block_over) {
                r.block_over = true;
                anomaly(f, c, d, H2Anomaly::HeaderListTooLarge, r.block_stream);
            }
            if (r.block_tracked && !r.block_over)
                header_field(f, c, d, {reinterpret_cast<const char*>(nv.name), nv.namelen},
                             {reinterpret_cast<const char*>(nv.value), nv.valuelen});
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(r.inflater);
            r.block_final = true;
            return;
        }
        if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && (in.empty() || n == 0)) return;
    }
}

void Http2Inspector::header_field(Flow& f, Connection& c, Dir d, std::string_view name,
                                  std::string_view value) {
    Stream* s = find(c, c.dir[idx(d)].block_stream);
    if (s == nullptr) return;
    Transaction& t = s->txn;
    const bool pseudo = !name.empty() && name[0] == ':';
    if (has_upper(name)) anomaly(f, c, d, H2Anomaly::UppercaseHeader, s->id);
    if (bad_value(value)) anomaly(f, c, d, H2Anomaly::BadHeaderValue, s->id);
    if (!pseudo && is_connection_specific(name, value))
        anomaly(f, c, d, H2Anomaly::ConnectionHeader, s->id);
    if (name == "content-length") {
        uint64_t v = 0;
        if (parse_u64(value, v)) s->content_length[idx(d)] = static_cast<int64_t>(v);
    }
    http::DirBody& b = s->body[idx(d)];
    if (name == "content-encoding") b.set_codings(value);
    if (d == Dir::ToClient) {
        if (name == ":status") {
            uint64_t st = 0;
            if (parse_u64(value, st) && st < 1000) {
                s->interim = st >= 100 && st < 200;
                if (!s->interim) {
                    t.status = static_cast<uint16_t>(st);
                    t.has_response = true;
                }
            }
        } else if (name == "content-type" && !s->interim) {
            t.ctype_len = copy_bounded(t.ctype, value);
            t.sse = value.find("text/event-stream") != std::string_view::npos;
            b.json = value.find("json") != std::string_view::npos;
            b.sse = t.sse;
        }
        if (!pseudo && !s->interim && !c.dir[idx(d)].block_trailers)
            response_field(*s, name, value);
        return;
    }
    // The request's fields: bounded copies for the record, the list itself for identity and
    // the rules (lines "name: value\r\n" from the buffer's start, pseudo values from its end).
    if (!c.fp_pseudo && pseudo && name.size() >= 2 && size_t{c.fp_ps_len} + 2 <= sizeof c.fp_ps) {
        const char letter = name == ":method"      ? 'm'
                            : name == ":authority" ? 'a'
                            : name == ":scheme"    ? 's'
                            : name == ":path"      ? 'p'
                                                   : '?';
        if (c.fp_ps_len != 0) put(c.fp_ps, c.fp_ps_len, ",");
        put(c.fp_ps, c.fp_ps_len, std::string_view(&letter, 1));
    }
    if (name == ":method") {
        t.method_len = copy_bounded(t.method, value);
        t.head_request = value == "HEAD";
        t.connect = value == "CONNECT";
    } else if (name == ":path") {
        t.url_len = static_cast<uint16_t>(masked_url(t.url, value));
    } else if (name == ":authority" || name == "host") {
        if (t.host_len == 0 || name == "host") t.host_len = copy_bounded(t.host, value);
    } else if (name == "user-agent") {
        t.ua_len = copy_bounded(t.ua, value);
    } else if (name == "content-type") {
        b.json = value.find("json") != std::string_view::npos;
    }
    if (s->head_buf == kNil || s->head_overflow) return;
    std::span<char> buf = heads_[s->head_buf];
    http::MessageHead& m = parsed_[s->head_buf];
    if (pseudo) {
        if (value.size() > s->pseudo_at - s->head_len) {
            s->head_overflow = true;
            return;
        }
        s->pseudo_at -= static_cast<uint32_t>(value.size());
        std::memcpy(buf.data() + s->pseudo_at, value.data(), value.size());
        const std::string_view v(buf.data() + s->pseudo_at, value.size());
        if (name == ":method") m.method = v;
        if (name == ":path") m.target = v;
        if (name == ":authority") s->authority = v;
        return;
    }
    if (!append_field(m, buf.first(s->pseudo_at), s->head_len, name, value))
        s->head_overflow = true;
}

void Http2Inspector::response_field(Stream& s, std::string_view name, std::string_view value) {
    if (s.resp_overflow || !txn_.wants_response_headers()) return;
    if (s.resp_head == kNil) {
        s.resp_head = heads_.alloc();
        if (s.resp_head == kNil) {
            s.resp_overflow = true;  // none free: the response is inspected without them
            return;
        }
        parsed_[s.resp_head] = http::MessageHead{};
        s.resp_len = 0;
    }
    if (!append_field(parsed_[s.resp_head], heads_[s.resp_head], s.resp_len, name, value))
        s.resp_overflow = true;
}

void Http2Inspector::block_done(Flow& f, Connection& c, Dir d) {
    Connection::Reader& r = c.dir[idx(d)];
    // A block whose last frame carried no content: the decoder still has to see its end.
    if (!r.block_final) header_fragment(f, c, d, {}, true);
    if (c.stopped) return;
    r.in_block = false;
    ++ctr_[H2Ctr::HeaderBlocks];
    if (d == Dir::ToServer && !r.block_trailers && r.block_tracked && !c.fp_pseudo) {
        c.fp_pseudo = true;
        put(c.fp, c.fp_len, std::string_view(c.fp_ps, c.fp_ps_len));
    }
    if (r.block_trailers) ++ctr_[H2Ctr::Trailers];
    Stream* s = find(c, r.block_stream);
    if (s == nullptr) return;
    if (d == Dir::ToServer && !r.block_trailers) s->req_headers = true;
    if (d == Dir::ToClient && !r.block_trailers && !s->interim) s->resp_headers = true;
    if (r.block_end_stream) direction_done(f, c, *s, d);
}

// --- streams ---------------------------------------------------------------------------------

Http2Inspector::Stream* Http2Inspector::find(Connection& c, uint32_t id, uint32_t* slot) {
    for (uint16_t i = 0; i < c.n_streams; ++i)
        if (streams_[c.slots[i]].id == id) {
            if (slot != nullptr) *slot = i;
            return &streams_[c.slots[i]];
        }
    return nullptr;
}

Http2Inspector::Stream* Http2Inspector::open(Flow& f, Connection& c, uint32_t id) {
    if (c.n_streams >= opts_.max_concurrent_streams) {
        ++ctr_[H2Ctr::StreamsUntracked];
        anomaly(f, c, Dir::ToServer, H2Anomaly::TooManyStreams, id);
        return nullptr;
    }
    const uint32_t i = free_streams_.alloc();
    if (i == IndexPool::kNil) {
        ++ctr_[H2Ctr::StreamsUntracked];
        return nullptr;
    }
    Stream& s = streams_[i];
    s = Stream{};
    s.id = id;
    s.conn = f.h2_session;
    s.opened_ns = eve_.now().ns;
    s.txn = Transaction{};
    s.txn.protocol = HttpProtocol::Http2;
    s.txn.stream_id = id;
    s.window[0] = c.dir[0].initial_window;
    s.window[1] = c.dir[1].initial_window;
    s.head_buf = heads_.alloc();
    if (s.head_buf != kNil) {
        parsed_[s.head_buf] = http::MessageHead{};
        s.pseudo_at = static_cast<uint32_t>(heads_.buffer_size());
    }
    c.slots[c.n_streams++] = static_cast<uint16_t>(i);
    ++ctr_[H2Ctr::Streams];
    return &s;
}

void Http2Inspector::retarget_windows(Connection& c, Dir sender, int64_t initial) {
    Connection::Reader& r = c.dir[idx(sender)];
    const int64_t delta = initial - r.initial_window;
    r.initial_window = initial;
    for (uint16_t i = 0; i < c.n_streams; ++i) streams_[c.slots[i]].window[idx(sender)] += delta;
}

void Http2Inspector::release_body(Connection& c, Stream& s, size_t d) {
    if (s.body[d].buf != kNil && c.bodies_held > 0) --c.bodies_held;
    bodies_.release(s.body[d]);
}

bool Http2Inspector::reclaim(const Flow& asking, http::MessageBodies::Held what) {
    // As the HTTP/1.x stage does (only on exhaustion, one scan): the stream that has held a
    // body buffer (or decoder) longest, at least http.reclaim_after_ms, gives it up.
    if (what == http::MessageBodies::Held::Head) return false;  // HTTP/2 heads are its own
    const uint64_t now = eve_.now().ns;
    const uint64_t min_age = uint64_t{http_.reclaim_after_ms} * 1'000'000;
    Stream* victim = nullptr;
    size_t dir = 0;
    for (Stream& s : streams_) {
        if (s.conn == kNoSession || s.conn >= sessions_.size()) continue;
        const Connection& c = sessions_[s.conn];
        if (!c.in_use || c.owner == nullptr || c.owner == &asking) continue;
        for (size_t i = 0; i < 2; ++i) {
            const bool holds = what == http::MessageBodies::Held::Body
                                   ? s.body[i].buf != kNil
                                   : s.body[i].dec != http::BodyDecoders::kNil;
            if (!holds || now - s.body_since_ns[i] < min_age) continue;
            if (victim == nullptr || s.body_since_ns[i] < victim->body_since_ns[dir])
                victim = &s, dir = i;
        }
    }
    if (victim == nullptr) return false;
    Connection& c = sessions_[victim->conn];
    Flow& f = *c.owner;
    ++ctr_[H2Ctr::BodiesReclaimed];
    f.verdict.merge(http_.reclaim_verdict);
    if (http_.reclaim_verdict >= Verdict::Alert) f.alerted = true;
    if (eve_.enabled()) {
        JsonBuilder& j = eve_.begin(f, "anomaly");
        j.object("anomaly")
            .field("type", std::string_view("applayer"))
            .field("event", std::string_view("http_buffer_reclaimed"))
            .field("layer", std::string_view("http2"))
            .field("direction",
                   dir == 0 ? std::string_view("to_server") : std::string_view("to_client"))
            .field("stream_id", victim->id)
            .field("resource", what == http::MessageBodies::Held::Body
                                   ? std::string_view("body_buffer")
                                   : std::string_view("decoder"))
            .field("action", verdict_name(http_.reclaim_verdict))
            .field("held_ms", (now - victim->body_since_ns[dir]) / 1'000'000)
            .end_object();
        eve_.finish();
    }
    // The body is given up (logged over the cap when its stream ends); the stream stays.
    release_body(c, *victim, dir);
    victim->body[dir].overflow = true;
    return true;
}

rules::Http2Facts Http2Inspector::facts_of(const Connection& c, const Stream& s) {
    rules::Http2Facts out = c.facts;
    for (size_t i = 0; i < 2; ++i) {
        out.frame_types[i] |= s.frame_types[i];
        out.error_codes[i] |= s.error_codes[i];
    }
    return out;
}

void Http2Inspector::request_done(Flow& f, Stream& s) {
    if (s.req_done) return;
    s.req_done = true;
    Transaction& t = s.txn;
    http::DirBody& b = s.body[0];
    t.req_complete = true;
    t.req_body = s.data_total[0];
    t.req_over_cap = b.overflow;
    static const http::MessageHead kNone;
    const http::MessageHead& m = s.head_buf != kNil ? parsed_[s.head_buf] : kNone;
    MessageView req{m.method,
                    m.target,
                    s.head_buf != kNil ? s.authority : std::string_view(),
                    0,
                    m.header_block,
                    m.fields(),
                    bodies_.view(b)};
    Connection& c = sessions_[s.conn];
    const rules::Http2Facts facts = facts_of(c, s);
    req.http2 = &facts;
    names_.clear();
    for (const http::Header& h : m.fields()) {
        if (names_.size() + h.name.size() + 2 > names_.capacity()) break;  // bounded, no growth
        names_.append(h.name).append("\r\n");
    }
    req.header_names = names_;
    txn_.on_request(f, t, req, *this);
    b.stream = req.body.stream;
}

void Http2Inspector::direction_done(Flow& f, Connection& c, Stream& s, Dir d) {
    const size_t i = idx(d);
    if (s.content_length[i] >= 0 && uint64_t(s.content_length[i]) != s.data_total[i])
        anomaly(f, c, d, H2Anomaly::ContentLengthMismatch, s.id);
    if (d == Dir::ToServer) {
        request_done(f, s);
        release_body(c, s, 0);
        if (s.head_buf != kNil) heads_.release(s.head_buf), s.head_buf = kNil;
        return;
    }
    s.resp_done = true;
    Transaction& t = s.txn;
    t.resp_body = s.data_total[1];
    t.resp_over_cap = s.body[1].overflow;
    MessageView resp;
    resp.status = t.status;
    resp.body = bodies_.view(s.body[1]);
    if (s.resp_head != kNil) {
        resp.headers = parsed_[s.resp_head].fields();
        resp.header_block = parsed_[s.resp_head].header_block;
    }
    const rules::Http2Facts facts = facts_of(c, s);
    resp.http2 = &facts;
    txn_.on_response(f, t, resp);
    if (s.resp_head != kNil) heads_.release(s.resp_head), s.resp_head = kNil;
    s.body[1].stream = resp.body.stream;
    uint32_t slot = 0;
    if (find(c, s.id, &slot) != nullptr) finish_stream(f, c, slot, false);
}

void Http2Inspector::finish_stream(Flow& f, Connection& c, uint32_t slot, bool truncated) {
    const uint16_t i = c.slots[slot];
    Stream& s = streams_[i];
    Transaction& t = s.txn;
    if (s.req_headers && !s.req_done) {
        t.req_truncated = truncated;
        request_done(f, s);
    }
    if (s.resp_headers && !s.resp_done) t.resp_truncated = truncated;
    if (s.req_headers) {
        t.client_fingerprint = std::string_view(c.fp, c.fp_len);
        txn_.on_complete(f, t);
    }
    release_body(c, s, 0);
    release_body(c, s, 1);
    if (s.head_buf != kNil) heads_.release(s.head_buf);
    if (s.resp_head != kNil) heads_.release(s.resp_head);
    s = Stream{};
    free_streams_.release(i);
    c.slots[slot] = c.slots[--c.n_streams];
}

void Http2Inspector::reset_stream(Flow& f, Connection& c, Dir d, uint32_t id) {
    ++ctr_[H2Ctr::StreamsReset];
    uint32_t slot = 0;
    Stream* s = find(c, id, &slot);
    if (d == Dir::ToServer) {
        // Rapid reset: the client opening streams and resetting them at once costs the server
        // work for nothing; counted in a window per connection.
        const uint64_t now = eve_.now().ns;
        const uint64_t window = uint64_t{opts_.rapid_reset_window_ms} * 1'000'000;
        if (now - c.reset_window_ns > window) c.reset_window_ns = now, c.resets_in_window = 0;
        if (s == nullptr || now - s->opened_ns <= window) ++c.resets_in_window;
        if (c.resets_in_window > opts_.rapid_reset_count)
            anomaly(f, c, d, H2Anomaly::RapidReset, id);
    }
    if (s != nullptr) finish_stream(f, c, slot, true);
}

// --- anomalies -------------------------------------------------------------------------------

void Http2Inspector::anomaly(Flow& f, Connection& c, Dir d, H2Anomaly a, uint32_t stream_id) {
    ++ctr_.anomalies[static_cast<size_t>(a)];
    const bool smuggling = h2_smuggling_shape(a);
    // Flow-control and stream-state violations are recorded, not enforced: the peer itself
    // refuses them, and a mistaken window count must never cut a customer.
    // A header list past the limit keeps only its first fields (a credential after filler
    // would not be seen): the cap action, as an over-long HTTP/1 head.
    const Verdict v = smuggling                            ? http_.smuggling_verdict
                      : a == H2Anomaly::HeaderListTooLarge ? http_.cap_verdict
                      : (a == H2Anomaly::FlowControl || a == H2Anomaly::StreamState)
                          ? Verdict::Alert
                          : opts_.abuse_verdict;
    f.verdict.merge(v);
    if (v >= Verdict::Alert) f.alerted = true;
    const uint32_t bit = 1u << static_cast<unsigned>(a);
    if ((c.anomalies_seen & bit) != 0 || !eve_.enabled()) return;
    c.anomalies_seen |= bit;
    JsonBuilder& j = eve_.begin(f, "anomaly");
    j.object("anomaly")
        .field("type", std::string_view("applayer"))
        .field("event", h2_anomaly_name(a))
        .field("layer", std::string_view("http2"))
        .field("direction",
               d == Dir::ToServer ? std::string_view("to_server") : std::string_view("to_client"))
        .field("stream_id", stream_id)
        .field("action", verdict_name(v));
    if (smuggling) j.field("smuggling", true);
    j.end_object();
    eve_.finish();
}

void Http2Inspector::transaction_anomaly(Flow& f, Dir d, http::Anomaly a) {
    // Transaction-level findings (several credentials, a capped decode): the HTTP/1 names,
    // recorded on this layer.
    if (!eve_.enabled()) return;
    JsonBuilder& j = eve_.begin(f, "anomaly");
    j.object("anomaly")
        .field("type", std::string_view("applayer"))
        .field("event", http::anomaly_name(a))
        .field("layer", std::string_view("http2"))
        .field("direction",
               d == Dir::ToServer ? std::string_view("to_server") : std::string_view("to_client"))
        .end_object();
    eve_.finish();
}

void Http2Inspector::stop(Flow& f, Connection& c, Dir d, H2Anomaly why) {
    if (c.stopped) return;
    c.stopped = true;
    ++ctr_[H2Ctr::ParseStopped];
    anomaly(f, c, d, why, c.dir[idx(d)].fh.stream);
    for (auto& r : c.dir) r.state = ReadState::Stopped;
    while (c.n_streams > 0) finish_stream(f, c, c.n_streams - 1, true);
}

void Http2Inspector::fingerprint_done(Connection& c) {
    // SETTINGS|WINDOW_UPDATE|PRIORITY|PSEUDO_HEADER_ORDER, as published by Akamai (Shuster and
    // Ohana, 2017): "00" for no connection WINDOW_UPDATE, "0" for no PRIORITY frame. The pseudo
    // order is appended when the first request's fields are read.
    c.fp_done = true;
    c.fp_len = 0;
    put(c.fp, c.fp_len, std::string_view(c.fp_s, c.fp_s_len));
    put(c.fp, c.fp_len, "|");
    put(c.fp, c.fp_len, c.fp_wu_len ? std::string_view(c.fp_wu, c.fp_wu_len) : "00");
    put(c.fp, c.fp_len, "|");
    put(c.fp, c.fp_len, c.fp_p_len ? std::string_view(c.fp_p, c.fp_p_len) : "0");
    put(c.fp, c.fp_len, "|");
}

// --- audit -----------------------------------------------------------------------------------

void Http2Inspector::audit(const Flow& f, PoolAudit& a) const {
    if (f.h2_session == kNoSession) return;
    a.claim(PoolKind::H2Sessions, f.h2_session, f.flow_id);
    if (f.h2_session >= sessions_.size()) return;
    const Connection& c = sessions_[f.h2_session];
    if (!c.in_use || c.owner != &f || c.owner_id != f.flow_id)
        a.violation(PoolKind::H2Sessions, f.h2_session, f.flow_id, "owner names another flow");
    for (uint16_t i = 0; i < c.n_streams; ++i) {
        const Stream& s = streams_[c.slots[i]];
        a.claim(PoolKind::H2Streams, c.slots[i], f.flow_id);
        if (s.conn != f.h2_session)
            a.violation(PoolKind::H2Streams, c.slots[i], f.flow_id,
                        "stream names another connection");
        if (s.head_buf != kNil) a.claim(PoolKind::H2HeadBuffers, s.head_buf, f.flow_id);
        if (s.resp_head != kNil) a.claim(PoolKind::H2HeadBuffers, s.resp_head, f.flow_id);
        for (const http::DirBody& b : s.body) {
            if (b.buf != kNil) a.claim(PoolKind::BodyBuffers, b.buf, f.flow_id);
            if (b.dec != http::BodyDecoders::kNil) a.claim(PoolKind::Decoders, b.dec, f.flow_id);
            if (b.dec2 != http::BodyDecoders::kNil) a.claim(PoolKind::Decoders, b.dec2, f.flow_id);
        }
    }
}

void Http2Inspector::audit_pools(PoolAudit& a) const {
    a.pool(PoolKind::H2Sessions, static_cast<uint32_t>(sessions_.size()), free_sessions_.in_use());
    a.pool(PoolKind::H2Streams, static_cast<uint32_t>(streams_.size()), free_streams_.in_use());
    a.pool(PoolKind::H2HeadBuffers, heads_.count(), heads_.in_use());
}

std::optional<AnswerFallback> Http2Inspector::h2_answer_limits(const Flow& f, uint32_t stream_id,
                                                               H2AnswerLimits& out) const {
    if (f.h2_session == kNoSession) return AnswerFallback::Http2;
    const Connection& c = sessions_[f.h2_session];
    if (!c.in_use || c.owner_id != f.flow_id || c.stopped || c.tentative)
        return AnswerFallback::Http2;
    // Frames of ours go where the server's last frame ended, never inside a header block
    // (RFC 9113 6.10: nothing may interleave with CONTINUATION).
    const Connection::Reader& srv = c.dir[idx(Dir::ToClient)];
    if (srv.state != ReadState::Header || srv.have != 0 || srv.in_block)
        return AnswerFallback::Http2;
    out.max_frame = srv.max_frame;
    out.conn_window = srv.conn_window;
    out.stream_window = srv.initial_window;
    for (uint16_t i = 0; i < c.n_streams; ++i)
        if (streams_[c.slots[i]].id == stream_id)
            out.stream_window = streams_[c.slots[i]].window[idx(Dir::ToClient)];
    out.last_client_stream = std::max(c.last_client_stream, stream_id);
    out.server_preface = !c.settings_done[idx(Dir::ToClient)];
    return std::nullopt;
}

}  // namespace sluice::http2
