// Base64 decoding as Suricata's base64_decode keyword and from_base64 transform do it, in the
// three modes rules can name.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace sluice::rules {

enum class Base64Mode : unsigned char {
    Rfc4648,  // stop at the first byte outside the alphabet; a partial last group is padded
    Rfc2045,  // skip bytes outside the alphabet (line breaks, spaces) and go on
    Strict,   // the whole input must be valid, padded base64, else nothing
};
std::optional<Base64Mode> base64_mode_from_name(std::string_view name);
std::string_view base64_mode_name(Base64Mode m);

// Decodes `in` into `out`; returns the number of bytes `in` decodes to, of which the first
// out.size() are written (an empty `out` measures without writing). A group whose first or second
// character is '=' is invalid: in Rfc4648 and Rfc2045 modes nothing is decoded then (as
// Suricata, which reports the error and returns no data).
size_t decode_base64(Base64Mode mode, std::string_view in, std::span<char> out);

}  // namespace sluice::rules
