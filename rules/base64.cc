#include "rules/base64.h"

#include <array>
#include <cstdint>

namespace sluice::rules {

namespace {

constexpr int8_t kPad = -2;
constexpr int8_t kBad = -1;

constexpr std::array<int8_t, 256> make_table() {
    std::array<int8_t, 256> t{};
    for (auto& v : t) v = kBad;
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    t['='] = kPad;
    return t;
}
constexpr std::array<int8_t, 256> kTable = make_table();

int8_t sextet(char c) {
    return kTable[static_cast<unsigned char>(c)];
}

// Decodes one group of four (values from kTable, '=' as kPad) into out; returns the number of
// bytes (1 to 3), or -1 if the group is invalid.
int decode_group(const std::array<int8_t, 4>& g, std::span<char> out, size_t& n) {
    if (g[0] < 0 || g[1] < 0) return -1;
    auto put = [&](unsigned v) {
        if (n < out.size()) out[n] = static_cast<char>(v & 0xff);
        ++n;
    };
    const unsigned a = static_cast<unsigned>(g[0]), b = static_cast<unsigned>(g[1]);
    put((a << 2) | (b >> 4));
    if (g[2] == kPad) return 1;
    const unsigned c = static_cast<unsigned>(g[2]);
    put((b << 4) | (c >> 2));
    if (g[3] == kPad) return 2;
    put((c << 6) | static_cast<unsigned>(g[3]));
    return 3;
}

}  // namespace

std::optional<Base64Mode> base64_mode_from_name(std::string_view name) {
    if (name == "rfc4648") return Base64Mode::Rfc4648;
    if (name == "rfc2045") return Base64Mode::Rfc2045;
    if (name == "strict") return Base64Mode::Strict;
    return std::nullopt;
}

std::string_view base64_mode_name(Base64Mode m) {
    switch (m) {
        case Base64Mode::Rfc4648:
            return "rfc4648";
        case Base64Mode::Rfc2045:
            return "rfc2045";
        case Base64Mode::Strict:
            return "strict";
    }
    return "?";
}

size_t decode_base64(Base64Mode mode, std::string_view in, std::span<char> out) {
    size_t n = 0;
    if (mode == Base64Mode::Strict) {
        // Whole groups of four, '=' only as the last one or two characters of the input.
        if (in.size() % 4 != 0) return 0;
        for (size_t i = 0; i < in.size(); i += 4) {
            std::array<int8_t, 4> g{};
            for (size_t k = 0; k < 4; ++k) {
                g[k] = sextet(in[i + k]);
                if (g[k] == kBad) return 0;
                if (g[k] == kPad && i + 4 != in.size()) return 0;
            }
            if (g[2] == kPad && g[3] != kPad) return 0;
            if (decode_group(g, out, n) < 0) return 0;
        }
        return n;
    }
    std::array<int8_t, 4> g{};
    size_t have = 0;
    for (char ch : in) {
        const int8_t v = sextet(ch);
        if (v == kBad) {
            if (mode == Base64Mode::Rfc2045) continue;
            break;  // Rfc4648: the rest is not base64
        }
        g[have++] = v;
        if (have == 4) {
            if (decode_group(g, out, n) < 0) return 0;
            have = 0;
        }
    }
    if (have > 0) {
        // A partial last group decodes as if padded.
        for (size_t k = have; k < 4; ++k) g[k] = kPad;
        if (decode_group(g, out, n) < 0) return 0;
    }
    return n;
}

}  // namespace sluice::rules
