#include "rules/dataset.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace sluice::rules {

namespace {

bool is_hex(std::string_view s, size_t len) {
    return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c));
           });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool decode_base64(std::string_view in, std::string& out) {
    if (in.empty() || in.size() % 4 != 0) return false;
    out.resize(in.size() / 4 * 3);
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    if (n < 0) return false;
    size_t len = static_cast<size_t>(n);
    // EVP_DecodeBlock counts padding as zero bytes.
    if (in.back() == '=') --len;
    if (in.size() >= 2 && in[in.size() - 2] == '=') --len;
    out.resize(len);
    return true;
}

}  // namespace

bool Dataset::type_from_name(std::string_view name, Type& out) {
    if (name == "string")
        out = Type::String;
    else if (name == "md5")
        out = Type::Md5;
    else if (name == "sha256")
        out = Type::Sha256;
    else
        return false;
    return true;
}

bool Dataset::add(std::string_view value) {
    switch (type_) {
        case Type::String:
            return values_.emplace(value).second;
        case Type::Md5:
            if (!is_hex(value, 32)) return false;
            return values_.emplace(lower(value)).second;
        case Type::Sha256:
            if (!is_hex(value, 64)) return false;
            return values_.emplace(lower(value)).second;
    }
    return false;
}

bool Dataset::remove(std::string_view value) {
    auto it = values_.find(type_ == Type::String ? std::string(value) : lower(value));
    if (it == values_.end()) return false;
    values_.erase(it);
    return true;
}

bool Dataset::contains(std::string_view v) const {
    if (type_ == Type::String) return values_.find(v) != values_.end();
    // Hash buffers (ja3.hash) are lower-case hex already; compare case-insensitively anyway.
    char tmp[64];
    if (v.size() > sizeof tmp) return false;
    for (size_t i = 0; i < v.size(); ++i)
        tmp[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(v[i])));
    return values_.find(std::string_view(tmp, v.size())) != values_.end();
}

bool Dataset::load(std::string_view text, std::string& error) {
    size_t line_no = 0;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        // Suricata allows ",<data>" after the value; sluice ignores it.
        line = line.substr(0, line.find(','));
        bool ok;
        if (type_ == Type::String) {
            std::string decoded;
            ok = decode_base64(line, decoded);
            if (ok) add(decoded);
        } else {
            ok = add(line) || contains(line);
        }
        if (!ok) {
            error = "line " + std::to_string(line_no) + ": expected " +
                    (type_ == Type::String ? std::string("a base64-encoded value")
                     : type_ == Type::Md5  ? std::string("32 hex digits")
                                           : std::string("64 hex digits"));
            return false;
        }
    }
    return true;
}

}  // namespace sluice::rules
