#include "rules/http2_facts.h"

#include <cctype>

namespace sluice::rules {
namespace {

struct Named {
    std::string_view name;
    uint32_t value;
};

// RFC 9113 sections 6, 7 and 6.5.2.
constexpr Named kFrameTypes[] = {
    {"DATA", 0},         {"HEADERS", 1}, {"PRIORITY", 2}, {"RST_STREAM", 3},    {"SETTINGS", 4},
    {"PUSH_PROMISE", 5}, {"PING", 6},    {"GOAWAY", 7},   {"WINDOW_UPDATE", 8}, {"CONTINUATION", 9},
};
constexpr Named kErrorCodes[] = {
    {"NO_ERROR", 0},
    {"PROTOCOL_ERROR", 1},
    {"INTERNAL_ERROR", 2},
    {"FLOW_CONTROL_ERROR", 3},
    {"SETTINGS_TIMEOUT", 4},
    {"STREAM_CLOSED", 5},
    {"FRAME_SIZE_ERROR", 6},
    {"REFUSED_STREAM", 7},
    {"CANCEL", 8},
    {"COMPRESSION_ERROR", 9},
    {"CONNECT_ERROR", 10},
    {"ENHANCE_YOUR_CALM", 11},
    {"INADEQUATE_SECURITY", 12},
    {"HTTP_1_1_REQUIRED", 13},
};
constexpr Named kSettings[] = {
    {"SETTINGS_HEADER_TABLE_SIZE", 1},      {"SETTINGS_ENABLE_PUSH", 2},
    {"SETTINGS_MAX_CONCURRENT_STREAMS", 3}, {"SETTINGS_INITIAL_WINDOW_SIZE", 4},
    {"SETTINGS_MAX_FRAME_SIZE", 5},         {"SETTINGS_MAX_HEADER_LIST_SIZE", 6},
};

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
    return true;
}

template <size_t N>
std::optional<uint32_t> lookup(const Named (&table)[N], std::string_view name) {
    for (const Named& n : table)
        if (iequal(name, n.name)) return n.value;
    return std::nullopt;
}

}  // namespace

std::optional<uint32_t> h2_frame_type(std::string_view name) {
    return lookup(kFrameTypes, name);
}
std::optional<uint32_t> h2_error_code(std::string_view name) {
    return lookup(kErrorCodes, name);
}
std::optional<uint32_t> h2_setting(std::string_view name) {
    return lookup(kSettings, name);
}

}  // namespace sluice::rules
