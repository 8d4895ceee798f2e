// Content-Encoding gzip and deflate, decoded into the caller's buffer up to a cap. A fixed
// pool of zlib streams per worker, initialised once and reset per body, so decoding a body
// allocates nothing after warm-up.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <zlib.h>

namespace sluice::http {

enum class Coding : uint8_t { Identity, Gzip, Deflate, Unsupported };
Coding coding_from_header(std::string_view content_encoding);

// A Content-Encoding list, in decoding order (the last coding applied is decoded first):
// up to kMaxCodingLayers gzip/deflate layers ("gzip, gzip" is two; identity entries are
// skipped). `unsupported`: a coding sluice does not decode, or more layers than that.
constexpr size_t kMaxCodingLayers = 2;
struct Codings {
    Coding first = Coding::Identity;   // decoded first (the outermost)
    Coding second = Coding::Identity;  // then this, if not Identity
    bool unsupported = false;
    bool layered() const { return second != Coding::Identity; }
};
Codings codings_from_header(std::string_view content_encoding);

class BodyDecoders {
  public:
    static constexpr uint32_t kNil = 0xffffffffu;
    explicit BodyDecoders(uint32_t count);
    ~BodyDecoders();

    uint32_t acquire(Coding c);  // kNil if none free
    void release(uint32_t id);

    enum class Result : uint8_t { Ok, End, Error };
    // Inflates from the front of `in` into `out`, advancing `in` past what it consumed and
    // setting `produced`. Call again while input remains or the output filled up.
    Result inflate(uint32_t id, std::span<const uint8_t>& in, std::span<char> out,
                   size_t& produced);
    uint32_t in_use() const { return in_use_; }
    uint32_t count() const { return static_cast<uint32_t>(slots_.size()); }

  private:
    struct Slot {
        z_stream zs{};
        Coding coding = Coding::Identity;
        bool started = false;
        bool busy = false;
    };
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<uint32_t> free_;
    uint32_t in_use_ = 0;
};

}  // namespace sluice::http
