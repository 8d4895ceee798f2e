#include "control/protocol/frame.h"

#include <openssl/crypto.h>

#include <cstring>

namespace sluice::control {

namespace {
void put32(std::string& s, uint32_t v) {
    for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get32(const char* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
    return v;
}
}  // namespace

std::string encode_frame(std::string_view json, std::string_view blob) {
    std::string out;
    out.reserve(kHeaderBytes + json.size() + blob.size());
    out.append("SLC1");
    out.push_back(static_cast<char>(kVersion >> 8));
    out.push_back(static_cast<char>(kVersion & 0xff));
    out.push_back(0);
    out.push_back(0);
    put32(out, static_cast<uint32_t>(json.size()));
    put32(out, static_cast<uint32_t>(blob.size()));
    out.append(json);
    out.append(blob);
    return out;
}

std::optional<Frame> FrameReader::next() {
    if (!error_.empty() || buf_.size() < kHeaderBytes) return std::nullopt;
    code_ = "bad_frame";
    if (std::memcmp(buf_.data(), "SLC1", 4) != 0) {
        error_ = "not a sluice control frame (bad magic)";
        return std::nullopt;
    }
    const uint16_t version =
        static_cast<uint16_t>(static_cast<uint8_t>(buf_[4]) << 8 | static_cast<uint8_t>(buf_[5]));
    if (version != kVersion) {
        error_ = "control protocol version " + std::to_string(version) + " (this side speaks " +
                 std::to_string(kVersion) + ")";
        return std::nullopt;
    }
    const uint32_t jl = get32(buf_.data() + 8), bl = get32(buf_.data() + 12);
    if (jl > max_json_ || bl > max_blob_) {
        code_ = "too_large";
        error_ = jl > max_json_ ? "request JSON of " + std::to_string(jl) + " bytes (at most " +
                                      std::to_string(max_json_) + " here)"
                 : max_blob_ == 0
                     ? std::string("this caller may not send a blob (rule bundles: admin)")
                     : "blob of " + std::to_string(bl) + " bytes (at most " +
                           std::to_string(max_blob_) + ")";
        return std::nullopt;
    }
    if (buf_.size() < kHeaderBytes + jl + bl) return std::nullopt;
    Frame f;
    f.json = buf_.substr(kHeaderBytes, jl);
    f.blob = buf_.substr(kHeaderBytes + jl, bl);
    buf_.erase(0, kHeaderBytes + jl + bl);
    return f;
}

size_t FrameReader::announced() const {
    if (buf_.size() < kHeaderBytes) return 0;
    return kHeaderBytes + size_t{get32(buf_.data() + 8)} + get32(buf_.data() + 12);
}

void FrameReader::wipe() {
    if (!buf_.empty()) return;  // a pipelined frame is waiting: wiped after its turn
    buf_.resize(buf_.capacity());
    OPENSSL_cleanse(buf_.data(), buf_.size());
    buf_.clear();
}

bool json_depth_within(std::string_view json, size_t max_depth) {
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (const char c : json) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return true;
}

}  // namespace sluice::control
