// Parses a complete HTTP/1.x message head (start line + header fields + empty line) into
// views of the caller's buffer. No allocation, no copies; picohttpparser's shape: the caller
// finds the head's end (find_head_end) and the parser fills the output.
//
// As tolerant as the servers it protects (libhtp's stance): what real peers send though
// malformed - extra spaces in the request line, a version other than 1.0/1.1, a status line
// without its space, header names with bad characters or whitespace before the colon, control
// bytes in values, obsolete line folding, lines without a colon - is parsed and noted in
// `quirks` (and per header), never a reason to stop. Only a head with no recognisable start
// line, or more than kMaxHeaders fields, is an error.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::http {

// What the parser recovered from, per message (MessageHead::quirks) and per field.
enum HeadQuirk : uint16_t {
    kQuirkRequestLine = 1 << 0,     // extra or tab separators, control bytes in the target
    kQuirkStatusLine = 1 << 1,      // no space after the status code, or a short reason
    kQuirkVersion = 1 << 2,         // HTTP/1.x with x not 0 or 1, or HTTP/y.x
    kQuirkHeaderName = 1 << 3,      // characters outside RFC 9110's token set
    kQuirkNameWhitespace = 1 << 4,  // whitespace between the name and the colon (trimmed)
    kQuirkHeaderValue = 1 << 5,     // control bytes in the value
    kQuirkObsFold = 1 << 6,         // continued on the next line (the value spans the fold)
    kQuirkNoColon = 1 << 7,         // a line without a colon (skipped)
};

struct Header {
    std::string_view name;
    std::string_view value;  // leading/trailing whitespace removed; spans folds
    uint16_t quirks = 0;     // HeadQuirk bits of this field's line(s)
};

constexpr size_t kMaxHeaders = 100;

enum class HeadError : uint8_t {
    None = 0,
    BadRequestLine,
    BadStatusLine,
    BadVersion,
    BadHeaderName,
    BadHeaderValue,  // NUL or other control bytes
    ObsFold,         // a header line starting with whitespace (obsolete line folding)
    TooManyHeaders,
};
std::string_view head_error_name(HeadError e);

struct MessageHead {
    // Request: method, target. Response: status, reason.
    std::string_view method;
    std::string_view target;
    uint16_t status = 0;
    std::string_view reason;
    uint8_t version_minor = 1;  // HTTP/1.<minor>
    std::string_view start_line;
    std::string_view head;          // the whole head as parsed, start line to blank line
    std::string_view header_block;  // the header lines (without the start line and blank line)
    std::array<Header, kMaxHeaders> headers;
    size_t header_count = 0;
    uint16_t quirks = 0;  // HeadQuirk bits: what was recovered from (each an anomaly)

    std::span<const Header> fields() const { return {headers.data(), header_count}; }
    // First field with this name (case-insensitive), or nullptr.
    const Header* find(std::string_view name) const;
};

// Offset just past the blank line ending a head that starts at buf[0], or npos. `from` lets a
// caller resume a search after appending bytes (it re-scans three bytes back).
size_t find_head_end(std::string_view buf, size_t from = 0);

bool parse_request_head(std::string_view head, MessageHead& out, HeadError& err);
bool parse_response_head(std::string_view head, MessageHead& out, HeadError& err);

bool iequals(std::string_view a, std::string_view b);
// True if a comma-separated header value contains this token (case-insensitive).
bool has_token(std::string_view value, std::string_view token);
// The last comma-separated element of a value (Transfer-Encoding's final coding).
std::string_view last_token(std::string_view value);

}  // namespace sluice::http
