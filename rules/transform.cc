#include "rules/transform.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstring>

namespace sluice::rules {

struct TransformRegex {
    pcre2_code* code = nullptr;
    ~TransformRegex() { pcre2_code_free(code); }
};

namespace {

struct TransformName {
    std::string_view keyword;
    Transform::Kind t;
};
constexpr TransformName kTransforms[] = {
    {"dotprefix", Transform::DotPrefix},
    {"to_lowercase", Transform::ToLowercase},
    {"to_uppercase", Transform::ToUppercase},
    {"strip_whitespace", Transform::StripWhitespace},
    {"compress_whitespace", Transform::CompressWhitespace},
    {"url_decode", Transform::UrlDecode},
    {"xor", Transform::Xor},
    {"pcrexform", Transform::PcreXform},
    {"from_base64", Transform::FromBase64},
};

// pcrexform's match data and match context: one per thread, made on first use (the transform
// runs on workers). The context bounds backtracking on hostile buffers as the matcher's pcre
// does: past the limit the match fails and the buffer stays as it was.
constexpr uint32_t kPcreXformMatchLimit = 200'000;
struct PcreXformThread {
    pcre2_match_data* md = pcre2_match_data_create(4, nullptr);
    pcre2_match_context* mctx = [] {
        pcre2_match_context* c = pcre2_match_context_create(nullptr);
        pcre2_set_match_limit(c, kPcreXformMatchLimit);
        return c;
    }();
    ~PcreXformThread() {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mctx);
    }
};
PcreXformThread& pcrexform_thread() {
    thread_local PcreXformThread t;
    return t;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One transform from `in` into `out` (both bounded by out's size); returns the length.
size_t apply_one(const Transform& t, std::string_view in, std::span<char> out) {
    size_t n = 0;
    auto put = [&](char c) {
        if (n < out.size()) out[n++] = c;
    };
    auto unchanged = [&] {
        // `in` may be `out` itself (a later step of a chain): copy only when it is not.
        const size_t len = std::min(in.size(), out.size());
        if (in.data() != out.data()) std::memmove(out.data(), in.data(), len);
        return len;
    };
    switch (t.kind) {
        case Transform::DotPrefix:
            put('.');
            for (char c : in) put(c);
            break;
        case Transform::ToLowercase:
            for (char c : in) put(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
            break;
        case Transform::ToUppercase:
            for (char c : in) put(c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c);
            break;
        case Transform::StripWhitespace:
            for (char c : in)
                if (!is_space(c)) put(c);
            break;
        case Transform::CompressWhitespace: {
            bool in_run = false;
            for (char c : in) {
                if (is_space(c)) {
                    if (!in_run) put(' ');
                    in_run = true;
                } else {
                    put(c);
                    in_run = false;
                }
            }
            break;
        }
        case Transform::UrlDecode:
            for (size_t i = 0; i < in.size(); ++i) {
                if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 &&
                    hex(in[i + 2]) >= 0) {
                    put(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
                    i += 2;
                } else {
                    put(in[i] == '+' ? ' ' : in[i]);
                }
            }
            break;
        case Transform::Xor: {
            // Bytes before the offset stay; the key restarts where xoring starts (Suricata).
            if (t.offset > in.size()) return unchanged();
            for (size_t i = 0; i < in.size(); ++i)
                put(i < t.offset ? in[i]
                                 : static_cast<char>(in[i] ^ t.arg[(i - t.offset) % t.arg.size()]));
            break;
        }
        case Transform::PcreXform: {
            PcreXformThread& th = pcrexform_thread();
            pcre2_match_data* md = th.md;
            static constexpr char kEmpty[1] = {0};
            const int rc = pcre2_match(
                t.regex->code, reinterpret_cast<PCRE2_SPTR>(in.empty() ? kEmpty : in.data()),
                in.size(), 0, 0, md, th.mctx);
            if (rc < 2) return unchanged();  // no match, or the group took no part
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
            if (ov[2] == PCRE2_UNSET || ov[3] < ov[2]) return unchanged();
            const size_t len = std::min<size_t>(ov[3] - ov[2], out.size());
            std::memmove(out.data(), in.data() + ov[2], len);
            return len;
        }
        case Transform::FromBase64: {
            // As Suricata: an offset at or past the end, a byte count that is not less than what
            // follows the offset, or nothing decodable leaves the buffer as it was.
            if (t.offset > 0 && t.offset >= in.size()) return unchanged();
            std::string_view src = in.substr(t.offset);
            if (t.bytes > 0) {
                if (t.bytes >= src.size()) return unchanged();
                src = src.substr(0, t.bytes);
            }
            // Measured first, so that input that fails half-way is left whole; decoding writes
            // behind where it reads (three bytes for four), so in place is safe.
            if (decode_base64(t.mode, src, {}) == 0) return unchanged();
            return std::min(decode_base64(t.mode, src, out), out.size());
        }
    }
    return n;
}

std::string_view unquote(std::string_view v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
    return v;
}

bool parse_u32(std::string_view s, uint32_t& out) {
    if (s.empty() || s.size() > 10) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > UINT32_MAX) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

std::string_view trim_ws(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::optional<Transform> parse_xor(std::string_view v, std::string& error) {
    Transform t(Transform::Xor);
    v = trim_ws(v);
    if (v.starts_with("offset ")) {
        const size_t comma = v.find(',');
        if (comma == std::string_view::npos ||
            !parse_u32(trim_ws(v.substr(7, comma - 7)), t.offset)) {
            error = "xor: expected offset N,\"hexkey\"";
            return std::nullopt;
        }
        v = trim_ws(v.substr(comma + 1));
    }
    if (v.starts_with("extract")) {
        error = "unsupported: xor with a key extracted from the buffer";
        return std::nullopt;
    }
    const std::string_view hexkey = unquote(v);
    if (hexkey.empty() || hexkey.size() % 2 != 0 || hexkey.size() > 510) {
        error = "xor: the key is 1 to 255 bytes in hex (an even number of digits)";
        return std::nullopt;
    }
    for (size_t i = 0; i < hexkey.size(); i += 2) {
        const int hi = hex(hexkey[i]), lo = hex(hexkey[i + 1]);
        if (hi < 0 || lo < 0) {
            error = "xor: '" + std::string(hexkey) + "' is not hex";
            return std::nullopt;
        }
        t.arg.push_back(static_cast<char>(hi * 16 + lo));
    }
    return t;
}

std::optional<Transform> parse_pcrexform(std::string_view v, std::string& error) {
    v = trim_ws(v);
    if (v.size() < 2 || v.front() != '"' || v.back() != '"') {
        error = "pcrexform expects a quoted expression";
        return std::nullopt;
    }
    // The rule's escapes of its own delimiters; everything else is the expression's.
    std::string expr;
    const std::string_view body = v.substr(1, v.size() - 2);
    for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\\' && i + 1 < body.size() && (body[i + 1] == '"' || body[i + 1] == ';'))
            ++i;
        expr.push_back(body[i]);
    }
    Transform t(Transform::PcreXform);
    int ec = 0;
    PCRE2_SIZE eo = 0;
    auto re = std::make_shared<TransformRegex>();
    re->code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expr.data()), expr.size(), 0, &ec, &eo, nullptr);
    if (re->code == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        error = "pcrexform: " + std::string(reinterpret_cast<const char*>(msg)) +
                " at pattern offset " + std::to_string(eo);
        return std::nullopt;
    }
    uint32_t captures = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &captures);
    if (captures != 1) {
        error = "pcrexform needs exactly one capture group, found " + std::to_string(captures);
        return std::nullopt;
    }
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);  // interpreter if JIT fails
    t.arg = std::move(expr);
    t.regex = std::move(re);
    return t;
}

