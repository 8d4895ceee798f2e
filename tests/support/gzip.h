// Test helper: compresses with zlib (gzip wrapper, zlib wrapper, or raw deflate).
#pragma once

#include <zlib.h>

#include <string>

namespace sluice::testing {

enum class Wrapper { Gzip, Zlib, Raw };

inline std::string deflate_bytes(const std::string& in, Wrapper w = Wrapper::Gzip) {
    z_stream zs{};
    const int bits = w == Wrapper::Raw ? -15 : w == Wrapper::Gzip ? 16 + 15 : 15;
    deflateInit2(&zs, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, in.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

}  // namespace sluice::testing
