// The control protocol's framing (docs/control-protocol.md): every message is one frame,
//
//   0  4  magic "SLC1"
//   4  2  version, big-endian (kVersion)
//   6  2  flags (reserved, 0)
//   8  4  JSON length, big-endian (<= kMaxJson)
//  12  4  blob length, big-endian (<= kMaxBlob; rule bundles travel here)
//  16     the JSON object (UTF-8), then the blob
//
// Requests are {"id", "cmd", "args"}; responses {"id", "ok", "result"} or
// {"id", "ok": false, "error", "code"}. Free of DPDK: the dataplane, sluiced and sluicectl
// all use it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::control {

inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 16;
inline constexpr uint32_t kMaxJson = 4u << 20;
inline constexpr uint32_t kMaxBlob = 256u << 20;

struct Frame {
    std::string json;
    std::string blob;
};

std::string encode_frame(std::string_view json, std::string_view blob = {});

// Incremental decoder: feed bytes as they arrive, take whole frames.
class FrameReader {
  public:
    void feed(std::string_view bytes) { buf_.append(bytes); }
    // A whole frame, nullopt if more bytes are needed; sets error() on a bad header (the
    // connection should then be closed: the stream cannot be resynchronised).
    std::optional<Frame> next();
    const std::string& error() const { return error_; }

  private:
    std::string buf_;
    std::string error_;
};

// Blocking helpers on a connected stream socket; false with `error` on failure or timeout.
bool write_frame(int fd, std::string_view json, std::string_view blob, std::string& error);
bool read_frame(int fd, Frame& out, int timeout_ms, std::string& error);

}  // namespace sluice::control
