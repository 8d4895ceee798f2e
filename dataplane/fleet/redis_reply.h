// A Redis reply, copied out of hiredis's reply tree so nothing else sees hiredis types, and a
// command as its arguments (binary-safe) with the argument that names its key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::fleet {

struct RedisReply {
    enum class Type : uint8_t {
        Nil,
        Status,
        Error,
        Integer,
        String,
        Array,
        Lost,  // no reply: the connection failed or the command could not be routed
    };
    Type type = Type::Lost;
    long long integer = 0;
    std::string str;  // Status, Error, String; Lost: why
    std::vector<RedisReply> elements;

    bool ok() const { return type != Type::Error && type != Type::Lost; }
    static RedisReply lost(std::string why) {
        RedisReply r;
        r.str = std::move(why);
        return r;
    }
};

struct RedisCommand {
    std::vector<std::string> argv;
    size_t key_arg = 1;  // argv[key_arg] decides the slot; past the end: any node
    std::string_view key() const {
        return key_arg < argv.size() ? std::string_view(argv[key_arg]) : std::string_view();
    }
};

}  // namespace sluice::fleet
