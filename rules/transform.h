// Suricata's buffer transforms: a sticky buffer followed by transform keywords is matched in
// its transformed form (`http.host; dotprefix; content:".example.com"; endswith;`). The chain
// applies in rule order to the whole buffer, into a bounded scratch (a longer result is cut).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::rules {

enum class Transform : uint8_t {
    DotPrefix,           // "." before the buffer
    ToLowercase,         // ASCII letters
    ToUppercase,         // ASCII letters
    StripWhitespace,     // every space, tab, CR, LF, VT and FF removed
    CompressWhitespace,  // each run of those becomes one space
    UrlDecode,           // %XX and '+' decoded (a bad escape stays as it is)
};
std::optional<Transform> transform_from_keyword(std::string_view kw);
std::string_view transform_name(Transform t);

// Applies the chain to `in`, writing at most `out.size()` bytes; returns the result's length.
size_t apply_transforms(std::span<const Transform> chain, std::string_view in, std::span<char> out);

// A literal that the raw buffer must contain wherever `content` is found in the transformed
// one, for Hyperscan's prefilter: the content itself (caseless after a case transform, without
// its leading '.' after dotprefix). None when the chain has a transform that moves or removes
// bytes (whitespace, url_decode) or nothing would be left.
struct PrefilterLiteral {
    std::string bytes;
    bool caseless = false;
};
std::optional<PrefilterLiteral> prefilter_literal(std::span<const Transform> chain,
                                                  std::string_view content, bool nocase);

}  // namespace sluice::rules
