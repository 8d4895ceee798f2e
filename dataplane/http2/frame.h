// HTTP/2 frames (RFC 9113 section 4 and 6): the 9-byte header, the frame types and flags this
// stage reads. Everything else about a frame is read by the connection's frame reader
// (http2_inspector.cc) as its payload streams by.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::http2 {

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kFrameHeaderSize = 9;
inline constexpr uint32_t kDefaultMaxFrameSize = 16384;  // SETTINGS_MAX_FRAME_SIZE initial
inline constexpr int64_t kDefaultWindow = 65535;         // flow-control windows (section 6.9.2)
inline constexpr int64_t kMaxWindow = 0x7fffffff;
inline constexpr uint32_t kDefaultHeaderTableSize = 4096;

enum class FrameType : uint8_t {
    Data = 0,
    Headers = 1,
    Priority = 2,
    RstStream = 3,
    Settings = 4,
    PushPromise = 5,
    Ping = 6,
    Goaway = 7,
    WindowUpdate = 8,
    Continuation = 9,
};
inline constexpr uint8_t kFrameTypes = 10;  // known types; others are skipped (section 5.5)
std::string_view frame_type_name(uint8_t type);

namespace flag {
inline constexpr uint8_t kEndStream = 0x1;
inline constexpr uint8_t kAck = 0x1;  // SETTINGS, PING
inline constexpr uint8_t kEndHeaders = 0x4;
inline constexpr uint8_t kPadded = 0x8;
inline constexpr uint8_t kPriority = 0x20;
}  // namespace flag

namespace setting {
inline constexpr uint16_t kHeaderTableSize = 1;
inline constexpr uint16_t kInitialWindowSize = 4;
inline constexpr uint16_t kMaxFrameSize = 5;
}  // namespace setting

struct FrameHeader {
    uint32_t length = 0;  // 24 bits
    uint8_t type = 0;
    uint8_t flags = 0;
    uint32_t stream = 0;  // 31 bits (the reserved bit dropped)

    bool has(uint8_t f) const { return (flags & f) != 0; }
    static FrameHeader parse(std::span<const uint8_t, kFrameHeaderSize> b) {
        FrameHeader h;
        h.length = uint32_t{b[0]} << 16 | uint32_t{b[1]} << 8 | b[2];
        h.type = b[3];
        h.flags = b[4];
        h.stream = (uint32_t{b[5]} << 24 | uint32_t{b[6]} << 16 | uint32_t{b[7]} << 8 | b[8]) &
                   0x7fffffffu;
        return h;
    }
};

inline uint32_t read_u32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

}  // namespace sluice::http2
