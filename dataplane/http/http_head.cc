#include "http/http_head.h"

#include <array>

namespace sluice::http {

namespace {

constexpr bool is_tchar(unsigned char c) {
    // RFC 9110 token characters.
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '!' ||
           c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' ||
           c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~';
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Next line of the head without its CRLF (or bare LF); advances `rest`.
std::string_view next_line(std::string_view& rest) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

// "HTTP/1.0" and "HTTP/1.1" exactly; any other "HTTP/d.d" is taken (as 1.1, or 1.0 for
// HTTP/0.x) with kQuirkVersion, as servers answer it. Anything else is no version.
bool parse_version(std::string_view v, uint8_t& minor, uint16_t& quirks) {
    if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return false;
    if (v[5] == '1' && (v[7] == '0' || v[7] == '1')) {
        minor = static_cast<uint8_t>(v[7] - '0');
        return true;
    }
    quirks |= kQuirkVersion;
    minor = v[5] == '0' ? 0 : 1;
    return true;
}

bool parse_fields(std::string_view rest, MessageHead& out, HeadError& err) {
    const char* block_start = rest.data();
    out.header_count = 0;
    Header* last = nullptr;  // the field an obs-fold line continues
    while (!rest.empty()) {
        const char* line_start = rest.data();
        std::string_view line = next_line(rest);
        if (line.empty()) {
            out.header_block =
                std::string_view(block_start, static_cast<size_t>(line_start - block_start));
            return true;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            // Obsolete line folding: the previous value goes on over this line (the view spans
            // the line break; nothing is copied). A fold before any field is dropped.
            out.quirks |= kQuirkObsFold;
            if (last != nullptr) {
                const std::string_view more = trim_ows(line);
                if (!more.empty()) {
                    const char* from = last->value.empty() ? more.data() : last->value.data();
                    last->value = std::string_view(
                        from, static_cast<size_t>(more.data() + more.size() - from));
                }
                last->quirks |= kQuirkObsFold;
            }
            continue;
        }
        const size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) {
            out.quirks |= kQuirkNoColon;  // not a field: skipped, as libhtp and servers do
            last = nullptr;
            continue;
        }
        Header h;
        std::string_view name = line.substr(0, colon);
        if (name.back() == ' ' || name.back() == '\t') {
            h.quirks |= kQuirkNameWhitespace;
            name = trim_ows(name);
            if (name.empty()) {
                out.quirks |= kQuirkNoColon;
                last = nullptr;
                continue;
            }
        }
        for (char c : name)
            if (!is_tchar(static_cast<unsigned char>(c))) {
                h.quirks |= kQuirkHeaderName;
                break;
            }
        h.name = name;
        h.value = trim_ows(line.substr(colon + 1));
        for (char c : h.value) {
            const unsigned char u = static_cast<unsigned char>(c);
            if ((u < 0x20 && u != '\t') || u == 0x7f) {
                h.quirks |= kQuirkHeaderValue;
                break;
            }
        }
        if (out.header_count == kMaxHeaders) {
            err = HeadError::TooManyHeaders;
            return false;
        }
        out.quirks |= h.quirks;
        out.headers[out.header_count] = h;
        last = &out.headers[out.header_count++];
    }
    // The caller passes a complete head; running out of lines means no blank line.
    err = HeadError::BadHeaderName;
    return false;
}

// Splits on runs of spaces and tabs (a tolerant request line); true if more than one space
// separated any two parts or a tab did.
bool split_words(std::string_view line, std::array<std::string_view, 4>& words, size_t& n) {
    n = 0;
    bool odd = false;
    size_t i = 0;
    while (i < line.size()) {
        size_t run = 0;
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            if (line[i] == '\t') odd = true;
            ++run;
            ++i;
        }
        if (run > 1 || (run == 1 && n == 0)) odd = true;
        if (i >= line.size()) break;
        const size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (n == words.size()) return odd;
        words[n++] = line.substr(start, i - start);
    }
    return odd;
}

}  // namespace

