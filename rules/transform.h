// Suricata's buffer transforms: a sticky buffer followed by transform keywords is matched in
// its transformed form (`http.host; dotprefix; content:".example.com"; endswith;`). The chain
// applies in rule order to the whole buffer, into a bounded scratch (a longer result is cut).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/base64.h"

namespace sluice::rules {

// A compiled pcrexform expression (PCRE2), shared by the rule's copies.
struct TransformRegex;

struct Transform {
    // Unscoped so that `Transform::DotPrefix` names both the kind and (by conversion) a
    // transform without arguments.
    enum Kind : uint8_t {
        DotPrefix,           // "." before the buffer
        ToLowercase,         // ASCII letters
        ToUppercase,         // ASCII letters
        StripWhitespace,     // every space, tab, CR, LF, VT and FF removed
        CompressWhitespace,  // each run of those becomes one space
        UrlDecode,           // %XX and '+' decoded (a bad escape stays as it is)
        Xor,                 // xor:[offset N,]"hexkey": bytes from `offset` xored with the key
        PcreXform,           // pcrexform:"re": the first capture group (the buffer if no match)
        FromBase64,          // from_base64:[bytes N][, offset N][, mode M]: decoded bytes
    };
    Transform(Kind k = DotPrefix) : kind(k) {}  // NOLINT: a kind is a transform
    Kind kind;
    std::string arg;      // xor: the key bytes; pcrexform: the expression as written
    uint32_t offset = 0;  // xor, from_base64: where the transform starts
    uint32_t bytes = 0;   // from_base64: how many bytes to decode (0: all)
    Base64Mode mode = Base64Mode::Rfc4648;
    std::shared_ptr<const TransformRegex> regex;  // pcrexform
    bool operator==(const Transform& o) const {
        return kind == o.kind && arg == o.arg && offset == o.offset && bytes == o.bytes &&
               mode == o.mode;
    }
};

// The transforms without arguments, by keyword.
std::optional<Transform> transform_from_keyword(std::string_view kw);
// True for the keywords of transforms that take an argument (xor, pcrexform, from_base64).
bool transform_takes_argument(std::string_view kw);
// Parses a transform with an argument; on error, nullopt and `error` says why.
std::optional<Transform> parse_transform_argument(std::string_view kw, std::string_view value,
                                                  std::string& error);
std::string_view transform_name(Transform::Kind k);

// Applies the chain to `in`, writing at most `out.size()` bytes; returns the result's length.
size_t apply_transforms(std::span<const Transform> chain, std::string_view in, std::span<char> out);

// A literal that the raw buffer must contain wherever `content` is found in the transformed
// one, for Hyperscan's prefilter: the content itself (caseless after a case transform, without
// its leading '.' after dotprefix). None when the chain has a transform that moves or removes
// bytes (whitespace, url_decode, xor, pcrexform, base64) or nothing would be left.
struct PrefilterLiteral {
    std::string bytes;
    bool caseless = false;
};
std::optional<PrefilterLiteral> prefilter_literal(std::span<const Transform> chain,
                                                  std::string_view content, bool nocase);

}  // namespace sluice::rules
