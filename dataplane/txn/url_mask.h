// Request targets as records keep them: the values of query parameters that carry
// credentials (key, token, signature...) replaced by "REDACTED", so no log holds a secret.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace sluice {

// Copies the request target into dst (truncated to its size) with credential parameter values
// masked; returns the length written.
size_t masked_url(std::span<char> dst, std::string_view target);

}  // namespace sluice
