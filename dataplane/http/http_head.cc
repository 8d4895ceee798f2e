#include "http/http_head.h"

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

bool parse_version(std::string_view v, uint8_t& minor) {
    if (v.size() != 8 || v.substr(0, 7) != "HTTP/1.") return false;
    if (v[7] != '0' && v[7] != '1') return false;
    minor = static_cast<uint8_t>(v[7] - '0');
    return true;
}

bool parse_fields(std::string_view rest, MessageHead& out, HeadError& err) {
    const char* block_start = rest.data();
    out.header_count = 0;
    while (!rest.empty()) {
        const char* line_start = rest.data();
        std::string_view line = next_line(rest);
        if (line.empty()) {
            out.header_block =
                std::string_view(block_start, static_cast<size_t>(line_start - block_start));
            return true;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            err = HeadError::ObsFold;
            return false;
        }
        const size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) {
            err = HeadError::BadHeaderName;
            return false;
        }
        std::string_view name = line.substr(0, colon);
        for (char c : name)
            if (!is_tchar(static_cast<unsigned char>(c))) {
                err = HeadError::BadHeaderName;  // includes "Name : value" (space before colon)
                return false;
            }
        std::string_view value = trim_ows(line.substr(colon + 1));
        for (char c : value) {
            const unsigned char u = static_cast<unsigned char>(c);
            if ((u < 0x20 && u != '\t') || u == 0x7f) {
                err = HeadError::BadHeaderValue;
                return false;
            }
        }
        if (out.header_count == kMaxHeaders) {
            err = HeadError::TooManyHeaders;
            return false;
        }
        out.headers[out.header_count++] = {name, value};
    }
    // The caller passes a complete head; running out of lines means no blank line.
    err = HeadError::BadHeaderName;
    return false;
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
    std::string_view rest = head;
    const std::string_view line = next_line(rest);
    out.start_line = line;
    // method SP request-target SP HTTP-version
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
        sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string_view::npos) {
        err = HeadError::BadRequestLine;
        return false;
    }
    out.method = line.substr(0, sp1);
    for (char c : out.method)
        if (!is_tchar(static_cast<unsigned char>(c))) {
            err = HeadError::BadRequestLine;
            return false;
        }
    out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (char c : out.target) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            err = HeadError::BadRequestLine;
            return false;
        }
    }
    if (!parse_version(line.substr(sp2 + 1), out.version_minor)) {
        err = HeadError::BadVersion;
        return false;
    }
    out.status = 0;
    out.reason = {};
    return parse_fields(rest, out, err);
}

bool parse_response_head(std::string_view head, MessageHead& out, HeadError& err) {
    err = HeadError::None;
    std::string_view rest = head;
    const std::string_view line = next_line(rest);
    out.start_line = line;
    // HTTP-version SP 3DIGIT SP [reason]
    if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
        err = HeadError::BadStatusLine;
        return false;
    }
    if (!parse_version(line.substr(0, 8), out.version_minor)) {
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
    out.reason = line.size() > 13 ? line.substr(13) : std::string_view();
    out.method = {};
    out.target = {};
    return parse_fields(rest, out, err);
}

}  // namespace sluice::http
