#include "rules/rule_parser.h"

#include "rules/events.h"
#include "rules/pcre_options.h"

#include "common/digest.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <span>
#include <type_traits>

namespace sluice::rules {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

template <typename T>
bool parse_int(std::string_view s, T& out) {
    s = trim(s);
    if (s.empty()) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Sticky buffer names. Dotted names work in both dialects; underscore names are sticky in
// Snort 3 and (except file_data/pkt_data) content modifiers in Suricata.
struct BufferName {
    std::string_view name;
    Buffer buffer;
};
constexpr BufferName kDotted[] = {
    {"http.method", Buffer::HttpMethod},
    {"http.uri", Buffer::HttpUri},
    {"http.host", Buffer::HttpHost},
    {"http.user_agent", Buffer::HttpUserAgent},
    {"http.header", Buffer::HttpHeader},
    {"http.cookie", Buffer::HttpCookie},
    {"http.request_body", Buffer::HttpRequestBody},
    {"http.response_body", Buffer::HttpResponseBody},
    {"http.stat_code", Buffer::HttpStatCode},
    {"file.data", Buffer::HttpResponseBody},
    {"tls.sni", Buffer::TlsSni},
    {"ja3.hash", Buffer::Ja3Hash},
    {"ja4.hash", Buffer::Ja4Hash},
    {"ja3.string", Buffer::Ja3String},
    {"ja3s.hash", Buffer::Ja3sHash},
    {"ja3s.string", Buffer::Ja3sString},
    {"tls.cert_subject", Buffer::TlsCertSubject},
    {"tls.cert_issuer", Buffer::TlsCertIssuer},
    {"tls.cert_serial", Buffer::TlsCertSerial},
    {"tls.cert_fingerprint", Buffer::TlsCertFingerprint},
    {"ja3_string", Buffer::Ja3String},  // Suricata's older names of the same buffers
    {"ja3s_hash", Buffer::Ja3sHash},
    {"ja3s_string", Buffer::Ja3sString},
    {"tls_cert_subject", Buffer::TlsCertSubject},
    {"tls_cert_issuer", Buffer::TlsCertIssuer},
    {"tls_cert_serial", Buffer::TlsCertSerial},
    {"tls_cert_fingerprint", Buffer::TlsCertFingerprint},
    {"http2.header_name", Buffer::Http2HeaderName},
    {"http.header_names", Buffer::HttpHeaderNames},
    {"http.request_line", Buffer::HttpRequestLine},
    {"http.protocol", Buffer::HttpProtocol},
    {"http.start", Buffer::HttpStart},
    {"http.content_len", Buffer::HttpContentLen},
    {"http.content_type", Buffer::HttpContentType},
    {"http.accept", Buffer::HttpAccept},
    {"http.accept_enc", Buffer::HttpAcceptEnc},
    {"http.accept_lang", Buffer::HttpAcceptLang},
    {"http.referer", Buffer::HttpReferer},
    {"http.connection", Buffer::HttpConnection},
    {"http.response_line", Buffer::HttpResponseLine},
    {"http.stat_msg", Buffer::HttpStatMsg},
    {"http.server", Buffer::HttpServer},
    {"http.location", Buffer::HttpLocation},
    {"http.request_header", Buffer::HttpRequestHeader},
    {"http.response_header", Buffer::HttpResponseHeader},
    // sluice keeps http.uri and http.header as sent: the raw forms are the same buffers.
    {"http.uri.raw", Buffer::HttpUri},
    {"http.header.raw", Buffer::HttpHeader},
    {"llm.prompt", Buffer::LlmPrompt},
    {"llm.system", Buffer::LlmSystem},
    {"llm.model", Buffer::LlmModel},
    {"ipv4.hdr", Buffer::Ipv4Hdr},
    {"tcp.hdr", Buffer::TcpHdr},
    {"ipv6.hdr", Buffer::Ipv6Hdr},
    {"udp.hdr", Buffer::UdpHdr},
};
constexpr BufferName kUnderscore[] = {
    {"http_method", Buffer::HttpMethod},
    {"http_uri", Buffer::HttpUri},
    {"http_host", Buffer::HttpHost},
    {"http_user_agent", Buffer::HttpUserAgent},
    {"http_header", Buffer::HttpHeader},
    {"http_cookie", Buffer::HttpCookie},
    {"http_client_body", Buffer::HttpRequestBody},
    {"http_server_body", Buffer::HttpResponseBody},
    {"http_stat_code", Buffer::HttpStatCode},
    {"http_stat_msg", Buffer::HttpStatMsg},
    {"http_raw_uri", Buffer::HttpUri},
    {"http_raw_header", Buffer::HttpHeader},
    {"tls_sni", Buffer::TlsSni},
    {"ja3_hash", Buffer::Ja3Hash},
    {"ja4_hash", Buffer::Ja4Hash},
    {"llm_prompt", Buffer::LlmPrompt},
    {"llm_system", Buffer::LlmSystem},
    {"llm_model", Buffer::LlmModel},
};

// Suricata's pcre flags that name a buffer (the ones sluice has).
struct LegacyPcreBuffer {
    char flag;
    Buffer buffer;
};
constexpr LegacyPcreBuffer kLegacyPcreBuffers[] = {
    {'U', Buffer::HttpUri},
    {'P', Buffer::HttpRequestBody},
    {'H', Buffer::HttpHeader},
    {'C', Buffer::HttpCookie},
    {'M', Buffer::HttpMethod},
    {'S', Buffer::HttpStatCode},
    // The raw forms are the same buffers: sluice keeps the URI, the header and the host as
    // sent (docs/rules.md).
    {'I', Buffer::HttpUri},
    {'D', Buffer::HttpHeader},
    {'Y', Buffer::HttpStatMsg},
    {'V', Buffer::HttpUserAgent},
    {'W', Buffer::HttpHost},
    {'Z', Buffer::HttpHost},
};
const LegacyPcreBuffer* find_legacy_pcre_buffer(char f) {
    for (const LegacyPcreBuffer& b : kLegacyPcreBuffers)
        if (b.flag == f) return &b;
    return nullptr;
}

const BufferName* find_buffer(std::span<const BufferName> table, std::string_view kw) {
    for (const BufferName& b : table)
        if (b.name == kw) return &b;
    return nullptr;
}

// Maps offsets in a logical rule (continuation lines joined) back to file positions.
struct LocationMap {
    struct Piece {
        size_t offset;
        uint32_t line;
        uint32_t column;  // 1-based column of the piece's first character
    };
    std::vector<Piece> pieces;
    SourceLocation at(std::string_view file, size_t off) const {
        const Piece* p = &pieces.front();
        for (const Piece& x : pieces)
            if (x.offset <= off) p = &x;
        return {std::string(file), p->line, p->column + static_cast<uint32_t>(off - p->offset)};
    }
};

struct RawOption {
    std::string_view keyword;
    std::string_view value;  // untrimmed text after ':' (empty if none)
    bool has_value = false;
    size_t kw_off = 0;
    size_t value_off = 0;
};

class RuleParser {
  public:
    RuleParser(std::string_view text, const LocationMap& loc, std::string_view file,
               Dialect dialect, const RuleVars& vars, ParsedFile& out)
        : text_(text), loc_(loc), file_(file), dialect_(dialect), vars_(vars), out_(out) {}

    void parse();

  private:
    bool error(size_t off, std::string msg) {
        RuleError e{loc_.at(file_, off), std::move(msg)};
        e.sid = sid_hint_;
        out_.errors.push_back(std::move(e));
        failed_ = true;
        return false;
    }
    // Something sluice does not do (as opposed to a malformed rule): `what` is what a report
    // counts it by.
    bool unsupported(size_t off, std::string what, std::string msg) {
        error(off, std::move(msg));
        out_.errors.back().unsupported = std::move(what);
        return false;
    }
    void skip_ws() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    std::string_view header_token();
    bool parse_header();
    bool split_options(size_t end);
    bool apply_option(const RawOption& o);
    bool parse_content(const RawOption& o);
    bool parse_pcre(const RawOption& o);
    bool parse_dataset(const RawOption& o);
    bool parse_flow(const RawOption& o);
    bool parse_bsize(const RawOption& o);
    bool parse_transform(const RawOption& o, Transform t, bool with_value = false);
    bool parse_flowbits(const RawOption& o);
    bool parse_requires(const RawOption& o);
    bool parse_byte(const RawOption& o, bool jump);
    bool parse_byte_extract(const RawOption& o);
    bool parse_byte_math(const RawOption& o);
    bool parse_base64_decode(const RawOption& o);
    bool parse_base64_data(const RawOption& o);
    bool parse_tls_check(const RawOption& o);
    bool parse_flowint(const RawOption& o);
    bool parse_event(const RawOption& o, EventKind kind);
    // A byte_extract / byte_math variable usable on the current buffer, or kNoVar (with an
    // error reported when `name` looks like a variable but is none here).
    std::optional<ByteVar> variable(std::string_view name, size_t off);
    bool define_variable(std::string_view name, size_t off, ByteVar& out);
    // Adds a condition on the current buffer with the transforms in force; one buffer keeps one
    // chain per rule.
    bool push_condition(Condition&& c, size_t off);
    bool parse_isdataat(const RawOption& o);
    bool parse_http2(const RawOption& o);
    bool parse_packet_check(const RawOption& o, PacketCheck::Kind kind);
    bool parse_metadata(const RawOption& o);
    bool parse_threshold(const RawOption& o, std::string_view kw);
    bool content_modifier(const RawOption& o, std::string_view name, std::string_view arg,
                          Content& c, size_t off);
    bool finish();
    Content* last_content(const RawOption& o);

    std::string_view text_;
    const LocationMap& loc_;
    std::string_view file_;
    Dialect dialect_;
    const RuleVars& vars_;
    ParsedFile& out_;
    size_t pos_ = 0;
    bool failed_ = false;
    Rule rule_;
    Buffer current_ = Buffer::Stream;
    bool sticky_ = false;
    std::vector<RawOption> options_;
    size_t fast_patterns_ = 0;
    uint32_t sid_hint_ = 0;
    std::vector<Transform> transforms_;  // after the current sticky buffer
    std::vector<Buffer> var_buffer_;     // per byte variable: the buffer it was read from
    bool decoded_ = false;               // after base64_data: conditions read the decoded bytes
};

// The sid a rule's text names, found before the rule is parsed so that every error about it
// (header ones included) can say which rule failed. 0 when there is none.
uint32_t find_sid(std::string_view text) {
    for (size_t at = text.find("sid"); at != std::string_view::npos;
         at = text.find("sid", at + 3)) {
        const char before = at == 0 ? '(' : text[at - 1];
        if (before != '(' && before != ';' && !std::isspace(static_cast<unsigned char>(before)))
            continue;
        size_t i = at + 3;
        while (i < text.size() && text[i] == ' ') ++i;
        if (i >= text.size() || text[i] != ':') continue;
        ++i;
        while (i < text.size() && text[i] == ' ') ++i;
        uint64_t v = 0;
        size_t digits = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && v < 1u << 31)
            v = v * 10 + static_cast<uint64_t>(text[i++] - '0'), ++digits;
        if (digits > 0 && v <= UINT32_MAX) return static_cast<uint32_t>(v);
    }
    return 0;
}

std::string_view RuleParser::header_token() {
    skip_ws();
    const size_t start = pos_;
    int depth = 0;
    while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (c == '[') ++depth;
        if (c == ']') --depth;
        if (depth <= 0 && (std::isspace(static_cast<unsigned char>(c)) || c == '(')) break;
        ++pos_;
    }
    return text_.substr(start, pos_ - start);
}