std::optional<Transform> parse_from_base64(std::string_view v, std::string& error) {
    Transform t(Transform::FromBase64);
    bool seen_bytes = false, seen_offset = false, seen_mode = false;
    v = trim_ws(v);
    while (!v.empty()) {
        const size_t comma = v.find(',');
        const std::string_view item = trim_ws(v.substr(0, comma));
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
        const size_t sp = item.find_first_of(" \t:");
        const std::string_view name = item.substr(0, sp);
        std::string_view arg =
            sp == std::string_view::npos ? std::string_view() : trim_ws(item.substr(sp + 1));
        if (name == "bytes" && !seen_bytes) {
            seen_bytes = true;
            if (!parse_u32(arg, t.bytes) || t.bytes == 0 || t.bytes > 65535) {
                error = "from_base64: bytes is 1 to 65535";
                return std::nullopt;
            }
        } else if (name == "offset" && !seen_offset) {
            seen_offset = true;
            if (!parse_u32(arg, t.offset) || t.offset > 65535) {
                error = "from_base64: offset is 0 to 65535";
                return std::nullopt;
            }
        } else if (name == "mode" && !seen_mode) {
            seen_mode = true;
            const auto m = base64_mode_from_name(arg);
            if (!m) {
                error = "from_base64: mode is strict, rfc4648 or rfc2045";
                return std::nullopt;
            }
            t.mode = *m;
        } else {
            error = "from_base64: unknown or repeated option '" + std::string(item) + "'";
            return std::nullopt;
        }
    }
    return t;
}

}  // namespace

