#include "fleet/redis_node.h"

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <sys/time.h>

#include <charconv>

namespace sluice::fleet {
namespace {

RedisReply copy(const redisReply* r, int depth = 0) {
    RedisReply out;
    if (r == nullptr) return RedisReply::lost("no reply");
    switch (r->type) {
        case REDIS_REPLY_NIL:
            out.type = RedisReply::Type::Nil;
            break;
        case REDIS_REPLY_STATUS:
            out.type = RedisReply::Type::Status;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = RedisReply::Type::Error;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = RedisReply::Type::Integer;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_STRING:
            out.type = RedisReply::Type::String;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ARRAY:
            out.type = RedisReply::Type::Array;
            // Replies sluice reads nest three deep at most (CLUSTER SLOTS).
            if (depth > 4) return RedisReply::lost("reply nested too deep");
            out.elements.reserve(r->elements);
            for (size_t i = 0; i < r->elements; ++i)
                out.elements.push_back(copy(r->element[i], depth + 1));
            break;
        default:
            return RedisReply::lost("unknown reply type");
    }
    return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

}  // namespace

Credentials::~Credentials() {
    OPENSSL_cleanse(password.data(), password.size());
}

bool parse_endpoint(std::string_view s, Endpoint& out) {
    std::string_view host, port;
    if (s.starts_with('[')) {
        const size_t close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return false;
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        const size_t colon = s.rfind(':');
        if (colon == std::string_view::npos || s.find(':') != colon) return false;
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    unsigned p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (host.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 ||
        p > 65535)
        return false;
    out.host = std::string(host);
    out.port = static_cast<uint16_t>(p);
    return true;
}

RedisNode::RedisNode(Endpoint e, std::chrono::milliseconds timeout)
    : endpoint_(std::move(e)), timeout_(timeout) {}

RedisNode::~RedisNode() {
    close();
}

void RedisNode::close() {
    if (ctx_ != nullptr) redisFree(ctx_);
    ctx_ = nullptr;
}

bool RedisNode::connect(const Credentials& auth, std::string& error) {
    if (ctx_ != nullptr) return true;
    redisContext* c =
        redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, to_timeval(timeout_));
    if (c == nullptr) {
        error = endpoint_.text() + ": out of memory";
        return false;
    }
    if (c->err != 0) {
        error = endpoint_.text() + ": " + c->errstr;
        redisFree(c);
        return false;
    }
    if (redisSetTimeout(c, to_timeval(timeout_)) != REDIS_OK) {
        error = endpoint_.text() + ": cannot set the I/O deadline";
        redisFree(c);
        return false;
    }
    ctx_ = c;
    if (!auth.password.empty()) {
        RedisCommand a;
        if (!auth.user.empty())
            a.argv = {"AUTH", auth.user, auth.password};
        else
            a.argv = {"AUTH", auth.password};
        const RedisReply r = command(a);
        if (!r.ok()) {
            // The server's words, never the password.
            error = endpoint_.text() + ": AUTH: " + r.str;
            close();
            return false;
        }
    }
    return true;
}

std::vector<RedisReply> RedisNode::pipeline(std::span<const RedisCommand> cmds) {
    std::vector<RedisReply> out;
    out.reserve(cmds.size());
    if (ctx_ == nullptr) {
        for (size_t i = 0; i < cmds.size(); ++i) out.push_back(RedisReply::lost("not connected"));
        return out;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    size_t appended = 0;
    for (const RedisCommand& c : cmds) {
        argv.clear();
        lens.clear();
        for (const std::string& a : c.argv) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
            REDIS_OK)
            break;
        ++appended;
    }
    for (size_t i = 0; i < appended && ctx_ != nullptr; ++i) {
        void* raw = nullptr;
        if (redisGetReply(ctx_, &raw) != REDIS_OK) {
            std::string why = endpoint_.text() + ": " + ctx_->errstr;
            close();
            while (out.size() < cmds.size()) out.push_back(RedisReply::lost(why));
            return out;
        }
        out.push_back(copy(static_cast<redisReply*>(raw)));
        freeReplyObject(raw);
    }
    if (out.size() < cmds.size()) {
        std::string why = endpoint_.text() + ": " + (ctx_ ? ctx_->errstr : "closed");
        close();
        while (out.size() < cmds.size()) out.push_back(RedisReply::lost(why));
    }
    return out;
}

RedisReply RedisNode::command(const RedisCommand& c) {
    return std::move(pipeline(std::span(&c, 1)).front());
}

}  // namespace sluice::fleet