bool RuleParser::parse_header() {
    size_t at = (skip_ws(), pos_);
    const std::string_view action = header_token();
    if (action == "alert")
        rule_.action = Action::Alert;
    else if (action == "drop")
        rule_.action = Action::Drop;
    else if (action == "reject" || action == "rejectsrc" || action == "rejectdst" ||
             action == "rejectboth")
        rule_.action = Action::Reject;
    else if (action == "pass")
        rule_.action = Action::Pass;
    else
        return error(at, "expected an action (alert, drop, reject or pass), found '" +
                             std::string(action) + "'");

    at = (skip_ws(), pos_);
    const std::string_view proto = header_token();
    if (proto == "tcp" || proto == "tcp-stream")
        rule_.proto = Protocol::Tcp;
    else if (proto == "tcp-pkt")
        rule_.proto = Protocol::TcpPkt;
    else if (proto == "ip" || proto == "pkthdr")  // pkthdr: Suricata's decoder-event rules
        rule_.proto = Protocol::Ip;
    else if (proto == "udp")
        rule_.proto = Protocol::Udp;
    else if (proto == "icmp" || proto == "icmpv4" || proto == "icmpv6")
        rule_.proto = Protocol::Icmp;
    else if (proto == "http" || proto == "http1")
        rule_.proto = Protocol::Http;
    else if (proto == "tls" || proto == "ssl")
        rule_.proto = Protocol::Tls;
    else if (proto.empty() || proto == "(")
        return error(at, "expected a protocol (tcp, tcp-pkt, udp, icmp, ip, http or tls)");
    else
        return unsupported(at, "protocol " + std::string(proto),
                           "protocol '" + std::string(proto) +
                               "' is not inspected (supported: tcp, tcp-pkt, udp, icmp, ip, http, "
                               "tls)");

    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == '(') {
        // Snort 3 header-less rule: any address, any port, either direction.
        rule_.bidirectional = true;
        return true;
    }
    struct Part {
        std::string_view text;
        size_t off;
    } parts[5];
    for (Part& p : parts) {
        skip_ws();
        p.off = pos_;
        p.text = header_token();
        if (p.text.empty())
            return error(p.off, "rule header ends early: expected 'src sport -> dst dport ('");
    }
    std::string err;
    if (!parse_address_set(parts[0].text, vars_, rule_.src, err)) return error(parts[0].off, err);
    if (!parse_port_set(parts[1].text, vars_, rule_.src_ports, err))
        return error(parts[1].off, err);
    if (parts[2].text == "<>")
        rule_.bidirectional = true;
    else if (parts[2].text != "->")
        return error(parts[2].off, "expected a direction '->' or '<>', found '" +
                                       std::string(parts[2].text) + "'");
    if (!parse_address_set(parts[3].text, vars_, rule_.dst, err)) return error(parts[3].off, err);
    if (!parse_port_set(parts[4].text, vars_, rule_.dst_ports, err))
        return error(parts[4].off, err);
    skip_ws();
    if (pos_ >= text_.size() || text_[pos_] != '(')
        return error(pos_, "expected '(' to open the rule options");
    return true;
}

bool RuleParser::split_options(size_t end) {
    // pos_ is at '('; end is the index of the closing ')'.
    ++pos_;
    while (true) {
        skip_ws();
        if (pos_ >= end) return true;
        RawOption o;
        o.kw_off = pos_;
        while (pos_ < end && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                              text_[pos_] == '_' || text_[pos_] == '.' || text_[pos_] == '-'))
            ++pos_;
        o.keyword = text_.substr(o.kw_off, pos_ - o.kw_off);
        if (o.keyword.empty())
            return error(pos_,
                         std::string("expected an option keyword, found '") + text_[pos_] + "'");
        skip_ws();
        if (pos_ < end && text_[pos_] == ':') {
            ++pos_;
            o.has_value = true;
            o.value_off = pos_;
            bool quoted = false;
            while (pos_ < end) {
                const char c = text_[pos_];
                if (c == '\\' && pos_ + 1 < end) {
                    pos_ += 2;
                    continue;
                }
                if (c == '"') quoted = !quoted;
                if (c == ';' && !quoted) break;
                ++pos_;
            }
            if (quoted) return error(o.value_off, "unterminated string: expected a closing '\"'");
            o.value = text_.substr(o.value_off, pos_ - o.value_off);
        }
        skip_ws();
        if (pos_ >= end)
            return error(pos_, "expected ';' after option '" + std::string(o.keyword) + "'");
        if (text_[pos_] != ';')
            return error(pos_, "expected ';' after option '" + std::string(o.keyword) +
                                   "', found '" + text_[pos_] + "'");
        ++pos_;
        options_.push_back(o);
    }
}

// Decodes the body of a quoted content string: |hex| blocks and \" \; \\ \: \| escapes.
bool decode_content(std::string_view s, std::string& out, size_t& bad, std::string& why) {
    bool hex = false;
    int nibble = -1;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '|') {
            if (hex && nibble >= 0) {
                bad = i;
                why = "odd number of hex digits before '|'";
                return false;
            }
            hex = !hex;
            continue;
        }
        if (hex) {
            if (c == ' ') {
                if (nibble >= 0) {
                    bad = i;
                    why = "hex bytes are two digits each";
                    return false;
                }
                continue;
            }
            const int v = hex_value(c);
            if (v < 0) {
                bad = i;
                why = std::string("expected a hex digit, found '") + c + "'";
                return false;
            }
            if (nibble < 0) {
                nibble = v;
            } else {
                out.push_back(static_cast<char>(nibble * 16 + v));
                nibble = -1;
            }
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= s.size()) {
                bad = i;
                why = "a trailing '\\' escapes nothing";
                return false;
            }
            const char n = s[i + 1];
            if (n != '"' && n != ';' && n != '\\' && n != ':' && n != '|') {
                bad = i;
                why = std::string("unknown escape '\\") + n + "' (escape only \" ; \\ : |)";
                return false;
            }
            out.push_back(n);
            ++i;
            continue;
        }
        out.push_back(c);
    }
    if (hex) {
        bad = s.size();
        why = "unterminated hex block: expected a closing '|'";
        return false;
    }
    return true;
}

// Splits `[!]"body"rest` (leading whitespace allowed); returns false on a malformed string.
bool split_quoted(std::string_view v, bool& negated, std::string_view& body, std::string_view& rest,
                  size_t& body_off) {
    size_t i = 0;
    while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i]))) ++i;
    negated = false;
    if (i < v.size() && v[i] == '!') {
        negated = true;
        ++i;
        while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i]))) ++i;
    }
    if (i >= v.size() || v[i] != '"') return false;
    const size_t start = ++i;
    while (i < v.size() && v[i] != '"') {
        if (v[i] == '\\') ++i;
        ++i;
    }
    if (i >= v.size()) return false;
    body = v.substr(start, i - start);
    body_off = start;
    rest = v.substr(i + 1);
    return true;
}

Content* RuleParser::last_content(const RawOption& o) {
    // As Suricata: a modifier applies to the last content, even past other keywords
    // (content:"x"; bsize:3; fast_pattern;).
    for (auto it = rule_.conditions.rbegin(); it != rule_.conditions.rend(); ++it)
        if (it->kind == Condition::Kind::Content) return &it->content;
    error(o.kw_off, "'" + std::string(o.keyword) + "' must follow a content option");
    return nullptr;
}

bool RuleParser::content_modifier(const RawOption& o, std::string_view name, std::string_view arg,
                                  Content& c, size_t off) {
    (void)o;
    arg = trim(arg);
    if (name == "nocase") {
        c.nocase = true;
        return true;
    }
    if (name == "fast_pattern") {
        if (!arg.empty()) return error(off, "fast_pattern takes no argument here");
        if (c.negated) return error(off, "a negated content cannot be the fast pattern");
        c.fast_pattern = true;
        ++fast_patterns_;
        return true;
    }
    if (name == "startswith" || name == "endswith") {
        if (!arg.empty()) return error(off, std::string(name) + " takes no argument");
        if (name == "startswith") {
            if (c.offset || c.depth || c.relative())
                return error(off,
                             "startswith cannot be combined with offset, depth, distance "
                             "or within");
            c.startswith = true;
            c.offset = 0;
            c.depth = static_cast<int32_t>(c.bytes.size());
        } else {
            c.endswith = true;
        }
        return true;
    }
    int32_t v = 0;
    const bool num = parse_int(arg, v);
    if (name == "depth" || name == "offset" || name == "distance" || name == "within") {
        if (c.startswith)
            return error(off, std::string(name) + " cannot be combined with startswith");
        ByteVar var = kNoVar;
        if (!num) {
            // A byte_extract / byte_math variable read earlier on this buffer.
            const auto known = variable(arg, off);
            if (!known) return false;
            if (*known == kNoVar)
                return error(off, std::string(name) + " expects an integer or a variable, found '" +
                                      std::string(arg) + "'");
            var = *known;
        }
        const int32_t len = static_cast<int32_t>(c.bytes.size());
        if (name == "depth") {
            if (var == kNoVar && v < len) return error(off, "depth is shorter than the content");
            c.depth = v;
            c.depth_var = var;
        } else if (name == "offset") {
            if (v < 0) return error(off, "offset must not be negative");
            c.offset = v;
            c.offset_var = var;
        } else if (name == "distance") {
            c.distance = v;
            c.distance_var = var;
        } else {
            if (var == kNoVar && v < len) return error(off, "within is shorter than the content");
            c.within = v;
            c.within_var = var;
        }
        if ((c.depth || c.offset) && (c.distance || c.within))
            return error(off, "depth/offset cannot be combined with distance/within");
        return true;
    }
    return unsupported(off, std::string(name),
                       "unknown content modifier '" + std::string(name) + "'");
}

bool RuleParser::parse_content(const RawOption& o) {
    bool negated;
    std::string_view body, rest;
    size_t body_off;
    if (!o.has_value || !split_quoted(o.value, negated, body, rest, body_off))
        return error(o.has_value ? o.value_off : o.kw_off,
                     "content expects a quoted string, e.g. content:\"abc|0D 0A|\"");
    Condition cond;
    cond.kind = Condition::Kind::Content;
    cond.buffer = current_;
    cond.content.negated = negated;
    size_t bad = 0;
    std::string why;
    if (!decode_content(body, cond.content.bytes, bad, why))
        return error(o.value_off + body_off + bad, why);
    if (cond.content.bytes.empty()) return error(o.value_off + body_off, "content is empty");
    rest = trim(rest);
    size_t rest_off = static_cast<size_t>(rest.data() - text_.data());
    if (!rest.empty()) {
        if (rest.front() != ',') return error(rest_off, "expected ';' after the content string");
        if (dialect_ != Dialect::Snort3)
            return error(rest_off,
                         "content modifiers after a comma are Snort 3 syntax; in Suricata rules "
                         "write them as options (content:\"x\"; nocase;) or set "
                         "'# sluice-dialect: snort3'");
        // Snort 3: content:"x", nocase, depth 5, fast_pattern
        while (!rest.empty() && rest.front() == ',') {
            rest.remove_prefix(1);
            const size_t comma = rest.find(',');
            std::string_view item = rest.substr(0, comma);
            const size_t item_off = static_cast<size_t>(item.data() - text_.data());
            std::string_view t = trim(item);
            const size_t sp = t.find(' ');
            std::string_view name = t.substr(0, sp);
            std::string_view arg = sp == std::string_view::npos ? std::string_view() : t.substr(sp);
            if (!content_modifier(o, name, arg, cond.content, item_off)) return false;
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma);
        }
    }
    if (!push_condition(std::move(cond), o.kw_off)) return false;
    return true;
}

bool RuleParser::parse_pcre(const RawOption& o) {
    bool negated;
    std::string_view body, rest;
    size_t body_off;
    if (!o.has_value || !split_quoted(o.value, negated, body, rest, body_off) ||
        !trim(rest).empty())
        return error(o.has_value ? o.value_off : o.kw_off,
                     "pcre expects a quoted \"/regex/flags\"");
    const size_t base = o.value_off + body_off;
    if (body.size() < 2 || body.front() != '/')
        return error(base, "pcre expects \"/regex/flags\": missing the opening '/'");
    const size_t close = body.rfind('/');
    if (close == 0) return error(base, "pcre expects \"/regex/flags\": missing the closing '/'");
    Condition cond;
    cond.kind = Condition::Kind::Pcre;
    cond.buffer = current_;
    Pcre& p = cond.pcre;
    p.negated = negated;
    p.source = std::string(body);
    // Inside the quotes only \" and \; are rule-level escapes; the rest belongs to the regex.
    std::string_view pat = body.substr(1, close - 1);
    for (size_t i = 0; i < pat.size(); ++i) {
        if (pat[i] == '\\' && i + 1 < pat.size() && (pat[i + 1] == '"' || pat[i + 1] == ';')) {
            p.pattern.push_back(pat[++i]);
            continue;
        }
        p.pattern.push_back(pat[i]);
    }
    for (size_t i = close + 1; i < body.size(); ++i) {
        const char f = body[i];
        if (const LegacyPcreBuffer* lb = find_legacy_pcre_buffer(f)) {
            // Suricata's legacy buffer flags: the pcre inspects that buffer, as if a sticky
            // buffer named it.
            if (sticky_)
                return error(base + i, std::string("pcre flag '") + f +
                                           "' names a buffer, but the pcre already follows the "
                                           "sticky buffer " +
                                           std::string(buffer_name(current_)));
            cond.buffer = lb->buffer;
            continue;
        }
        switch (f) {
            case 'i':
                p.caseless = true;
                break;
            case 's':
                p.dotall = true;
                break;
            case 'm':
                p.multiline = true;
                break;
            case 'x':
                p.extended = true;
                break;
            case 'R':
                p.relative = true;
                break;
            case 'B':  // rawbytes: the stream buffer is already the raw bytes
            case 'O':  // Suricata's "override the match limit": sluice keeps its own limit
                break;
            default:
                return unsupported(base + i, std::string("pcre flag ") + f,
                                   std::string("pcre flag '") + f +
                                       "' is not supported (flags: i s m x R B O, and the "
                                       "buffers U P H C M S)");
        }
    }
    if (p.pattern.empty()) return error(base, "pcre pattern is empty");
    std::string why;
    if (!pcre_compiles(p, why)) return error(base, why);
    if (!push_condition(std::move(cond), o.kw_off)) return false;
    return true;
}

