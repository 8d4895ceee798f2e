// Allocation-free JSON text builder over a caller-owned buffer (EVE records on the hot path).
// On overflow it stops writing and reports overflow(); the caller drops and counts the record.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace sluice {

class JsonBuilder {
  public:
    explicit JsonBuilder(std::span<char> buf) : buf_(buf) {}

    JsonBuilder& begin_object() { return open('{'); }
    JsonBuilder& end_object() { return close('}'); }
    JsonBuilder& begin_array() { return open('['); }
    JsonBuilder& end_array() { return close(']'); }
    JsonBuilder& key(std::string_view k) {
        comma();
        string(k);
        put(':');
        after_key_ = true;
        return *this;
    }
    JsonBuilder& object(std::string_view k) { return key(k).begin_object(); }
    JsonBuilder& array(std::string_view k) { return key(k).begin_array(); }

    JsonBuilder& value(std::string_view v) {
        comma();
        string(v);
        return *this;
    }
    JsonBuilder& value(const char* v) { return value(std::string_view(v)); }
    JsonBuilder& value(bool v) {
        comma();
        raw(v ? "true" : "false");
        return *this;
    }
    template <typename T>
    requires std::is_integral_v<T> JsonBuilder& value(T v) {
        comma();
        char tmp[24];
        auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
        raw(std::string_view(tmp, static_cast<size_t>(r.ptr - tmp)));
        return *this;
    }
    JsonBuilder& value(double v) {
        comma();
        char tmp[32];
        auto r = std::to_chars(tmp, tmp + sizeof tmp, v, std::chars_format::fixed, 6);
        raw(std::string_view(tmp, static_cast<size_t>(r.ptr - tmp)));
        return *this;
    }
    // Already-encoded JSON (a nested document written elsewhere).
    JsonBuilder& raw_value(std::string_view json) {
        comma();
        raw(json);
        return *this;
    }
    template <typename T>
    JsonBuilder& field(std::string_view k, T v) {
        return key(k).value(v);
    }

    bool overflow() const { return overflow_; }
    std::string_view view() const { return {buf_.data(), len_}; }
    size_t size() const { return len_; }
    void reset() {
        len_ = 0;
        depth_ = 0;
        overflow_ = false;
        after_key_ = false;
    }

  private:
    static constexpr int kMaxDepth = 16;

    void put(char c) {
        if (len_ < buf_.size())
            buf_[len_++] = c;
        else
            overflow_ = true;
    }
    void raw(std::string_view s) {
        if (buf_.size() - len_ < s.size()) {
            overflow_ = true;
            return;
        }
        std::memcpy(buf_.data() + len_, s.data(), s.size());
        len_ += s.size();
    }
    void comma() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (depth_ > 0 && depth_ <= kMaxDepth) {
            if (!first_[depth_ - 1]) put(',');
            first_[depth_ - 1] = false;
        }
    }
    JsonBuilder& open(char c) {
        comma();
        put(c);
        if (depth_ < kMaxDepth) first_[depth_] = true;
        ++depth_;
        return *this;
    }
    JsonBuilder& close(char c) {
        put(c);
        if (depth_ > 0) --depth_;
        return *this;
    }
    // Length of a valid UTF-8 sequence starting at s[i], or 0 if the bytes there are not one.
    static size_t utf8_sequence(std::string_view s, size_t i) {
        const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
        const unsigned char c = b(0);
        size_t n = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            n = 2;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else
            return 0;
        if (i + n > s.size()) return 0;
        if (b(1) < lo || b(1) > hi) return 0;
        for (size_t k = 2; k < n; ++k)
            if (b(k) < 0x80 || b(k) > 0xbf) return 0;
        return n;
    }

    // JSON string with escapes. Valid UTF-8 passes through; any other byte >= 0x80 is
    // written as \u00XX (its Latin-1 reading), so the output is always valid JSON.
    void string(std::string_view s) {
        static constexpr char kHex[] = "0123456789abcdef";
        put('"');
        for (size_t i = 0; i < s.size(); ++i) {
            const unsigned char c = static_cast<unsigned char>(s[i]);
            switch (c) {
                case '"':
                    raw("\\\"");
                    break;
                case '\\':
                    raw("\\\\");
                    break;
                case '\n':
                    raw("\\n");
                    break;
                case '\r':
                    raw("\\r");
                    break;
                case '\t':
                    raw("\\t");
                    break;
                default:
                    if (c >= 0x80) {
                        if (const size_t n = utf8_sequence(s, i)) {
                            raw(s.substr(i, n));
                            i += n - 1;
                            break;
                        }
                    }
                    if (c < 0x20 || c >= 0x7f) {
                        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
                        raw(std::string_view(esc, 6));
                    } else {
                        put(static_cast<char>(c));
                    }
            }
        }
        put('"');
    }

    std::span<char> buf_;
    size_t len_ = 0;
    int depth_ = 0;
    bool first_[kMaxDepth] = {};
    bool overflow_ = false;
    bool after_key_ = false;
};

}  // namespace sluice