std::optional<Transform> transform_from_keyword(std::string_view kw) {
    if (transform_takes_argument(kw)) return std::nullopt;
    for (const TransformName& x : kTransforms)
        if (x.keyword == kw) return Transform(x.t);
    return std::nullopt;
}

bool transform_takes_argument(std::string_view kw) {
    return kw == "xor" || kw == "pcrexform" || kw == "from_base64";
}

std::optional<Transform> parse_transform_argument(std::string_view kw, std::string_view value,
                                                  std::string& error) {
    if (kw == "xor") return parse_xor(value, error);
    if (kw == "pcrexform") return parse_pcrexform(value, error);
    if (kw == "from_base64") return parse_from_base64(value, error);
    error = "'" + std::string(kw) + "' is no transform";
    return std::nullopt;
}

std::string_view transform_name(Transform::Kind t) {
    for (const TransformName& x : kTransforms)
        if (x.t == t) return x.keyword;
    return "?";
}

size_t apply_transforms(std::span<const Transform> chain, std::string_view in,
                        std::span<char> out) {
    if (chain.empty()) {
        const size_t n = std::min(in.size(), out.size());
        std::copy_n(in.data(), n, out.data());
        return n;
    }
    // Every step after the first reads the previous result: in place is safe for the ones
    // that never write ahead of their reading position; dotprefix shifts, so it goes first or
    // reads from a copy of the prefix-free result.
    size_t len = 0;
    bool first = true;
    for (const Transform& t : chain) {
        if (first) {
            len = apply_one(t, in, out);
            first = false;
            continue;
        }
        if (t.kind == Transform::DotPrefix) {
            const size_t keep = std::min(len, out.size() - 1);
            std::move_backward(out.data(), out.data() + keep, out.data() + keep + 1);
            out[0] = '.';
            len = keep + 1;
            continue;
        }
        len = apply_one(t, std::string_view(out.data(), len), out);
    }
    return len;
}

std::optional<PrefilterLiteral> prefilter_literal(std::span<const Transform> chain,
                                                  std::string_view content, bool nocase) {
    PrefilterLiteral p;
    p.caseless = nocase;
    bool dot = false;
    for (const Transform& t : chain) {
        switch (t.kind) {
            case Transform::DotPrefix:
                dot = true;
                break;
            case Transform::ToLowercase:
            case Transform::ToUppercase:
                p.caseless = true;
                break;
            default:
                return std::nullopt;
        }
    }
    if (dot && !content.empty() && content.front() == '.') content.remove_prefix(1);
    if (content.empty()) return std::nullopt;
    p.bytes = std::string(content);
    return p;
}

}  // namespace sluice::rules
