#include "control/protocol/frame.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
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
    if (jl > kMaxJson || bl > kMaxBlob) {
        error_ = "control frame too large";
        return std::nullopt;
    }
    if (buf_.size() < kHeaderBytes + jl + bl) return std::nullopt;
    Frame f;
    f.json = buf_.substr(kHeaderBytes, jl);
    f.blob = buf_.substr(kHeaderBytes + jl, bl);
    buf_.erase(0, kHeaderBytes + jl + bl);
    return f;
}

bool write_frame(int fd, std::string_view json, std::string_view blob, std::string& error) {
    const std::string f = encode_frame(json, blob);
    size_t off = 0;
    while (off < f.size()) {
        const ssize_t n = ::send(fd, f.data() + off, f.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            error = std::string("send: ") + std::strerror(errno);
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return true;
}

bool read_frame(int fd, Frame& out, int timeout_ms, std::string& error) {
    FrameReader r;
    char buf[65536];
    for (;;) {
        if (auto f = r.next()) {
            out = std::move(*f);
            return true;
        }
        if (!r.error().empty()) {
            error = r.error();
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        const int rc = ::poll(&p, 1, timeout_ms);
        if (rc == 0) {
            error = "timed out waiting for an answer";
            return false;
        }
        if (rc < 0) {
            if (errno == EINTR) continue;
            error = std::string("poll: ") + std::strerror(errno);
            return false;
        }
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0) {
            error = "the peer closed the connection";
            return false;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            error = std::string("recv: ") + std::strerror(errno);
            return false;
        }
        r.feed({buf, static_cast<size_t>(n)});
    }
}

}  // namespace sluice::control