bool RuleParser::parse_dataset(const RawOption& o) {
    if (!o.has_value) return error(o.kw_off, "dataset expects isset,NAME or isnotset,NAME");
    std::vector<std::string_view> parts;
    std::string_view v = o.value;
    while (true) {
        const size_t c = v.find(',');
        parts.push_back(trim(v.substr(0, c)));
        if (c == std::string_view::npos) break;
        v = v.substr(c + 1);
    }
    Condition cond;
    cond.kind = Condition::Kind::Dataset;
    cond.buffer = current_;
    if (parts[0] == "isset")
        cond.dataset.op = DatasetOp::IsSet;
    else if (parts[0] == "isnotset")
        cond.dataset.op = DatasetOp::IsNotSet;
    else
        return error(o.value_off,
                     "dataset supports isset and isnotset, found '" + std::string(parts[0]) + "'");
    if (parts.size() < 2 || parts[1].empty())
        return error(o.value_off, "dataset expects a name: dataset:isset,NAME");
    cond.dataset.name = std::string(parts[1]);
    if (current_ == Buffer::Stream)
        return error(o.kw_off, "dataset needs a sticky buffer before it (e.g. ja4.hash;)");
    DatasetDecl decl;
    for (size_t i = 2; i < parts.size(); ++i) {
        const size_t sp = parts[i].find(' ');
        std::string_view k = parts[i].substr(0, sp);
        std::string_view a = sp == std::string_view::npos ? "" : trim(parts[i].substr(sp));
        if (k == "type") {
            if (a != "string" && a != "md5" && a != "sha256")
                return error(o.value_off, "dataset type must be string, md5 or sha256");
            decl.type = std::string(a);
        } else if (k == "load") {
            decl.load = std::string(a);
        } else {
            return error(o.value_off,
                         "unknown dataset option '" + std::string(k) + "' (supported: type, load)");
        }
    }
    if (!decl.load.empty()) {
        decl.name = cond.dataset.name;
        if (decl.type.empty()) decl.type = "string";
        decl.where = loc_.at(file_, o.kw_off);
        out_.datasets.push_back(std::move(decl));
    }
    if (!push_condition(std::move(cond), o.kw_off)) return false;
    return true;
}

namespace {

// Suricata's unsigned comparison: N, =N, !=N, <N, <=N, >N, >=N, or A-B (A < v < B).
std::optional<UintCmp> parse_uint_cmp(std::string_view s) {
    s = trim(s);
    UintCmp c;
    if (const size_t r = s.find("<>"); r != std::string_view::npos && r > 0) {
        c.op = UintCmp::Op::Range;  // min<>max, both ends excluded
        if (!parse_int(trim(s.substr(0, r)), c.a) || !parse_int(trim(s.substr(r + 2)), c.b) ||
            c.b <= c.a + 1)
            return std::nullopt;
        return c;
    }
    static constexpr std::pair<std::string_view, UintCmp::Op> kOps[] = {
        {"!=", UintCmp::Op::Ne}, {"<=", UintCmp::Op::Le}, {">=", UintCmp::Op::Ge},
        {"<", UintCmp::Op::Lt},  {">", UintCmp::Op::Gt},  {"=", UintCmp::Op::Eq},
    };
    for (const auto& [text, op] : kOps) {
        if (s.starts_with(text)) {
            c.op = op;
            if (!parse_int(s.substr(text.size()), c.a)) return std::nullopt;
            return c;
        }
    }
    if (const size_t dash = s.find('-'); dash != std::string_view::npos && dash > 0) {
        c.op = UintCmp::Op::Range;
        if (!parse_int(s.substr(0, dash), c.a) || !parse_int(s.substr(dash + 1), c.b) ||
            c.b <= c.a + 1)
            return std::nullopt;
        return c;
    }
    if (!parse_int(s, c.a)) return std::nullopt;
    return c;
}

}  // namespace

bool RuleParser::parse_transform(const RawOption& o, Transform t, bool with_value) {
    if (o.has_value && !with_value)
        return error(o.value_off, std::string(o.keyword) + " takes no value");
    if (!sticky_)
        return error(o.kw_off,
                     std::string(o.keyword) + " transforms a sticky buffer: name one first");
    if (current_ == Buffer::Stream || current_ == Buffer::HttpRequestBody ||
        current_ == Buffer::HttpResponseBody)
        return unsupported(o.kw_off, std::string(o.keyword) + " on a body or stream",
                           std::string(o.keyword) + " on " + std::string(buffer_name(current_)) +
                               " is not supported (bodies and the stream are scanned as they "
                               "arrive)");
    for (const Condition& c : rule_.conditions)
        if (c.buffer == current_)
            return error(o.kw_off,
                         "transforms come right after the sticky buffer, before its "
                         "first content");
    transforms_.push_back(t);
    return true;
}

bool RuleParser::parse_flowbits(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    const std::string_view v = trim(o.value);
    const size_t comma = v.find(',');
    const std::string_view cmd = trim(v.substr(0, comma));
    if (cmd == "noalert") {
        if (comma != std::string_view::npos) return error(at, "flowbits:noalert takes no name");
        rule_.noalert = true;
        return true;
    }
    static constexpr std::pair<std::string_view, FlowbitsOp::Kind> kCmds[] = {
        {"set", FlowbitsOp::Kind::Set},           {"unset", FlowbitsOp::Kind::Unset},
        {"toggle", FlowbitsOp::Kind::Toggle},     {"isset", FlowbitsOp::Kind::IsSet},
        {"isnotset", FlowbitsOp::Kind::IsNotSet},
    };
    FlowbitsOp op;
    bool known = false;
    for (const auto& [name, kind] : kCmds)
        if (cmd == name) {
            op.kind = kind;
            known = true;
        }
    if (!known)
        return error(at,
                     "flowbits expects set, unset, toggle, isset, isnotset or noalert, found '" +
                         std::string(cmd) + "'");
    if (comma == std::string_view::npos)
        return error(at, "flowbits:" + std::string(cmd) + " needs a name");
    std::string_view names = trim(v.substr(comma + 1));
    if (names.find('&') != std::string_view::npos)
        return unsupported(at, "flowbits &",
                           "flowbits with '&' (all of several bits) is not supported");
    if (names.find('|') != std::string_view::npos && !op.check())
        return error(at, "only isset and isnotset take several names (a|b)");
    while (true) {
        const size_t bar = names.find('|');
        const std::string_view n = trim(names.substr(0, bar));
        if (n.empty()) return error(at, "flowbits name is empty");
        for (char c : n)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
                return error(at, "flowbits name '" + std::string(n) +
                                     "' has characters other than letters, digits, _ . -");
        op.names.emplace_back(n);
        if (bar == std::string_view::npos) break;
        names.remove_prefix(bar + 1);
    }
    rule_.flowbits.push_back(std::move(op));
    return true;
}

// Suricata 7's `requires: feature NAME, version >= 7.0.3, ...`: a rule whose requirements do
// not hold is left out (Suricata skips it silently; here it is reported). sluice answers as
// the Suricata 7.0 dialect it reads and has none of Suricata's optional features.
bool RuleParser::parse_requires(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    constexpr std::array<uint32_t, 3> kVersion = {7, 0, 0};
    std::string_view v = trim(o.value);
    if (v.empty()) return error(at, "requires expects 'feature NAME' or 'version OP X.Y.Z'");
    while (!v.empty()) {
        const size_t comma = v.find(',');
        const std::string_view item = trim(v.substr(0, comma));
        v = comma == std::string_view::npos ? std::string_view() : trim(v.substr(comma + 1));
        if (item.starts_with("feature ")) {
            const std::string name(trim(item.substr(8)));
            return unsupported(at, "requires feature " + name,
                               "requires feature '" + name + "', which sluice does not have");
        }
        if (!item.starts_with("version "))
            return error(at, "requires: unknown requirement '" + std::string(item) + "'");
        // Space-separated alternatives are all required; "OP X[.Y[.Z]]" each.
        std::string_view rest = trim(item.substr(8));
        while (!rest.empty()) {
            size_t op_len = 0;
            while (op_len < rest.size() && (rest[op_len] == '<' || rest[op_len] == '>' ||
                                            rest[op_len] == '=' || rest[op_len] == '!'))
                ++op_len;
            const std::string_view op = rest.substr(0, op_len);
            rest = trim(rest.substr(op_len));
            const size_t sp = rest.find(' ');
            std::string_view num = rest.substr(0, sp);
            rest = sp == std::string_view::npos ? std::string_view() : trim(rest.substr(sp));
            std::array<uint32_t, 3> want{};
            for (size_t i = 0; i < 3 && !num.empty(); ++i) {
                const size_t dot = num.find('.');
                if (!parse_int(num.substr(0, dot), want[i]))
                    return error(at, "requires: bad version '" + std::string(num) + "'");
                num = dot == std::string_view::npos ? std::string_view() : num.substr(dot + 1);
            }
            const int cmp = kVersion < want ? -1 : kVersion > want ? 1 : 0;
            bool holds;
            if (op == ">=")
                holds = cmp >= 0;
            else if (op == ">")
                holds = cmp > 0;
            else if (op == "<=")
                holds = cmp <= 0;
            else if (op == "<")
                holds = cmp < 0;
            else if (op == "=" || op == "==")
                holds = cmp == 0;
            else
                return error(at, "requires: version takes >=, >, <=, < or =");
            if (!holds)
                return unsupported(at, "requires version",
                                   "requires version " + std::string(op) +
                                       " ...: sluice reads the Suricata 7.0 dialect");
        }
    }
    return true;
}

// A byte_extract / byte_math variable's name (as opposed to a number).
bool is_name(std::string_view x) {
    return !x.empty() && (std::isalpha(static_cast<unsigned char>(x.front())) || x.front() == '_');
}

// A number as rule options write them: decimal, 0x hex or 0-prefixed octal, maybe negative.
template <typename T>
bool parse_rule_number(std::string_view s, T& out) {
    s = trim(s);
    bool neg = false;
    if (!s.empty() && s.front() == '-') {
        if constexpr (!std::is_signed_v<T>) return false;
        neg = true;
        s.remove_prefix(1);
    }
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    } else if (s.size() > 1 && s[0] == '0') {
        base = 8;
        s.remove_prefix(1);
    }
    uint64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
    if constexpr (std::is_signed_v<T>) {
        if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
        out = neg ? -static_cast<T>(v) : static_cast<T>(v);
    } else {
        if (v > std::numeric_limits<T>::max()) return false;
        out = static_cast<T>(v);
    }
    return true;
}

