// What an HTTP/2 transaction's frames said, for Suricata's http2.* keywords: frame types seen,
// error codes (RST_STREAM of the stream, GOAWAY of the connection), the SETTINGS each side sent
// first and WINDOW_UPDATE increments. Per direction: [0] the client's frames, [1] the server's.
// The HTTP/2 stage fills it; request-point rules read the client's side, response-point rules
// the server's. Fixed size, no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::rules {

struct Http2Facts {
    struct Setting {
        uint16_t id = 0;
        uint32_t value = 0;
    };
    static constexpr size_t kSettings = 8, kWindows = 4;
    std::array<uint16_t, 2> frame_types{};  // bit per frame type 0..9 (unknown types: bit 15)
    std::array<uint16_t, 2> error_codes{};  // bit per error code 0..13 (others: bit 15)
    std::array<std::array<Setting, kSettings>, 2> settings{};
    std::array<uint8_t, 2> n_settings{};
    std::array<std::array<uint32_t, kWindows>, 2> windows{};  // the last increments
    std::array<uint8_t, 2> n_windows{};
};

constexpr uint16_t h2_bit(uint32_t v) {
    return static_cast<uint16_t>(1u << (v < 15 ? v : 15));
}

// RFC 9113 names (case-insensitive) of frame types, error codes and settings, Suricata's
// spelling for settings (SETTINGS_ENABLE_PUSH); nullopt when unknown.
std::optional<uint32_t> h2_frame_type(std::string_view name);
std::optional<uint32_t> h2_error_code(std::string_view name);
std::optional<uint32_t> h2_setting(std::string_view name);

}  // namespace sluice::rules
