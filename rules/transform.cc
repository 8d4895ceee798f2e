#include "rules/transform.h"

#include <algorithm>

namespace sluice::rules {

namespace {

struct TransformName {
    std::string_view keyword;
    Transform t;
};
constexpr TransformName kTransforms[] = {
    {"dotprefix", Transform::DotPrefix},
    {"to_lowercase", Transform::ToLowercase},
    {"to_uppercase", Transform::ToUppercase},
    {"strip_whitespace", Transform::StripWhitespace},
    {"compress_whitespace", Transform::CompressWhitespace},
    {"url_decode", Transform::UrlDecode},
};

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
size_t apply_one(Transform t, std::string_view in, std::span<char> out) {
    size_t n = 0;
    auto put = [&](char c) {
        if (n < out.size()) out[n++] = c;
    };
    switch (t) {
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
    }
    return n;
}

}  // namespace

std::optional<Transform> transform_from_keyword(std::string_view kw) {
    for (const TransformName& x : kTransforms)
        if (x.keyword == kw) return x.t;
    return std::nullopt;
}

std::string_view transform_name(Transform t) {
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
    for (Transform t : chain) {
        if (first) {
            len = apply_one(t, in, out);
            first = false;
            continue;
        }
        if (t == Transform::DotPrefix) {
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
    for (Transform t : chain) {
        switch (t) {
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