// byte_test:N,[!]OP,VALUE,OFFSET[,flags] and byte_jump:N,OFFSET[,flags] (both dialects).
bool RuleParser::parse_byte(const RawOption& o, bool jump) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    const std::string kw(o.keyword);
    std::vector<std::string_view> t;
    std::string_view v = o.value;
    while (true) {
        const size_t c = v.find(',');
        t.push_back(trim(v.substr(0, c)));
        if (c == std::string_view::npos) break;
        v.remove_prefix(c + 1);
    }
    const size_t fixed = jump ? 2 : 4;
    if (t.size() < fixed)
        return error(at, jump ? "byte_jump expects BYTES,OFFSET[,options]"
                              : "byte_test expects BYTES,OP,VALUE,OFFSET[,options]");
    Condition cond;
    cond.kind = jump ? Condition::Kind::ByteJump : Condition::Kind::ByteTest;
    cond.buffer = current_;
    ByteOp& b = cond.byte;
    uint32_t n = 0;
    if (!parse_int(t[0], n) || n == 0 || n > 23)
        return error(at, kw + ": the number of bytes is 1 to 8 (up to 23 with string)");
    b.nbytes = static_cast<uint8_t>(n);
    if (!jump) {
        std::string_view op = t[1];
        if (!op.empty() && op.front() == '!') {
            b.negated = true;
            op = trim(op.substr(1));
            if (op.empty()) op = "=";
        }
        static constexpr std::pair<std::string_view, ByteOp::Op> kOps[] = {
            {"<", ByteOp::Op::Lt},  {">", ByteOp::Op::Gt}, {"<=", ByteOp::Op::Le},
            {">=", ByteOp::Op::Ge}, {"=", ByteOp::Op::Eq}, {"&", ByteOp::Op::And},
            {"^", ByteOp::Op::Xor},
        };
        bool known = false;
        for (const auto& [text, k] : kOps)
            if (op == text) {
                b.op = k;
                known = true;
            }
        if (!known)
            return error(at,
                         "byte_test operator is one of < > <= >= = & ^ (with ! to negate), "
                         "found '" +
                             std::string(t[1]) + "'");
        if (is_name(t[2])) {
            const auto var = this->variable(t[2], at);
            if (!var) return false;
            b.value_var = *var;
        } else if (!parse_rule_number(t[2], b.value)) {
            return error(at, "byte_test value '" + std::string(t[2]) + "' is not a number");
        }
    }
    const std::string_view off = t[fixed - 1];
    if (is_name(off)) {
        const auto var = this->variable(off, at);
        if (!var) return false;
        b.offset_var = *var;
    } else if (!parse_rule_number(off, b.offset)) {
        return error(at, kw + " offset '" + std::string(off) + "' is not a number");
    }
    for (size_t i = fixed; i < t.size(); ++i) {
        std::string_view f = t[i];
        const size_t sp = f.find(' ');
        const std::string_view name = f.substr(0, sp);
        const std::string_view arg =
            sp == std::string_view::npos ? std::string_view() : trim(f.substr(sp));
        if (name == "relative") {
            b.relative = true;
        } else if (name == "big") {
            b.little = false;
        } else if (name == "little") {
            b.little = true;
        } else if (name == "string") {
            if (b.base == 0) b.base = 10;
        } else if (name == "dec" || name == "hex" || name == "oct") {
            b.base = name == "dec" ? 10 : name == "hex" ? 16 : 8;
        } else if (name == "bitmask") {
            if (!parse_rule_number(arg, b.bitmask) || b.bitmask == 0)
                return error(at, kw + ": bitmask expects a non-zero number");
        } else if (jump && name == "multiplier") {
            if (!parse_rule_number(arg, b.multiplier) || b.multiplier == 0 || b.multiplier > 65535)
                return error(at, "byte_jump: multiplier expects 1 to 65535");
        } else if (jump && name == "align") {
            b.align = true;
        } else if (jump && name == "from_beginning") {
            b.from_beginning = true;
        } else if (jump && name == "from_end") {
            b.from_end = true;
        } else if (jump && name == "post_offset") {
            if (!parse_rule_number(arg, b.post_offset))
                return error(at, "byte_jump: post_offset expects a number");
        } else if (name == "dce") {
            return unsupported(at, kw + " dce", kw + " with dce (DCE/RPC is not inspected)");
        } else {
            return error(at, kw + ": unknown option '" + std::string(f) + "'");
        }
    }
    if (b.base == 0 && b.nbytes > 8) return error(at, kw + ": more than 8 bytes needs string");
    if (b.from_beginning && b.from_end)
        return error(at, "byte_jump: from_beginning and from_end exclude each other");
    return push_condition(std::move(cond), o.kw_off);
}

std::optional<ByteVar> RuleParser::variable(std::string_view name, size_t off) {
    name = trim(name);
    for (size_t i = 0; i < rule_.byte_vars.size(); ++i) {
        if (rule_.byte_vars[i] != name) continue;
        if (var_buffer_[i] != current_) {
            unsupported(off, "byte variable from another buffer",
                        "variable '" + std::string(name) + "' was read from " +
                            std::string(buffer_name(var_buffer_[i])) + ", not from " +
                            std::string(buffer_name(current_)));
            return std::nullopt;
        }
        return static_cast<ByteVar>(i);
    }
    if (!is_name(name)) return kNoVar;
    error(off, "'" + std::string(name) +
                   "' is no number and no byte_extract or byte_math variable defined before it");
    return std::nullopt;
}

bool RuleParser::define_variable(std::string_view name, size_t off, ByteVar& out) {
    name = trim(name);
    if (!is_name(name)) return error(off, "'" + std::string(name) + "' is no variable name");
    for (size_t i = 0; i < rule_.byte_vars.size(); ++i)
        if (rule_.byte_vars[i] == name) {
            // Suricata lets a later keyword overwrite it; on the same buffer so is it here.
            if (var_buffer_[i] != current_)
                return unsupported(off, "byte variable from another buffer",
                                   "variable '" + std::string(name) + "' is read from two buffers");
            out = static_cast<ByteVar>(i);
            return true;
        }
    if (rule_.byte_vars.size() >= kMaxByteVars)
        return error(off, "at most " + std::to_string(kMaxByteVars) + " byte variables per rule");
    out = static_cast<ByteVar>(rule_.byte_vars.size());
    rule_.byte_vars.emplace_back(name);
    var_buffer_.push_back(current_);
    return true;
}

namespace {
// Comma-separated items, trimmed.
std::vector<std::string_view> split_commas(std::string_view v) {
    std::vector<std::string_view> t;
    while (true) {
        const size_t c = v.find(',');
        t.push_back(trim(v.substr(0, c)));
        if (c == std::string_view::npos) break;
        v.remove_prefix(c + 1);
    }
    return t;
}
// "name arg" -> (name, arg).
std::pair<std::string_view, std::string_view> split_word(std::string_view f) {
    const size_t sp = f.find_first_of(" \t");
    if (sp == std::string_view::npos) return {f, {}};
    return {f.substr(0, sp), trim(f.substr(sp))};
}
}  // namespace

// byte_extract:N,OFFSET,NAME[,relative][,multiplier M][,big|little][,string[,hex|dec|oct]]
// [,align 2|4] (both dialects).
bool RuleParser::parse_byte_extract(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    const auto t = split_commas(o.value);
    if (t.size() < 3) return error(at, "byte_extract expects BYTES,OFFSET,NAME[,options]");
    Condition cond;
    cond.kind = Condition::Kind::ByteExtract;
    cond.buffer = current_;
    ByteOp& b = cond.byte;
    uint32_t n = 0;
    if (!parse_int(t[0], n) || n == 0 || n > 23)
        return error(at, "byte_extract: the number of bytes is 1 to 8 (up to 23 with string)");
    b.nbytes = static_cast<uint8_t>(n);
    if (!parse_rule_number(t[1], b.offset) || b.offset < -32768 || b.offset > 32767)
        return error(at, "byte_extract offset '" + std::string(t[1]) + "' is not a number");
    bool string = false, endian = false;
    for (size_t i = 3; i < t.size(); ++i) {
        const auto [name, arg] = split_word(t[i]);
        if (name == "relative") {
            b.relative = true;
        } else if (name == "big" || name == "little") {
            b.little = name == "little";
            endian = true;
        } else if (name == "string") {
            string = true;
            if (b.base == 0) b.base = 10;
        } else if (name == "dec" || name == "hex" || name == "oct") {
            if (!string)
                return error(at, "byte_extract: string must come before " + std::string(name));
            b.base = name == "dec" ? 10 : name == "hex" ? 16 : 8;
        } else if (name == "multiplier") {
            if (!parse_rule_number(arg, b.multiplier) || b.multiplier == 0 || b.multiplier > 65535)
                return error(at, "byte_extract: multiplier expects 1 to 65535");
        } else if (name == "align") {
            uint32_t a = 0;
            if (!parse_int(arg, a) || (a != 2 && a != 4))
                return error(at, "byte_extract: align is 2 or 4");
            b.align_to = static_cast<uint8_t>(a);
        } else if (name == "dce") {
            return unsupported(at, "byte_extract dce",
                               "byte_extract with dce (DCE/RPC is not inspected)");
        } else if (name == "slice") {
            return unsupported(at, "byte_extract slice",
                               "byte_extract with slice is not supported");
        } else {
            return error(at, "byte_extract: unknown option '" + std::string(t[i]) + "'");
        }
    }
    if (string && endian)
        return error(at, "byte_extract: string and an endianness exclude each other");
    if (!string && b.nbytes > 8) return error(at, "byte_extract: more than 8 bytes needs string");
    if (!define_variable(t[2], at, b.result)) return false;
    return push_condition(std::move(cond), o.kw_off);
}

// byte_math:bytes N, offset N, oper OP, rvalue V|NAME, result NAME[, relative][, endian E]
// [, string hex|dec|oct][, bitmask M] (both dialects; options in any order).
bool RuleParser::parse_byte_math(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    Condition cond;
    cond.kind = Condition::Kind::ByteMath;
    cond.buffer = current_;
    ByteOp& b = cond.byte;
    std::string_view result, rvalue;
    bool have_bytes = false, have_offset = false, have_oper = false;
    for (std::string_view item : split_commas(o.value)) {
        const auto [name, arg] = split_word(item);
        if (name == "bytes") {
            uint32_t n = 0;
            if (is_name(arg))
                return unsupported(at, "byte_math bytes from a variable",
                                   "byte_math with its byte count from a variable");
            if (!parse_int(arg, n) || n == 0 || n > 10)
                return error(at, "byte_math: bytes is 1 to 10");
            b.nbytes = static_cast<uint8_t>(n);
            have_bytes = true;
        } else if (name == "offset") {
            if (!parse_rule_number(arg, b.offset) || b.offset < -65535 || b.offset > 65535)
                return error(at, "byte_math: offset '" + std::string(arg) + "' is not a number");
            have_offset = true;
        } else if (name == "oper") {
            static constexpr std::pair<std::string_view, ByteOp::Math> kOps[] = {
                {"+", ByteOp::Math::Add}, {"-", ByteOp::Math::Sub},  {"*", ByteOp::Math::Mul},
                {"/", ByteOp::Math::Div}, {"<<", ByteOp::Math::Shl}, {">>", ByteOp::Math::Shr},
            };
            have_oper = false;
            for (const auto& [text, m] : kOps)
                if (arg == text) {
                    b.math = m;
                    have_oper = true;
                }
            if (!have_oper) return error(at, "byte_math: oper is one of + - * / << >>");
        } else if (name == "rvalue") {
            rvalue = arg;
        } else if (name == "result") {
            result = arg;
        } else if (name == "relative") {
            b.relative = true;
        } else if (name == "endian") {
            if (arg == "dce")
                return unsupported(at, "byte_math dce",
                                   "byte_math with dce (DCE/RPC is not inspected)");
            if (arg != "big" && arg != "little")
                return error(at, "byte_math: endian is big or little");
            b.little = arg == "little";
        } else if (name == "string") {
            b.base = arg == "dec" ? 10 : arg == "hex" ? 16 : arg == "oct" ? 8 : 0;
            if (b.base == 0) return error(at, "byte_math: string is hex, dec or oct");
        } else if (name == "bitmask") {
            if (!parse_rule_number(arg, b.bitmask) || b.bitmask == 0)
                return error(at, "byte_math: bitmask expects a non-zero number");
        } else if (name == "dce") {
            return unsupported(at, "byte_math dce",
                               "byte_math with dce (DCE/RPC is not inspected)");
        } else {
            return error(at, "byte_math: unknown option '" + std::string(item) + "'");
        }
    }
    if (!have_bytes || !have_offset || !have_oper || rvalue.empty() || result.empty())
        return error(at, "byte_math needs bytes, offset, oper, rvalue and result");
    if ((b.math == ByteOp::Math::Shl || b.math == ByteOp::Math::Shr) && b.nbytes > 4)
        return error(at, "byte_math: bytes is 1 to 4 with << and >>");
    if (b.base == 0 && b.nbytes > 8) return error(at, "byte_math: more than 8 bytes needs string");
    if (is_name(rvalue)) {
        const auto var = variable(rvalue, at);
        if (!var) return false;
        b.value_var = *var;
    } else if (!parse_rule_number(rvalue, b.value) || b.value > UINT32_MAX) {
        return error(at, "byte_math: rvalue is a number up to 4294967295 or a variable");
    }
    if (!define_variable(result, at, b.result)) return false;
    return push_condition(std::move(cond), o.kw_off);
}

