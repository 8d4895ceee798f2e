// The byte keywords: byte_test, byte_jump, byte_extract and byte_math read a number from the
// buffer (binary, big or little endian, or digits in a base) at an offset from its start or
// from the previous match. byte_extract and byte_math store what they read in the rule's
// variables, which later conditions on the same buffer use as offsets, depths, values
// (Suricata's semantics).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::rules {

// A rule's byte_extract / byte_math variables: at most kMaxByteVars per rule.
constexpr size_t kMaxByteVars = 8;
using ByteVar = int8_t;  // index into ByteValues; kNoVar for a literal
constexpr ByteVar kNoVar = -1;
using ByteValues = std::array<uint64_t, kMaxByteVars>;

struct ByteOp {
    uint8_t nbytes = 1;
    int32_t offset = 0;
    ByteVar offset_var = kNoVar;  // the offset is this variable's value
    bool relative = false;
    bool little = false;
    uint8_t base = 0;      // 0: binary; else the digits' base (10, 16, 8)
    uint64_t bitmask = 0;  // 0: none; else applied, then shifted right past its trailing zeros
    // byte_test; byte_math's rvalue is `value` too
    enum class Op : uint8_t { Lt, Gt, Le, Ge, Eq, And, Xor } op = Op::Eq;
    bool negated = false;
    uint64_t value = 0;
    ByteVar value_var = kNoVar;  // the value (rvalue) is this variable's
    // byte_jump; byte_extract's multiplier too
    uint32_t multiplier = 1;
    bool align = false;           // round the jump up to a multiple of 4
    bool from_beginning = false;  // from the buffer's start, not past the bytes read
    bool from_end = false;        // from the buffer's end
    int32_t post_offset = 0;
    // byte_extract and byte_math: the variable the result goes to
    ByteVar result = kNoVar;
    uint8_t align_to = 0;  // byte_extract: round up to a multiple of 2 or 4 (0: no)
    enum class Math : uint8_t { Add, Sub, Mul, Div, Shl, Shr } math = Math::Add;  // byte_math
};

// Reads the number at `at` (nullopt if it does not fit or is no number in that base); `used`
// gets how many bytes it took (nbytes, or the digits read for a string).
std::optional<uint64_t> read_number(const ByteOp& b, std::string_view data, size_t at,
                                    size_t* used = nullptr);
bool byte_test_holds(const ByteOp& b, uint64_t v, const ByteValues& vars);
// Where a byte keyword reads: its offset (literal or variable), from the previous match if
// relative. Negative when it would be before the buffer.
int64_t byte_position(const ByteOp& b, size_t prev_end, const ByteValues& vars);
// Where byte_jump leaves the cursor (nullopt: the number is not there, or the jump leaves the
// buffer), given the end of the previous match.
std::optional<size_t> byte_jump_target(const ByteOp& b, std::string_view data, size_t prev_end,
                                       const ByteValues& vars);

// byte_extract and byte_math: the value to store and where the cursor goes (past the bytes
// read); nullopt when the rule does not match here.
struct ByteResult {
    uint64_t value = 0;
    size_t end = 0;
};
std::optional<ByteResult> byte_extract(const ByteOp& b, std::string_view data, size_t prev_end,
                                       const ByteValues& vars);
std::optional<ByteResult> byte_math(const ByteOp& b, std::string_view data, size_t prev_end,
                                    const ByteValues& vars);

// A position keyword's value: the literal, or the variable's value when one is named.
inline int64_t resolve(int64_t literal, ByteVar var, const ByteValues& vars) {
    return var == kNoVar ? literal
                         : static_cast<int64_t>(std::min<uint64_t>(vars[static_cast<size_t>(var)],
                                                                   uint64_t{1} << 32));
}

}  // namespace sluice::rules
