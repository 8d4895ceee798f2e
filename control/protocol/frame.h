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
    // Lower bounds than the protocol's (a server sets them from the caller's role before any
    // body byte is buffered: large blobs only from those allowed to send them).
    void set_limits(uint32_t max_json, uint32_t max_blob) {
        max_json_ = max_json;
        max_blob_ = max_blob;
    }
    void feed(std::string_view bytes) { buf_.append(bytes); }
    // A whole frame, nullopt if more bytes are needed; sets error() on a bad header (the
    // connection should then be closed: the stream cannot be resynchronised).
    std::optional<Frame> next();
    const std::string& error() const { return error_; }
    // "bad_frame" (magic, version) or "too_large" (over a limit).
    const std::string& error_code() const { return code_; }
    bool partial() const { return !buf_.empty(); }  // part of a frame is buffered
    // The whole frame's size once its header is in (0 before): servers extend the request's
    // deadline by it, so a large bundle over a busy link is not cut off as a trickle.
    size_t announced() const;
    // Overwrites consumed bytes still in the buffer's memory (nothing buffered is lost).
    void wipe();

  private:
    std::string buf_;
    std::string error_, code_;
    uint32_t max_json_ = kMaxJson, max_blob_ = kMaxBlob;
};

// Control JSON nests at most this deep: deeper requests are refused before any parse or copy
// (nlohmann's copies and dumps recurse).
inline constexpr size_t kMaxJsonDepth = 64;
// False when arrays and objects in `json` nest deeper than `max_depth` (strings skipped).
bool json_depth_within(std::string_view json, size_t max_depth = kMaxJsonDepth);

}  // namespace sluice::control