// base64_decode[:bytes N][, offset N][, relative] (both dialects).
bool RuleParser::parse_base64_decode(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    if (decoded_) return unsupported(at, "two base64_decode", "one base64_decode per rule");
    Condition cond;
    cond.kind = Condition::Kind::Base64Decode;
    cond.buffer = current_;
    if (o.has_value && !trim(o.value).empty()) {
        for (std::string_view item : split_commas(o.value)) {
            const auto [name, arg] = split_word(item);
            if (name == "bytes") {
                if (!parse_int(arg, cond.base64.bytes) || cond.base64.bytes == 0 ||
                    cond.base64.bytes > 65535)
                    return error(at, "base64_decode: bytes is 1 to 65535");
            } else if (name == "offset") {
                if (!parse_int(arg, cond.base64.offset) || cond.base64.offset > 65535)
                    return error(at, "base64_decode: offset is 0 to 65535");
            } else if (name == "relative" && arg.empty()) {
                cond.base64.relative = true;
            } else {
                return error(at, "base64_decode: unknown option '" + std::string(item) + "'");
            }
        }
    }
    return push_condition(std::move(cond), o.kw_off);
}

// base64_data: the conditions that follow match base64_decode's output.
bool RuleParser::parse_base64_data(const RawOption& o) {
    if (o.has_value) return error(o.value_off, "base64_data takes no value");
    if (rule_.conditions.empty() || rule_.conditions.back().kind != Condition::Kind::Base64Decode ||
        rule_.conditions.back().buffer != current_)
        return error(o.kw_off, "base64_data must follow base64_decode directly");
    decoded_ = true;
    return true;
}

// tls.version:1.0|1.1|1.2|1.3|0xHHHH; ssl_version:[!]NAME[,[!]NAME...] (sslv2 sslv3 tls1.0
// tls1.1 tls1.2 tls1.3); ssl_state:[!]STATE[|[!]STATE...] (client_hello server_hello
// server_keyx; client_keyx and unknown are not seen by sluice).
bool RuleParser::parse_tls_check(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    const std::string_view kw = o.keyword;
    std::string_view v = trim(o.value);
    TlsCheck c;
    if (kw == "tls.version") {
        c.kind = TlsCheck::Kind::Version;
        static constexpr std::pair<std::string_view, uint16_t> kNames[] = {
            {"1.0", 0x0301}, {"1.1", 0x0302}, {"1.2", 0x0303}, {"1.3", 0x0304}};
        bool known = false;
        for (const auto& [name, ver] : kNames)
            if (v == name) {
                c.version = ver;
                known = true;
            }
        if (!known && !(v.starts_with("0x") && parse_rule_number(v, c.version)))
            return error(at, "tls.version expects 1.0, 1.1, 1.2, 1.3 or a hex version (0x0303)");
    } else if (kw == "ssl_version") {
        c.kind = TlsCheck::Kind::SslVersion;
        static constexpr std::string_view kNames[] = {"sslv2",  "sslv3",  "tls1.0",
                                                      "tls1.1", "tls1.2", "tls1.3"};
        bool all_negated = false;
        if (v.starts_with('!')) {  // "!a,b": none of the list
            all_negated = true;
            v.remove_prefix(1);
        }
        for (std::string_view item : split_commas(v)) {
            bool neg = all_negated;
            if (item.starts_with('!')) {
                neg = true;
                item = trim(item.substr(1));
            }
            size_t i = 0;
            while (i < std::size(kNames) && kNames[i] != item) ++i;
            if (i == std::size(kNames))
                return error(at,
                             "ssl_version names sslv2, sslv3, tls1.0, tls1.1, tls1.2, tls1.3; "
                             "found '" +
                                 std::string(item) + "'");
            (neg ? c.not_versions : c.versions) |= static_cast<uint8_t>(1u << i);
        }
    } else {
        c.kind = TlsCheck::Kind::SslState;
        static constexpr std::pair<std::string_view, uint8_t> kStates[] = {
            {"client_hello", ssl_state_bit::kClientHello},
            {"server_hello", ssl_state_bit::kServerHello},
            {"client_keyx", ssl_state_bit::kClientKeyx},
            {"server_keyx", ssl_state_bit::kServerKeyx},
            {"unknown", ssl_state_bit::kUnknown},
        };
        while (!v.empty()) {
            const size_t bar = v.find('|');
            std::string_view item = trim(v.substr(0, bar));
            v = bar == std::string_view::npos ? std::string_view() : v.substr(bar + 1);
            bool neg = false;
            if (item.starts_with('!')) {
                neg = true;
                item = trim(item.substr(1));
            }
            uint8_t bit = 0;
            for (const auto& [name, b] : kStates)
                if (item == name) bit = b;
            if (bit == 0)
                return error(at,
                             "ssl_state names client_hello, server_hello, client_keyx, "
                             "server_keyx, unknown; found '" +
                                 std::string(item) + "'");
            if (!neg && (bit == ssl_state_bit::kClientKeyx || bit == ssl_state_bit::kUnknown))
                return unsupported(at, "ssl_state:" + std::string(item),
                                   "ssl_state:" + std::string(item) +
                                       " is not seen (sluice reads the hellos and the server's "
                                       "clear-text flight)");
            (neg ? c.not_states : c.states) |= bit;
        }
        if (c.states == 0 && c.not_states == 0) return error(at, "ssl_state expects a state");
    }
    rule_.tls.push_back(c);
    return true;
}

// flowint:NAME,OP[,VALUE] (Suricata; a VALUE naming another flowint is not supported).
bool RuleParser::parse_flowint(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    const auto t = split_commas(o.value);
    if (t.size() < 2 || t.size() > 3 || t[0].empty())
        return error(at, "flowint expects NAME,OP[,VALUE]");
    FlowintOp op;
    op.name = std::string(t[0]);
    static constexpr std::pair<std::string_view, FlowintOp::Kind> kOps[] = {
        {"=", FlowintOp::Kind::Set},           {"+", FlowintOp::Kind::Add},
        {"-", FlowintOp::Kind::Sub},           {"==", FlowintOp::Kind::Eq},
        {"!=", FlowintOp::Kind::Ne},           {"<", FlowintOp::Kind::Lt},
        {"<=", FlowintOp::Kind::Le},           {">", FlowintOp::Kind::Gt},
        {">=", FlowintOp::Kind::Ge},           {"isset", FlowintOp::Kind::IsSet},
        {"notset", FlowintOp::Kind::IsNotSet}, {"isnotset", FlowintOp::Kind::IsNotSet},
    };
    bool known = false;
    for (const auto& [text, k] : kOps)
        if (t[1] == text) {
            op.kind = k;
            known = true;
        }
    if (!known)
        return error(at, "flowint operator is one of = + - == != < <= > >= isset notset, found '" +
                             std::string(t[1]) + "'");
    const bool presence = op.kind == FlowintOp::Kind::IsSet || op.kind == FlowintOp::Kind::IsNotSet;
    if (presence != (t.size() == 2))
        return error(at, presence ? "flowint isset/notset takes no value"
                                  : "flowint " + std::string(t[1]) + " needs a value");
    if (!presence) {
        if (is_name(t[2]))
            return unsupported(at, "flowint from a flowint",
                               "flowint with another flowint as its value is not supported");
        if (!parse_int(t[2], op.value)) return error(at, "flowint value is 0 to 4294967295");
    }
    rule_.flowints.push_back(std::move(op));
    return true;
}

// decode-event / stream-event / app-layer-event:NAME (Suricata): the rule matches when sluice
// raises that anomaly (rules/events.h), as an exact content on Buffer::Event.
bool RuleParser::parse_event(const RawOption& o, EventKind kind) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    const std::string_view name = trim(o.value);
    const std::string kw(event_kind_keyword(kind));
    if (name.empty()) return error(at, kw + " expects an event name");
    if (name.starts_with('!'))
        return unsupported(at, kw + " negated", kw + " with ! is not supported");
    if (!raises_event(kind, name))
        return unsupported(at, kw + ":" + std::string(name),
                           kw + ":" + std::string(name) +
                               " is an event sluice does not raise (docs/rules.md lists those "
                               "it does)");
    Condition cond;
    cond.kind = Condition::Kind::Content;
    cond.buffer = Buffer::Event;
    char buf[128];
    cond.content.bytes = std::string(event_buffer_value(kind, name, buf));
    cond.content.startswith = true;
    cond.content.offset = 0;
    cond.content.depth = static_cast<int32_t>(cond.content.bytes.size());
    cond.content.endswith = true;
    rule_.conditions.push_back(std::move(cond));
    return true;
}

bool RuleParser::push_condition(Condition&& c, size_t off) {
    c.transforms = transforms_;
    c.decoded = decoded_;
    for (const Condition& x : rule_.conditions)
        if (x.buffer == c.buffer && x.decoded && !c.decoded)
            return unsupported(off, "base64_data then the raw buffer",
                               std::string(buffer_name(c.buffer)) +
                                   " is inspected again after base64_data: base64_data is the "
                                   "last list of its buffer");
    if (c.kind == Condition::Kind::Base64Decode)
        for (const Condition& x : rule_.conditions)
            if (x.kind == Condition::Kind::Base64Decode)
                return unsupported(off, "two base64_decode", "one base64_decode per rule");
    for (const Condition& x : rule_.conditions)
        if (x.buffer == c.buffer && x.transforms != c.transforms)
            return unsupported(off, "transforms differ for one buffer",
                               std::string(buffer_name(c.buffer)) +
                                   " is used with two different transform chains in one rule");
    rule_.conditions.push_back(std::move(c));
    return true;
}

