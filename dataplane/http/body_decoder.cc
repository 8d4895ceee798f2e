#include "http/body_decoder.h"

#include <string_view>

#include "http/http_head.h"

namespace sluice::http {

Coding coding_from_header(std::string_view v) {
    if (v.empty() || iequals(v, "identity")) return Coding::Identity;
    if (iequals(v, "gzip") || iequals(v, "x-gzip")) return Coding::Gzip;
    if (iequals(v, "deflate")) return Coding::Deflate;
    return Coding::Unsupported;
}

Codings codings_from_header(std::string_view v) {
    Codings out;
    Coding layers[kMaxCodingLayers];
    size_t n = 0;
    while (true) {
        const size_t comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        const Coding c = coding_from_header(item);
        if (c == Coding::Unsupported || (c != Coding::Identity && n == kMaxCodingLayers)) {
            out.unsupported = true;
            return out;
        }
        if (c != Coding::Identity) layers[n++] = c;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    if (n >= 1) out.first = layers[n - 1];
    if (n == 2) out.second = layers[0];
    return out;
}

BodyDecoders::BodyDecoders(uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
        auto s = std::make_unique<Slot>();
        // 15 + 32: zlib or gzip header, detected. Raw deflate gets its own init on demand.
        inflateInit2(&s->zs, 15 + 32);
        slots_.push_back(std::move(s));
        free_.push_back(count - 1 - i);
    }
    free_.reserve(count);
}

BodyDecoders::~BodyDecoders() {
    for (auto& s : slots_) inflateEnd(&s->zs);
}

uint32_t BodyDecoders::acquire(Coding c) {
    if (free_.empty() || (c != Coding::Gzip && c != Coding::Deflate)) return kNil;
    const uint32_t id = free_.back();
    free_.pop_back();
    Slot& s = *slots_[id];
    s.busy = true;
    s.coding = c;
    s.started = false;
    ++in_use_;
    return id;
}

void BodyDecoders::release(uint32_t id) {
    if (id >= slots_.size() || !slots_[id]->busy) return;
    slots_[id]->busy = false;
    free_.push_back(id);
    --in_use_;
}

BodyDecoders::Result BodyDecoders::inflate(uint32_t id, std::span<const uint8_t>& in,
                                           std::span<char> out, size_t& produced) {
    Slot& s = *slots_[id];
    produced = 0;
    if (in.empty()) return Result::Ok;
    if (!s.started) {
        s.started = true;
        // "deflate" is meant to be zlib-wrapped, but servers send raw deflate too: a zlib
        // header has CM=8 and a header checksum divisible by 31.
        const bool zlib_header = in.size() >= 2 && (in[0] & 0x0f) == 8 &&
                                 ((static_cast<unsigned>(in[0]) << 8) | in[1]) % 31 == 0;
        const bool raw = s.coding == Coding::Deflate && !zlib_header;
        // inflateReset2 keeps the allocated state and window.
        inflateReset2(&s.zs, raw ? -15 : 15 + 32);
    }
    s.zs.next_in = const_cast<Bytef*>(in.data());
    s.zs.avail_in = static_cast<uInt>(in.size());
    s.zs.next_out = reinterpret_cast<Bytef*>(out.data());
    s.zs.avail_out = static_cast<uInt>(out.size());
    const int rc = ::inflate(&s.zs, Z_NO_FLUSH);
    produced = out.size() - s.zs.avail_out;
    in = in.subspan(in.size() - s.zs.avail_in);
    if (rc == Z_STREAM_END) return Result::End;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return Result::Error;
    return Result::Ok;
}

}  // namespace sluice::http
