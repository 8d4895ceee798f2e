#include "rules/byte_ops.h"

#include <algorithm>

namespace sluice::rules {

std::optional<uint64_t> read_number(const ByteOp& b, std::string_view data, size_t at,
                                    size_t* used) {
    if (at > data.size() || data.size() - at < b.nbytes) return std::nullopt;
    uint64_t v = 0;
    size_t took = b.nbytes;
    if (b.base == 0) {
        for (uint8_t i = 0; i < b.nbytes; ++i) {
            const uint64_t byte =
                static_cast<uint8_t>(data[at + (b.little ? b.nbytes - 1 - i : i)]);
            v = (v << 8) | byte;
        }
    } else {
        // Digits from the start of the field, up to nbytes of them (as strtoull reads them).
        size_t digits = 0;
        for (uint8_t i = 0; i < b.nbytes; ++i) {
            const char c = data[at + i];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : 99;
            if (d >= b.base) break;
            if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / b.base) return std::nullopt;
            v = v * b.base + static_cast<uint64_t>(d);
            ++digits;
        }
        if (digits == 0) return std::nullopt;
        took = digits;
    }
    if (b.bitmask != 0) {
        v &= b.bitmask;
        uint64_t m = b.bitmask;
        while ((m & 1) == 0) {
            m >>= 1;
            v >>= 1;
        }
    }
    if (used != nullptr) *used = took;
    return v;
}

bool byte_test_holds(const ByteOp& b, uint64_t v, const ByteValues& vars) {
    const uint64_t value = b.value_var == kNoVar ? b.value : vars[static_cast<size_t>(b.value_var)];
    bool m = false;
    switch (b.op) {
        case ByteOp::Op::Lt:
            m = v < value;
            break;
        case ByteOp::Op::Gt:
            m = v > value;
            break;
        case ByteOp::Op::Le:
            m = v <= value;
            break;
        case ByteOp::Op::Ge:
            m = v >= value;
            break;
        case ByteOp::Op::Eq:
            m = v == value;
            break;
        case ByteOp::Op::And:
            m = (v & value) != 0;
            break;
        case ByteOp::Op::Xor:
            m = (v ^ value) != 0;
            break;
    }
    return m != b.negated;
}

int64_t byte_position(const ByteOp& b, size_t prev_end, const ByteValues& vars) {
    return (b.relative ? static_cast<int64_t>(prev_end) : 0) +
           resolve(b.offset, b.offset_var, vars);
}

std::optional<size_t> byte_jump_target(const ByteOp& b, std::string_view data, size_t prev_end,
                                       const ByteValues& vars) {
    const int64_t at = byte_position(b, prev_end, vars);
    if (at < 0) return std::nullopt;
    const auto v = read_number(b, data, static_cast<size_t>(at));
    if (!v || *v > (uint64_t{1} << 32)) return std::nullopt;
    int64_t jump = static_cast<int64_t>(*v) * b.multiplier;
    if (b.align && jump % 4 != 0) jump += 4 - jump % 4;
    int64_t to = b.from_beginning ? jump
                 : b.from_end     ? static_cast<int64_t>(data.size()) + jump
                                  : at + b.nbytes + jump;
    to += b.post_offset;
    if (to < 0 || to > static_cast<int64_t>(data.size())) return std::nullopt;
    return static_cast<size_t>(to);
}

namespace {

// Where byte_extract and byte_math read (Suricata: a relative read needs bytes after the
// previous match; the whole field must be inside the buffer).
std::optional<size_t> read_at(const ByteOp& b, std::string_view data, size_t prev_end,
                              const ByteValues& vars) {
    const int64_t at = byte_position(b, prev_end, vars);
    if (at < 0 || at >= static_cast<int64_t>(data.size())) return std::nullopt;
    return static_cast<size_t>(at);
}

}  // namespace

std::optional<ByteResult> byte_extract(const ByteOp& b, std::string_view data, size_t prev_end,
                                       const ByteValues& vars) {
    const auto at = read_at(b, data, prev_end, vars);
    if (!at) return std::nullopt;
    size_t used = 0;
    const auto v = read_number(b, data, *at, &used);
    if (!v) return std::nullopt;
    uint64_t val = *v * b.multiplier;
    if (b.align_to != 0 && val % b.align_to != 0) val += b.align_to - val % b.align_to;
    return ByteResult{val, *at + used};
}

std::optional<ByteResult> byte_math(const ByteOp& b, std::string_view data, size_t prev_end,
                                    const ByteValues& vars) {
    const auto at = read_at(b, data, prev_end, vars);
    if (!at) return std::nullopt;
    // The bitmask applies to the result, not to the bytes read.
    ByteOp read = b;
    read.bitmask = 0;
    size_t used = 0;
    const auto v = read_number(read, data, *at, &used);
    if (!v) return std::nullopt;
    const uint64_t r = b.value_var == kNoVar ? b.value : vars[static_cast<size_t>(b.value_var)];
    uint64_t val = *v;
    switch (b.math) {
        case ByteOp::Math::Add:
            val += r;
            break;
        case ByteOp::Math::Sub:
            val -= r;
            break;
        case ByteOp::Math::Mul:
            val *= r;
            break;
        case ByteOp::Math::Div:
            if (r == 0) return std::nullopt;  // never a match (Suricata)
            val /= r;
            break;
        case ByteOp::Math::Shl:
            val = r < 64 ? val << r : 0;
            break;
        case ByteOp::Math::Shr:
            val = r < 64 ? val >> r : 0;
            break;
    }
    if (b.bitmask != 0) {
        val &= b.bitmask;
        uint64_t m = b.bitmask;
        while (val != 0 && (m & 1) == 0) {
            m >>= 1;
            val >>= 1;
        }
    }
    return ByteResult{val, *at + used};
}

}  // namespace sluice::rules