// Header keywords of packet rules (both dialects): ttl, id, dsize, window ([!]N), seq, ack,
// tcp.mss (comparisons), flags ([!+*]FSRPAUCE12|0[,IGNORED]), fragbits ([!+*]MDR), ipopts (one
// option name), sameip.
bool RuleParser::parse_packet_check(const RawOption& o, PacketCheck::Kind kind) {
    using K = PacketCheck::Kind;
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    const std::string name(packet_check_name(kind));
    std::string_view v = trim(o.value);
    PacketCheck c;
    c.kind = kind;
    if (kind == K::Flags || kind == K::FragBits) {
        struct Bit {
            char ch;
            uint8_t bit;
        };
        static constexpr Bit kFlags[] = {{'F', 0x01}, {'S', 0x02}, {'R', 0x04}, {'P', 0x08},
                                         {'A', 0x10}, {'U', 0x20}, {'E', 0x40}, {'2', 0x40},
                                         {'C', 0x80}, {'1', 0x80}};
        static constexpr Bit kFrag[] = {
            {'M', frag_bit::kMore}, {'D', frag_bit::kDont}, {'R', frag_bit::kReserved}};
        const std::span<const Bit> table =
            kind == K::Flags ? std::span<const Bit>(kFlags) : std::span<const Bit>(kFrag);
        auto bit_of = [&](char ch) -> int {
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            for (const Bit& b : table)
                if (b.ch == ch) return b.bit;
            return -1;
        };
        const size_t comma = v.find(',');
        const std::string_view set = trim(v.substr(0, comma));
        bool modifier = false, any = false;
        for (const char ch : set) {
            if (ch == '+' || ch == '*' || ch == '!') {
                if (modifier) return error(at, name + " takes one modifier (+, * or !)");
                modifier = true;
                c.mode = ch == '+'   ? PacketCheck::Mode::All
                         : ch == '*' ? PacketCheck::Mode::Any
                                     : PacketCheck::Mode::Not;
            } else if (ch == '0' && kind == K::Flags) {
                any = true;  // no flag set
            } else if (const int b = bit_of(ch); b >= 0) {
                c.bits = static_cast<uint8_t>(c.bits | b);
                any = true;
            } else {
                return error(at, name + ": unknown bit '" + std::string(1, ch) + "' (" +
                                     (kind == K::Flags ? "F S R P A U C E 1 2 0" : "M D R") +
                                     ", modifiers + * !)");
            }
        }
        if (!any) return error(at, name + " expects the bits to test");
        if (comma != std::string_view::npos) {
            if (kind != K::Flags) return error(at, "fragbits has no ignore mask");
            const std::string_view ignored = trim(v.substr(comma + 1));
            if (ignored.empty()) return error(at, "flags: an empty ignore mask after ','");
            for (const char ch : ignored) {
                const int b = bit_of(ch);
                if (b < 0)
                    return error(at, "flags: unknown bit '" + std::string(1, ch) + "' to ignore");
                c.ignore = static_cast<uint8_t>(c.ignore | b);
            }
        }
    } else if (kind == K::StreamSize) {
        // stream_size:client|server|both|either,OP,N (OP: > < = != >= <=); Snort 3 names the
        // sides to_server and to_client.
        const auto t = split_commas(v);
        static constexpr std::pair<std::string_view, PacketCheck::Side> kSides[] = {
            {"client", PacketCheck::Side::Client},    {"server", PacketCheck::Side::Server},
            {"both", PacketCheck::Side::Both},        {"either", PacketCheck::Side::Either},
            {"to_server", PacketCheck::Side::Client},  // Snort 3's names
            {"to_client", PacketCheck::Side::Server}};
        const auto* side = t.size() == 3
                               ? std::find_if(std::begin(kSides), std::end(kSides),
                                              [&](const auto& e) { return e.first == t[0]; })
                               : std::end(kSides);
        const auto cmp = t.size() == 3 && !t[1].empty() &&
                                 t[1].find_first_not_of("<>=!") == std::string_view::npos
                             ? parse_uint_cmp(std::string(t[1]) + std::string(t[2]))
                             : std::nullopt;
        if (side == std::end(kSides) || !cmp || cmp->a > 0xffffffffULL)
            return error(at,
                         "stream_size expects client|server|both|either,OP,N with OP one of "
                         "> < = != >= <=");
        c.side = side->second;
        c.cmp = *cmp;
    } else if (kind == K::SameIp) {
        if (o.has_value) return error(o.value_off, "sameip takes no value");
    } else if (kind == K::IpOpts) {
        static constexpr std::pair<std::string_view, IpOpt> kOpts[] = {
            {"eol", IpOpt::Eol},   {"nop", IpOpt::Nop},   {"rr", IpOpt::Rr},
            {"ts", IpOpt::Ts},     {"sec", IpOpt::Sec},   {"esec", IpOpt::Esec},
            {"lsrr", IpOpt::Lsrr}, {"ssrr", IpOpt::Ssrr}, {"satid", IpOpt::Satid},
            {"any", IpOpt::Any},
        };
        const auto* it = std::find_if(std::begin(kOpts), std::end(kOpts),
                                      [&](const auto& e) { return iequals(e.first, v); });
        if (it == std::end(kOpts))
            return error(at,
                         "ipopts expects one of rr, eol, nop, ts, sec, esec, lsrr, ssrr, "
                         "satid, any");
        c.opt = it->second;
    } else {
        if (kind == K::Window && v.starts_with('!')) {
            c.negated = true;
            v = trim(v.substr(1));
        }
        const auto cmp = parse_uint_cmp(v);
        const uint64_t most = kind == K::Ttl || kind == K::Itype || kind == K::Icode ? 255
                              : kind == K::Seq || kind == K::Ack || kind == K::Dsize ? 0xffffffffULL
                                                                                     : 65535;
        if (!cmp || cmp->a > most || cmp->b > most)
            return error(at, name + " expects a number up to " + std::to_string(most) +
                                 " or a comparison (N, <N, >N, <=N, >=N, !=N, A<>B)");
        c.cmp = *cmp;
    }
    rule_.packet.push_back(c);
    return true;
}

// bsize (Suricata) / bufferlen (Snort 3): the length of the current sticky buffer.
bool RuleParser::parse_bsize(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    if (!sticky_)
        return error(o.kw_off, std::string(o.keyword) + " needs a sticky buffer before it");
    const auto cmp = parse_uint_cmp(o.value);
    if (!cmp)
        return error(at, std::string(o.keyword) +
                             " expects a length or a comparison (N, <N, >N, <=N, >=N, !=N, A<>B)");
    Condition cond;
    cond.kind = Condition::Kind::Size;
    cond.buffer = current_;
    cond.size = *cmp;
    if (!push_condition(std::move(cond), o.kw_off)) return false;
    return true;
}

// isdataat:[!]N[,relative] (both dialects).
bool RuleParser::parse_isdataat(const RawOption& o) {
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    std::string_view v = trim(o.value);
    Condition cond;
    cond.kind = Condition::Kind::DataAt;
    cond.buffer = current_;
    if (!v.empty() && v.front() == '!') {
        cond.data_at.negated = true;
        v = trim(v.substr(1));
    }
    const size_t comma = v.find(',');
    if (comma != std::string_view::npos) {
        const std::string_view flag = trim(v.substr(comma + 1));
        if (flag == "relative")
            cond.data_at.relative = true;
        else if (flag != "rawbytes")
            return error(at, "isdataat takes N[,relative], found '" + std::string(flag) + "'");
        v = trim(v.substr(0, comma));
    }
    if (is_name(v)) {
        const auto var = variable(v, at);
        if (!var) return false;
        cond.data_at.at_var = *var;
    } else if (!parse_int(v, cond.data_at.at) || cond.data_at.at > (1u << 30)) {
        return error(at,
                     "isdataat expects a position or a byte_extract variable, e.g. "
                     "isdataat:10,relative");
    }
    if (!push_condition(std::move(cond), o.kw_off)) return false;
    return true;
}

// Suricata's HTTP/2 keywords; each also makes the rule an HTTP rule.
bool RuleParser::parse_http2(const RawOption& o) {
    const std::string_view kw = o.keyword;
    const std::string_view val = trim(o.value);
    const size_t at = o.has_value ? o.value_off : o.kw_off;
    Http2Check c;
    auto name_or_number = [&](std::optional<uint32_t> named, uint32_t max,
                              const char* what) -> bool {
        uint32_t v = 0;
        if (named) {
            c.id = *named;
        } else if (parse_int(val, v) && v <= max) {
            c.id = v;
        } else {
            return error(
                at, std::string(kw) + " expects " + what + ", found '" + std::string(val) + "'");
        }
        return true;
    };
    if (kw == "http2.frametype") {
        c.kind = Http2Check::Kind::FrameType;
        if (!name_or_number(h2_frame_type(val), 255,
                            "a frame type (DATA, HEADERS, ..., CONTINUATION) or a number"))
            return false;
    } else if (kw == "http2.errorcode") {
        c.kind = Http2Check::Kind::ErrorCode;
        if (!name_or_number(h2_error_code(val), 0xffffffffu,
                            "an error code (NO_ERROR, ..., HTTP_1_1_REQUIRED) or a number"))
            return false;
    } else if (kw == "http2.settings") {
        c.kind = Http2Check::Kind::Setting;
        size_t end = 0;
        while (end < val.size() &&
               (std::isalnum(static_cast<unsigned char>(val[end])) || val[end] == '_'))
            ++end;
        const std::string_view name = val.substr(0, end);
        const std::optional<uint32_t> id = h2_setting(name);
        if (!id)
            return error(at,
                         "http2.settings expects a setting (SETTINGS_HEADER_TABLE_SIZE, ..., "
                         "SETTINGS_MAX_HEADER_LIST_SIZE), found '" +
                             std::string(name) + "'");
        c.id = *id;
        if (!trim(val.substr(end)).empty()) {
            c.cmp = parse_uint_cmp(val.substr(end));
            if (!c.cmp)
                return error(at + end, "http2.settings expects NAME, NAME=N, NAME<N, NAME>N, ...");
        }
    } else if (kw == "http2.window") {
        c.kind = Http2Check::Kind::Window;
        c.cmp = parse_uint_cmp(val);
        if (!c.cmp)
            return error(at, "http2.window expects a number or a comparison (>N, A-B, ...)");
    } else {
        return unsupported(o.kw_off, std::string(kw),
                           "unknown keyword '" + std::string(kw) +
                               "' (supported: http2.frametype, http2.errorcode, "
                               "http2.settings, http2.window, http2.header_name)");
    }
    if (rule_.proto == Protocol::Tls)
        return error(o.kw_off, std::string(kw) + " needs protocol http");
    rule_.proto = Protocol::Http;
    rule_.http2.push_back(c);
    return true;
}

bool RuleParser::parse_flow(const RawOption& o) {
    std::string_view v = o.value;
    while (true) {
        const size_t c = v.find(',');
        std::string_view item = trim(v.substr(0, c));
        if (item == "to_server" || item == "from_client")
            rule_.flow_to_server = true;
        else if (item == "to_client" || item == "from_server")
            rule_.flow_to_client = true;
        else if (item == "established")
            rule_.flow_established = true;
        else
            return error(o.value_off,
                         "flow supports to_server, from_client, to_client, "
                         "from_server and established; found '" +
                             std::string(item) + "'");
        if (c == std::string_view::npos) break;
        v = v.substr(c + 1);
    }
    if (rule_.flow_to_server && rule_.flow_to_client)
        return error(o.value_off, "flow cannot be both to_server and to_client");
    return true;
}

bool RuleParser::parse_threshold(const RawOption& o, std::string_view kw) {
    if (rule_.threshold) return error(o.kw_off, "a rule takes one threshold or detection_filter");
    Threshold t;
    const bool filter = kw == "detection_filter";
    if (filter) t.type = ThresholdType::DetectionFilter;
    bool have_type = filter, have_track = false, have_count = false, have_seconds = false;
    std::string_view v = o.value;
    while (true) {
        const size_t c = v.find(',');
        const std::string_view item = trim(v.substr(0, c));
        const size_t sp = item.find(' ');
        const std::string_view k = item.substr(0, sp);
        const std::string_view val = sp == std::string_view::npos ? "" : trim(item.substr(sp));
        auto number = [&](uint32_t& out) {
            auto r = std::from_chars(val.data(), val.data() + val.size(), out);
            return r.ec == std::errc() && r.ptr == val.data() + val.size() && out > 0;
        };
        if (k == "type" && !filter) {
            if (val == "limit")
                t.type = ThresholdType::Limit;
            else if (val == "threshold")
                t.type = ThresholdType::Threshold;
            else if (val == "both")
                t.type = ThresholdType::Both;
            else if (val == "backoff")  // Suricata 7's, usually with track by_flow
                return unsupported(o.value_off, "threshold type backoff",
                                   "threshold type backoff is not supported");
            else
                return error(o.value_off, "threshold type is limit, threshold or both; found '" +
                                              std::string(val) + "'");
            have_type = true;
        } else if (k == "track") {
            if (val == "by_src")
                t.track = ThresholdTrack::BySrc;
            else if (val == "by_dst")
                t.track = ThresholdTrack::ByDst;
            else if (val == "by_rule")
                t.track = ThresholdTrack::ByRule;
            else if (val == "by_both")
                t.track = ThresholdTrack::ByBoth;
            else if (val == "by_account")
                t.track = ThresholdTrack::ByAccount;
            else if (val == "by_flow")
                return unsupported(o.value_off, "threshold track by_flow",
                                   "threshold track by_flow is not supported");
            else
                return error(o.value_off,
                             "track is by_src, by_dst, by_rule, by_both or by_account; found '" +
                                 std::string(val) + "'");
            have_track = true;
        } else if (k == "count") {
            if (!number(t.count)) return error(o.value_off, "count must be a positive number");
            have_count = true;
        } else if (k == "seconds") {
            if (!number(t.seconds)) return error(o.value_off, "seconds must be a positive number");
            have_seconds = true;
        } else {
            return error(o.value_off, std::string(kw) + " takes " + (filter ? "" : "type, ") +
                                          "track, count and seconds; found '" + std::string(item) +
                                          "'");
        }
        if (c == std::string_view::npos) break;
        v = v.substr(c + 1);
    }
    if (!have_type || !have_track || !have_count || !have_seconds)
        return error(o.value_off, std::string(kw) + " needs " + (filter ? "" : "type, ") +
                                      "track, count and seconds");
    rule_.threshold = t;
    return true;
}