std::string_view head_error_name(HeadError e) {
    switch (e) {
        case HeadError::None:
            return "none";
        case HeadError::BadRequestLine:
            return "bad_request_line";
        case HeadError::BadStatusLine:
            return "bad_status_line";
        case HeadError::BadVersion:
            return "bad_version";
        case HeadError::BadHeaderName:
            return "bad_header_name";
        case HeadError::BadHeaderValue:
            return "bad_header_value";
        case HeadError::ObsFold:
            return "obs_fold";
        case HeadError::TooManyHeaders:
            return "too_many_headers";
    }
    return "?";
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const size_t c = value.find(',');
        if (iequals(trim_ows(value.substr(0, c)), token)) return true;
        if (c == std::string_view::npos) break;
        value.remove_prefix(c + 1);
    }
    return false;
}

std::string_view last_token(std::string_view value) {
    const size_t c = value.rfind(',');
    return trim_ows(c == std::string_view::npos ? value : value.substr(c + 1));
}

const Header* MessageHead::find(std::string_view name) const {
    for (size_t i = 0; i < header_count; ++i)
        if (iequals(headers[i].name, name)) return &headers[i];
    return nullptr;
}

size_t find_head_end(std::string_view buf, size_t from) {
    size_t i = from > 3 ? from - 3 : 0;
    while (true) {
        const size_t nl = buf.find('\n', i);
        if (nl == std::string_view::npos) return std::string_view::npos;
        // "\n\n" or "\n\r\n" ends the head.
        if (nl + 1 < buf.size() && buf[nl + 1] == '\n') return nl + 2;
        if (nl + 2 < buf.size() && buf[nl + 1] == '\r' && buf[nl + 2] == '\n') return nl + 3;
        i = nl + 1;
    }
}

bool parse_request_head(std::string_view head, MessageHead& out, HeadError& err) {
    err = HeadError::None;
    out.quirks = 0;
    out.head = head;
    std::string_view rest = head;
    const std::string_view line = next_line(rest);
    out.start_line = line;
    // method SP request-target SP HTTP-version; extra spaces and tabs are tolerated (a target
    // with spaces in it is not: its first word is the target, the rest must be the version).
    std::array<std::string_view, 4> w;
    size_t n = 0;
    if (split_words(line, w, n)) out.quirks |= kQuirkRequestLine;
    if (n != 3) {
        err = HeadError::BadRequestLine;
        return false;
    }
    out.method = w[0];
    for (char c : out.method)
        if (!is_tchar(static_cast<unsigned char>(c))) {
            err = HeadError::BadRequestLine;
            return false;
        }
    out.target = w[1];
    for (char c : out.target) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) out.quirks |= kQuirkRequestLine;
    }
    if (!parse_version(w[2], out.version_minor, out.quirks)) {
        err = HeadError::BadVersion;
        return false;
    }
    out.status = 0;
    out.reason = {};
    return parse_fields(rest, out, err);
}

bool parse_response_head(std::string_view head, MessageHead& out, HeadError& err) {
    err = HeadError::None;
    out.quirks = 0;
    out.head = head;
    std::string_view rest = head;
    const std::string_view line = next_line(rest);
    out.start_line = line;
    // HTTP-version SP 3DIGIT [SP reason]; "HTTP/1.1 200OK" and a tab for the space are taken.
    if (line.size() < 12 || (line[8] != ' ' && line[8] != '\t')) {
        err = HeadError::BadStatusLine;
        return false;
    }
    if (line[8] == '\t') out.quirks |= kQuirkStatusLine;
    if (!parse_version(line.substr(0, 8), out.version_minor, out.quirks)) {
        err = HeadError::BadVersion;
        return false;
    }
    uint16_t status = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9') {
            err = HeadError::BadStatusLine;
            return false;
        }
        status = static_cast<uint16_t>(status * 10 + (line[i] - '0'));
    }
    if (status < 100) {
        err = HeadError::BadStatusLine;
        return false;
    }
    out.status = status;
    out.reason = {};
    if (line.size() > 12) {
        const bool sep = line[12] == ' ' || line[12] == '\t';
        if (!sep) out.quirks |= kQuirkStatusLine;
        out.reason = line.substr(sep ? 13 : 12);
    }
    out.method = {};
    out.target = {};
    return parse_fields(rest, out, err);
}

}  // namespace sluice::http