bool RuleParser::parse_metadata(const RawOption& o) {
    std::string_view v = o.value;
    while (true) {
        const size_t c = v.find(',');
        std::string_view item = trim(v.substr(0, c));
        if (!item.empty()) {
            const size_t sp = item.find(' ');
            std::string_view k = item.substr(0, sp);
            std::string_view val = sp == std::string_view::npos ? "" : trim(item.substr(sp));
            rule_.metadata.emplace_back(std::string(k), std::string(val));
        }
        if (c == std::string_view::npos) break;
        v = v.substr(c + 1);
    }
    return true;
}

std::string unescape_msg(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        out.push_back(s[i]);
    }
    return out;
}

bool RuleParser::apply_option(const RawOption& o) {
    const std::string_view kw = o.keyword;
    const std::string_view val = trim(o.value);

    if (const BufferName* b = find_buffer(kDotted, kw)) {
        if (o.has_value) return error(o.value_off, std::string(kw) + " takes no value");
        current_ = b->buffer;
        sticky_ = true;
        transforms_.clear();
        decoded_ = false;
        return true;
    }
    if (kw == "file_data") {
        current_ = Buffer::HttpResponseBody;
        sticky_ = true;
        transforms_.clear();
        decoded_ = false;
        return true;
    }
    if (kw == "pkt_data") {
        current_ = Buffer::Stream;
        sticky_ = true;
        transforms_.clear();
        decoded_ = false;
        return true;
    }
    if (const auto t = transform_from_keyword(kw)) return parse_transform(o, *t);
    if (transform_takes_argument(kw)) {
        std::string why;
        const auto t = parse_transform_argument(kw, o.value, why);
        if (!t) {
            if (why.starts_with("unsupported: "))
                return unsupported(o.kw_off, std::string(kw) + " extract", why.substr(13));
            return error(o.has_value ? o.value_off : o.kw_off, why);
        }
        return parse_transform(o, *t, true);
    }
    if (const BufferName* b = find_buffer(kUnderscore, kw)) {
        if (dialect_ == Dialect::Snort3) {
            current_ = b->buffer;
            sticky_ = true;
            transforms_.clear();
            decoded_ = false;
            if (kw == "http_header" && o.has_value) {
                // Snort 3: http_header:field user-agent;
                std::string_view f = val;
                if (f.substr(0, 6) != "field ")
                    return error(o.value_off, "http_header expects 'field NAME'");
                f = trim(f.substr(6));
                if (iequals(f, "user-agent"))
                    current_ = Buffer::HttpUserAgent;
                else if (iequals(f, "host"))
                    current_ = Buffer::HttpHost;
                else if (iequals(f, "cookie"))
                    current_ = Buffer::HttpCookie;
                else
                    return error(o.value_off, "http_header field '" + std::string(f) +
                                                  "' has no buffer of its own; use http_header "
                                                  "with content:\"" +
                                                  std::string(f) + ": ...\"");
            } else if (o.has_value) {
                return error(o.value_off, std::string(kw) + " takes no value");
            }
            return true;
        }
        // Suricata legacy modifier: moves the previous content into this buffer.
        if (o.has_value) return error(o.value_off, std::string(kw) + " takes no value");
        if (rule_.conditions.empty() || rule_.conditions.back().kind != Condition::Kind::Content)
            return error(o.kw_off, "'" + std::string(kw) +
                                       "' modifies the content before it, and there is none (in "
                                       "Snort 3 rules it is a sticky buffer: set '# "
                                       "sluice-dialect: snort3')");
        if (sticky_)
            return error(o.kw_off, "'" + std::string(kw) +
                                       "' cannot modify a content that already follows a sticky "
                                       "buffer");
        rule_.conditions.back().buffer = b->buffer;
        return true;
    }
    if (kw == "content") return parse_content(o);
    if (kw == "pcre") return parse_pcre(o);
    if (kw == "dataset") return parse_dataset(o);
    if (kw == "bsize" || kw == "bufferlen") return parse_bsize(o);
    if (kw == "flowbits") return parse_flowbits(o);
    if (kw == "flowint") return parse_flowint(o);
    if (const auto ek = event_kind_from_keyword(kw)) return parse_event(o, *ek);
    if (kw == "requires") return parse_requires(o);
    if (kw == "byte_test") return parse_byte(o, false);
    if (kw == "byte_jump") return parse_byte(o, true);
    if (kw == "byte_extract") return parse_byte_extract(o);
    if (kw == "byte_math") return parse_byte_math(o);
    if (kw == "base64_decode") return parse_base64_decode(o);
    if (kw == "base64_data") return parse_base64_data(o);
    if (kw == "isdataat") return parse_isdataat(o);
    if (kw == "nocase" || kw == "depth" || kw == "offset" || kw == "distance" || kw == "within" ||
        kw == "fast_pattern" || kw == "startswith" || kw == "endswith") {
        if (dialect_ == Dialect::Snort3)
            return error(o.kw_off, "in Snort 3 rules '" + std::string(kw) +
                                       "' follows the content after a comma: content:\"x\", " +
                                       std::string(kw) + (kw == "nocase" ? "" : " N") + ";");
        Content* c = last_content(o);
        if (c == nullptr) return false;
        return content_modifier(o, kw, o.value, *c, o.has_value ? o.value_off : o.kw_off);
    }
    if (kw == "msg") {
        bool neg;
        std::string_view body, rest;
        size_t off;
        if (!split_quoted(o.value, neg, body, rest, off) || neg || !trim(rest).empty())
            return error(o.has_value ? o.value_off : o.kw_off, "msg expects a quoted string");
        rule_.msg = unescape_msg(body);
        return true;
    }
    if (kw == "sid" || kw == "rev" || kw == "gid") {
        uint32_t v = 0;
        if (!parse_int(val, v) || v == 0)
            return error(o.has_value ? o.value_off : o.kw_off,
                         std::string(kw) + " expects a positive integer");
        (kw == "sid" ? rule_.sid : kw == "rev" ? rule_.rev : rule_.gid) = v;
        return true;
    }
    if (kw == "priority") {
        uint32_t v = 0;
        if (!parse_int(val, v) || v < 1 || v > 255)
            return error(o.has_value ? o.value_off : o.kw_off,
                         "priority expects an integer from 1 to 255");
        rule_.priority = static_cast<uint8_t>(v);
        return true;
    }
    if (kw == "classtype") {
        if (val.empty()) return error(o.kw_off, "classtype expects a name");
        rule_.classtype = std::string(val);
        return true;
    }
    if (kw == "metadata") return parse_metadata(o);
    if (kw == "flow") return parse_flow(o);
    if (kw == "service") {
        if (val == "http")
            rule_.proto = Protocol::Http;
        else if (val == "ssl" || val == "tls")
            rule_.proto = Protocol::Tls;
        else
            return unsupported(o.value_off, "service:" + std::string(val),
                               "service supports http and ssl, found '" + std::string(val) + "'");
        return true;
    }
    if (kw.starts_with("http2.")) return parse_http2(o);
    if (kw == "tls.version" || kw == "ssl_version" || kw == "ssl_state") return parse_tls_check(o);
    static constexpr std::pair<std::string_view, PacketCheck::Kind> kPacketKeywords[] = {
        {"ttl", PacketCheck::Kind::Ttl},           {"id", PacketCheck::Kind::Id},
        {"dsize", PacketCheck::Kind::Dsize},       {"window", PacketCheck::Kind::Window},
        {"seq", PacketCheck::Kind::Seq},           {"ack", PacketCheck::Kind::Ack},
        {"tcp.mss", PacketCheck::Kind::TcpMss},    {"flags", PacketCheck::Kind::Flags},
        {"fragbits", PacketCheck::Kind::FragBits}, {"ipopts", PacketCheck::Kind::IpOpts},
        {"sameip", PacketCheck::Kind::SameIp},     {"itype", PacketCheck::Kind::Itype},
        {"icode", PacketCheck::Kind::Icode},       {"icmp_id", PacketCheck::Kind::IcmpId},
        {"icmp_seq", PacketCheck::Kind::IcmpSeq},  {"stream_size", PacketCheck::Kind::StreamSize},
    };
    for (const auto& [name, kind] : kPacketKeywords)
        if (kw == name) return parse_packet_check(o, kind);
    if (kw == "reference" || kw == "rem" || kw == "target") return true;
    if (kw == "threshold" || kw == "detection_filter") return parse_threshold(o, kw);
    return unsupported(o.kw_off, std::string(kw), "unknown keyword '" + std::string(kw) + "'");
}

bool RuleParser::finish() {
    if (rule_.sid == 0) return error(0, "rule has no sid");
    for (size_t i = 0; i < rule_.conditions.size(); ++i)
        if (rule_.conditions[i].kind == Condition::Kind::Base64Decode &&
            (i + 1 == rule_.conditions.size() || !rule_.conditions[i + 1].decoded))
            return error(0,
                         "base64_decode needs base64_data and a condition on the decoded "
                         "bytes (without them Suricata never matches the rule)");
    // Event rules match an anomaly, whatever their protocol says (Suricata's pkthdr, tcp,
    // http, tls): the event is all they may read.
    bool event_rule = false;
    for (const Condition& c : rule_.conditions)
        event_rule = event_rule || c.buffer == Buffer::Event;
    if (event_rule) {
        for (const Condition& c : rule_.conditions)
            if (c.buffer != Buffer::Event)
                return unsupported(
                    0, "mixed inspection points",
                    "an event rule cannot also read " + std::string(buffer_name(c.buffer)));
        if (!rule_.packet.empty() || !rule_.http2.empty() || !rule_.tls.empty())
            return unsupported(0, "mixed inspection points",
                               "an event rule cannot also use packet, http2 or TLS keywords");
        rule_.point = InspectPoint::Event;
        return true;
    }
    if (fast_patterns_ > 1) return error(0, "more than one fast_pattern");
    // Packet rules (Suricata's semantics): ip and tcp-pkt, a tcp rule with header keywords or
    // header buffers, and a tcp rule with nothing to match but its header: evaluated on every
    // packet, their payload contents on that packet's payload.
    bool packet_buffers = false;
    for (const Condition& c : rule_.conditions)
        packet_buffers = packet_buffers || inspect_point(c.buffer) == InspectPoint::Packet;
    const bool packet_rule =
        rule_.proto == Protocol::Ip || rule_.proto == Protocol::TcpPkt ||
        rule_.proto == Protocol::Udp || rule_.proto == Protocol::Icmp ||
        (rule_.proto == Protocol::Tcp && (!rule_.packet.empty() || packet_buffers ||
                                          (rule_.conditions.empty() && rule_.http2.empty())));
    if (!rule_.packet.empty() && !packet_rule)
        return unsupported(0, std::string(packet_check_name(rule_.packet.front().kind)),
                           std::string(packet_check_name(rule_.packet.front().kind)) +
                               " is a packet keyword; this " +
                               std::string(protocol_name(rule_.proto)) +
                               " rule is inspected per transaction, not per packet");
    if (packet_rule) {
        if (!rule_.http2.empty()) return error(0, "http2.* keywords need protocol http");
        for (Condition& c : rule_.conditions)
            if (c.buffer == Buffer::Stream) c.buffer = Buffer::PacketPayload;
        if (rule_.conditions.empty()) rule_.point = InspectPoint::Packet;
    }
    bool have_point = rule_.conditions.empty() && packet_rule;
    // TLS keywords name their point: the server's (negotiated version, its messages), or the
    // client's hello for an ssl_state that asks for it alone.
    if (!rule_.tls.empty()) {
        bool client_only = true;
        for (const TlsCheck& c : rule_.tls)
            client_only = client_only && c.kind == TlsCheck::Kind::SslState &&
                          (c.states & ~ssl_state_bit::kClientHello) == 0 && c.states != 0;
        rule_.point = client_only ? InspectPoint::TlsHello : InspectPoint::TlsServer;
        have_point = true;
        if (rule_.proto == Protocol::Tcp) rule_.proto = Protocol::Tls;
        if (rule_.proto != Protocol::Tls)
            return error(0, "tls.version, ssl_version and ssl_state need protocol tls");
    }
    for (const Condition& c : rule_.conditions) {
        const InspectPoint p = inspect_point(c.buffer);
        if (have_point && p != rule_.point)
            return unsupported(0, "mixed inspection points",
                               "rule mixes buffers of different inspection points (" +
                                   std::string(inspect_point_name(rule_.point)) + " and " +
                                   std::string(inspect_point_name(p)) + "): not supported");
        rule_.point = p;
        have_point = true;
        const bool http = p == InspectPoint::Request || p == InspectPoint::Response;
        if (http && rule_.proto == Protocol::Tcp) rule_.proto = Protocol::Http;
        if (http && rule_.proto != Protocol::Http)
            return error(0, std::string(buffer_name(c.buffer)) + " needs protocol http");
        const bool tls = p == InspectPoint::TlsHello || p == InspectPoint::TlsServer;
        if (tls && rule_.proto == Protocol::Tcp) rule_.proto = Protocol::Tls;
        if (tls && rule_.proto != Protocol::Tls)
            return error(0, std::string(buffer_name(c.buffer)) + " needs protocol tls");
    }
    if (packet_rule && rule_.point != InspectPoint::Packet)
        return unsupported(0, "mixed inspection points",
                           "a packet rule cannot use " +
                               std::string(inspect_point_name(rule_.point)) + " buffers");
    if (!have_point) {
        // Header-only HTTP rules (http2.* keywords alone) follow their flow direction.
        rule_.point = rule_.proto == Protocol::Tls ? InspectPoint::TlsHello
                      : rule_.proto == Protocol::Http
                          ? (rule_.flow_to_client ? InspectPoint::Response : InspectPoint::Request)
                          : InspectPoint::Stream;
    }
    if (rule_.point == InspectPoint::Request && rule_.flow_to_client)
        return error(0, "request buffers are inspected to_server, but the rule says to_client");
    if (rule_.point == InspectPoint::Response && rule_.flow_to_server)
        return error(0, "response buffers are inspected to_client, but the rule says to_server");
    if (rule_.point == InspectPoint::TlsHello && rule_.flow_to_client)
        return error(0, "tls.sni, ja3.hash and ja4.hash come from the client: use to_server");
    if (rule_.point == InspectPoint::TlsServer && rule_.flow_to_server)
        return error(0,
                     "tls.cert_*, ja3s and the negotiated version come from the server: use "
                     "to_client");
    return true;
}

void RuleParser::parse() {
    rule_.where = loc_.at(file_, 0);
    rule_.text = std::string(text_);
    sid_hint_ = find_sid(text_);
    if (!parse_header()) return;
    const size_t close = text_.rfind(')');
    if (close == std::string_view::npos || close < pos_)
        return (void)error(text_.size(), "expected ')' to close the rule options");
    for (size_t i = close + 1; i < text_.size(); ++i)
        if (!std::isspace(static_cast<unsigned char>(text_[i])))
            return (void)error(i, "unexpected text after the closing ')'");
    if (!split_options(close)) return;
    for (const RawOption& o : options_)
        if (!apply_option(o)) return;
    if (!finish()) return;
    out_.rules.push_back(std::move(rule_));
}

// Which dialect a rule is written in, if it says: 0 unknown, else the dialect.
Dialect sniff_dialect(std::string_view rule) {
    const size_t open = rule.find('(');
    if (open == std::string_view::npos) return Dialect::Auto;
    // Header-less rule ("alert http (") is Snort 3 only.
    std::string_view head = trim(rule.substr(0, open));
    size_t words = 0;
    for (size_t i = 0; i < head.size();) {
        while (i < head.size() && std::isspace(static_cast<unsigned char>(head[i]))) ++i;
        if (i < head.size()) ++words;
        while (i < head.size() && !std::isspace(static_cast<unsigned char>(head[i]))) ++i;
    }
    if (words == 2) return Dialect::Snort3;
    bool seen_content = false;
    bool quoted = false;
    std::string_view opts = rule.substr(open + 1);
    size_t start = 0;
    for (size_t i = 0; i <= opts.size(); ++i) {
        if (i < opts.size() && opts[i] == '\\') {
            ++i;
            continue;
        }
        if (i < opts.size() && opts[i] == '"') quoted = !quoted;
        if (i < opts.size() && (opts[i] != ';' || quoted)) continue;
        std::string_view opt = trim(opts.substr(start, i - start));
        start = i + 1;
        const size_t colon = opt.find(':');
        std::string_view kw = trim(opt.substr(0, colon));
        std::string_view val = colon == std::string_view::npos ? "" : opt.substr(colon + 1);
        if (kw == "content") {
            seen_content = true;
            const size_t q = val.rfind('"');
            if (q != std::string_view::npos && trim(val.substr(q + 1)).starts_with(','))
                return Dialect::Snort3;
        } else if (kw == "service" || kw == "rem") {
            return Dialect::Snort3;
        } else if (kw == "nocase" || kw == "depth" || kw == "offset" || kw == "distance" ||
                   kw == "within") {
            return Dialect::Suricata;
        } else if (find_buffer(kDotted, kw) != nullptr) {
            // dotted names are valid in both; not decisive
        } else if (find_buffer(kUnderscore, kw) != nullptr) {
            return seen_content ? Dialect::Suricata : Dialect::Snort3;
        }
    }
    return Dialect::Auto;
}

}  // namespace

std::string_view dialect_name(Dialect d) {
    switch (d) {
        case Dialect::Auto:
            return "auto";
        case Dialect::Suricata:
            return "suricata";
        case Dialect::Snort3:
            return "snort3";
    }
    return "?";
}

std::string RuleError::format() const {
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
           ": error: " + message;
}

RuleVars RuleVars::defaults() {
    RuleVars v;
    for (const char* n : {"HOME_NET", "EXTERNAL_NET", "API_SERVERS", "HTTP_SERVERS",
                          "SIGNUP_SERVERS", "DNS_SERVERS", "SMTP_SERVERS"})
        v.addresses[n] = "any";
    for (const char* n : {"HTTP_PORTS", "HTTPS_PORTS", "API_PORTS", "SSL_PORTS"})
        v.ports[n] = "any";
    return v;
}

namespace {

// Parses "[a, !b, [c, d]]" into its top-level elements.
bool split_list(std::string_view s, std::vector<std::string_view>& items, std::string& err) {
    s = trim(s);
    if (s.empty() || s.front() != '[') {
        items.push_back(s);
        return true;
    }
    if (s.back() != ']') {
        err = "unterminated list: expected ']'";
        return false;
    }
    s = s.substr(1, s.size() - 2);
    int depth = 0;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
        if (i < s.size() && s[i] == '[') ++depth;
        if (i < s.size() && s[i] == ']') --depth;
        if (i == s.size() || (s[i] == ',' && depth == 0)) {
            std::string_view item = trim(s.substr(start, i - start));
            if (item.empty()) {
                err = "empty element in list";
                return false;
            }
            items.push_back(item);
            start = i + 1;
        }
    }
    if (depth != 0) {
        err = "unbalanced brackets in list";
        return false;
    }
    return true;
}

// One address or port element (no list, variable, negation or "any"): appended to `out`.
bool address_leaf(std::string_view item, bool neg, AddressSet& out, std::string& err) {
    const size_t slash = item.find('/');
    auto ip = IpAddress::parse(item.substr(0, slash));
    if (!ip) {
        err = "expected an address, CIDR prefix, list or $VARIABLE, found '" + std::string(item) +
              "'";
        return false;
    }
    const unsigned max = ip->version == IpVersion::V4 ? 32 : 128;
    unsigned len = max;
    if (slash != std::string_view::npos && (!parse_int(item.substr(slash + 1), len) || len > max)) {
        err = "bad prefix length in '" + std::string(item) + "'";
        return false;
    }
    AddressRange r;
    r.prefix = *ip;
    r.len = static_cast<uint8_t>(len);
    (neg ? out.exclude : out.include).push_back(r);
    return true;
}

bool port_leaf(std::string_view item, bool neg, PortSet& out, std::string& err) {
    const size_t colon = item.find(':');
    uint32_t lo = 0, hi = 65535;
    bool ok = true;
    if (colon == std::string_view::npos) {
        ok = parse_int(item, lo);
        hi = lo;
    } else {
        std::string_view a = item.substr(0, colon), b = item.substr(colon + 1);
        if (!a.empty()) ok = parse_int(a, lo);
        if (ok && !b.empty()) ok = parse_int(b, hi);
    }
    if (!ok || lo > 65535 || hi > 65535 || lo > hi) {
        err = "expected a port, range (N:M), list or $VARIABLE, found '" + std::string(item) + "'";
        return false;
    }
    (neg ? out.exclude : out.include)
        .push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
    return true;
}

// Lists, negation, "any" and $VARIABLES are the same for addresses and ports; only the
// variables' table and the leaf parser differ.
template <typename Set, typename Leaf>
bool set_elements(std::string_view s, const std::map<std::string, std::string, std::less<>>& vars,
                  std::string_view what, bool negate, Set& out, std::string& err, int depth,
                  Leaf leaf) {
    if (depth > 8) {
        err = std::string(what) + " variables nest too deeply";
        return false;
    }
    std::vector<std::string_view> items;
    if (!split_list(s, items, err)) return false;
    for (std::string_view item : items) {
        bool neg = negate;
        if (!item.empty() && item.front() == '!') {
            neg = !neg;
            item = trim(item.substr(1));
        }
        if (item.empty()) {
            err = "empty " + std::string(what);
            return false;
        }
        if (item.front() == '[' || item.front() == '$') {
            std::string_view inner = item;
            if (item.front() == '$') {
                auto it = vars.find(item.substr(1));
                if (it == vars.end()) {
                    err = "unknown " + std::string(what) + " variable '" + std::string(item) + "'";
                    return false;
                }
                inner = it->second;
            }
            if (!set_elements(inner, vars, what, neg, out, err, depth + 1, leaf)) return false;
            continue;
        }
        if (item == "any") {
            if (neg) {
                err = "'!any' matches nothing";
                return false;
            }
            continue;  // any adds no constraint
        }
        if (!leaf(item, neg, out, err)) return false;
    }
    return true;
}

}  // namespace

bool parse_address_set(std::string_view text, const RuleVars& vars, AddressSet& out,
                       std::string& error) {
    return set_elements(text, vars.addresses, "address", false, out, error, 0, address_leaf);
}

bool parse_port_set(std::string_view text, const RuleVars& vars, PortSet& out, std::string& error) {
    return set_elements(text, vars.ports, "port", false, out, error, 0, port_leaf);
}

ParsedFile parse_rules(std::string_view text, std::string_view file, const ParseOptions& opts) {
    ParsedFile out;
    Dialect dialect = opts.dialect;
    // Collect logical rules first (continuation lines joined) with their location maps.
    struct Logical {
        std::string text;
        LocationMap loc;
    };
    std::vector<Logical> logical;
    Logical cur;
    uint32_t line_no = 0;
    bool continuing = false;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        const bool last = nl >= text.size();
        pos = nl + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::string_view t = trim(line);
        if (!continuing) {
            if (t.empty()) {
                if (last) break;
                continue;
            }
            if (t.front() == '#') {
                std::string_view c = trim(t.substr(1));
                if (dialect == Dialect::Auto && c.starts_with("sluice-dialect:")) {
                    std::string_view d = trim(c.substr(15));
                    if (d == "snort3" || d == "snort")
                        dialect = Dialect::Snort3;
                    else if (d == "suricata")
                        dialect = Dialect::Suricata;
                    else
                        out.file_errors.push_back(
                            {{std::string(file), line_no, 1},
                             "sluice-dialect must be 'suricata' or 'snort3', found '" +
                                 std::string(d) + "'"});
                }
                if (last) break;
                continue;
            }
        }
        const size_t lead = static_cast<size_t>(t.data() - line.data());
        const bool cont = !t.empty() && t.back() == '\\';
        if (cont) t.remove_suffix(1);
        cur.loc.pieces.push_back({cur.text.size(), line_no, static_cast<uint32_t>(lead + 1)});
        cur.text.append(t);
        if (cont && !last) {
            cur.text.push_back(' ');
            continuing = true;
            continue;
        }
        continuing = false;
        logical.push_back(std::move(cur));
        cur = Logical{};
        if (last) break;
    }
    if (dialect == Dialect::Auto) {
        dialect = Dialect::Suricata;
        for (const Logical& l : logical) {
            const Dialect d = sniff_dialect(l.text);
            if (d != Dialect::Auto) {
                dialect = d;
                break;
            }
        }
    }
    out.dialect = dialect;
    for (const Logical& l : logical) {
        RuleParser p(l.text, l.loc, file, dialect, opts.vars, out);
        p.parse();
    }
    if (!opts.keep_valid && !out.ok()) out.rules.clear();
    return out;
}

}  // namespace sluice::rules
