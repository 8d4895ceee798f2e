#include "control/protocol/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "control/protocol/tcp_listen.h"
#include "control/protocol/wipe.h"

namespace sluice::control {

using nlohmann::json;

std::string error_json(uint64_t id, std::string_view code, std::string_view message) {
    return json{{"id", id}, {"ok", false}, {"code", code}, {"error", message}}.dump(
        -1, ' ', false, json::error_handler_t::replace);
}

std::string ok_json(uint64_t id, const json& result) {
    return json{{"id", id}, {"ok", true}, {"result", result}}.dump(-1, ' ', false,
                                                                   json::error_handler_t::replace);
}

namespace {
// What a caller may send before its command is known: rule bundles (large blobs) only from
// admins; key logs (a blob of up to 4 MiB) and large JSON (lists) from operators up.
constexpr uint32_t kSmallJson = 64u << 10;
uint32_t max_json_for(Role r) {
    return r >= Role::Operate ? kMaxJson : kSmallJson;
}
uint32_t max_blob_for(Role r) {
    return r == Role::Admin ? kMaxBlob : r == Role::Operate ? kMaxJson : 0;
}

// A best-effort answer on the accept thread: one small frame into an empty socket buffer.
void reject_frame(int fd, const std::string& why) {
    const std::string f = encode_frame(error_json(0, "busy", why));
    [[maybe_unused]] const ssize_t n = ::send(fd, f.data(), f.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}
}  // namespace

void ControlServer::refuse(const Peer& peer, Role role, std::string_view cmd, std::string_view code,
                           std::string_view message) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    if (opt_.on_refusal)
        opt_.on_refusal(Refusal{peer.principal(), std::string(role_name(role)), std::string(cmd),
                                std::string(code), std::string(message)});
}

bool ControlServer::start_unix(const std::string& path, ServerOptions options, Handler handler,
                               std::string& error) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        error = path + ": socket path too long";
        return false;
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
        ::unlink(path.c_str());  // a stale socket of a previous run (never another kind of file)
    // Created 0660 from the start: no window where anyone else could connect.
    const mode_t old = ::umask(0117);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::umask(old);
    if (!bound || ::listen(fd, 64) != 0) {
        error = path + ": " + std::strerror(errno);
        ::close(fd);
        return false;
    }
    path_ = path;
    opt_ = std::move(options);
    handler_ = std::move(handler);
    listener_.start(
        fd, opt_.limits, [](int c) { return unix_peer(c); },
        [](int c, Peer&) -> std::unique_ptr<Stream> { return std::make_unique<FdStream>(c); },
        [this](Stream& s, const Peer& p, const std::atomic<bool>& stop) { serve(s, p, stop); },
        [this](int c, const Peer& p, const std::string& why) {
            refuse(p, opt_.access.role_of(p), "", "busy", why);
            reject_frame(c, why);
        });
    return true;
}

bool ControlServer::start_tls(const std::string& listen, const TlsFiles& files,
                              ServerOptions options, Handler handler, std::string& error) {
    tls_ = make_tls_context(true, files, error);
    if (!tls_) return false;
    uint16_t port = 0;
    const int fd = listen_tcp(listen, port, error);
    if (fd < 0) return false;
    opt_ = std::move(options);
    handler_ = std::move(handler);
    listener_.start(
        fd, opt_.limits, [](int c) { return tcp_peer(c); },
        [this](int c, Peer& p) -> std::unique_ptr<Stream> {
            auto s = std::make_unique<SslStream>(tls_, c);
            if (s->handshake(true, {}, Deadline::in_ms(opt_.limits.handshake_ms)) != Io::Ok) {
                // No certificate, another CA's, not TLS at all, or too slow: counted, and the
                // stream's destructor closes the socket.
                handshakes_failed_.fetch_add(1, std::memory_order_relaxed);
                return nullptr;
            }
            add_certificate(p, s->ssl());
            return s;
        },
        [this](Stream& s, const Peer& p, const std::atomic<bool>& stop) { serve(s, p, stop); },
        // Over a limit: closed before any handshake (a TLS answer would need one).
        [this](int, const Peer& p, const std::string& why) {
            refuse(p, Role::None, "", "busy", why);
        });
    return true;
}

void ControlServer::stop() {
    listener_.stop();
    if (!path_.empty()) ::unlink(path_.c_str());
    path_.clear();
}

bool parse_request(Frame& f, Request& req, std::string& code, std::string& message) {
    if (!json_depth_within(f.json)) {
        code = "too_large";
        message = "request JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
        return false;
    }
    json j = json::parse(f.json, nullptr, false);
    if (j.is_object() && j.contains("id") && j["id"].is_number_unsigned())
        req.id = j["id"].get<uint64_t>();
    if (j.is_discarded() || !j.is_object() || !j.contains("cmd") || !j["cmd"].is_string() ||
        (j.contains("args") && !j["args"].is_object())) {
        wipe_json(j);
        code = "bad_request";
        message = "a request is a JSON object with 'cmd' and an object 'args'";
        return false;
    }
    req.cmd = j["cmd"].get<std::string>();
    if (!command_role(req.cmd)) {
        wipe_json(j);
        code = "unknown_command";
        message = "unknown command '" + req.cmd + "'";
        return false;
    }
    req.args = j.contains("args") ? std::move(j["args"]) : json::object();
    req.blob = std::move(f.blob);
    wipe_json(j);
    return true;
}

void ControlServer::serve(Stream& s, const Peer& peer, const std::atomic<bool>& stop) {
    const Role role = opt_.access.role_of(peer);
    FrameReader r;
    r.set_limits(max_json_for(role), max_blob_for(role));
    const Limits& lim = opt_.limits;
    auto answer = [&](const std::string& json_text, std::string_view blob = {}) {
        return s.write_all(encode_frame(json_text, blob), Deadline::in_ms(lim.write_ms)) == Io::Ok;
    };
    std::string buf(65536, '\0');
    for (;;) {
        // The next frame: the idle deadline until its first byte, then one deadline for the
        // whole request (a client trickling a byte at a time gains nothing).
        bool started = r.partial(), extended = false;
        Deadline wait = started ? Deadline::in_ms(lim.request_ms) : Deadline::in_ms(lim.idle_ms);
        std::optional<Frame> f;
        while (!(f = r.next())) {
            if (!r.error().empty()) {
                refuse(peer, role, "", r.error_code(), r.error());
                answer(error_json(0, r.error_code(), r.error()));
                return;  // a byte stream cannot be resynchronised
            }
            size_t n = 0;
            const Io io = s.read_some(buf.data(), buf.size(), n, wait, &stop);
            if (io == Io::Timeout && started) {
                const std::string why =
                    "the request was not complete within " + std::to_string(lim.request_ms) + " ms";
                refuse(peer, role, "", "timeout", why);
                answer(error_json(0, "timeout", why));
                return;
            }
            if (io != Io::Ok) return;  // closed, idle too long, stopping, or an error
            r.feed({buf.data(), n});
            if (!started) {
                started = true;
                wait = Deadline::in_ms(lim.request_ms);
            }
            // Once the size is known, a large frame gets time for its bytes at a floor rate
            // (256 KiB/s): a 4 MiB key log 16 s more, a rule bundle what it needs. Only the
            // sizes the caller's role allows are ever announced successfully.
            if (!extended && r.announced() > 0) {
                extended = true;
                wait = Deadline::in_ms(lim.request_ms + static_cast<int>(std::min<size_t>(
                                                            r.announced() / 256, 86'400'000)));
            }
        }
        requests_.fetch_add(1, std::memory_order_relaxed);
        Request req;
        std::string code, why;
        const bool parsed = parse_request(*f, req, code, why);
        req.peer = peer;
        req.role = role;
        if (parsed) {
            const Role need = *command_role(req.cmd);
            if (role < need) {
                code = "forbidden";
                why = "'" + req.cmd + "' needs the " + std::string(role_name(need)) + " role; " +
                      peer.principal() + " has " + std::string(role_name(role));
            }
        }
        if (!code.empty()) {
            if (code == "forbidden" || code == "too_large") refuse(peer, role, req.cmd, code, why);
            wipe_json(req.args);
            wipe(f->json);
            if (!answer(error_json(req.id, code, why))) return;
            continue;
        }
        Frame resp;
        try {
            resp = handler_(req);
        } catch (const std::exception& e) {
            resp.json = error_json(req.id, "internal", e.what());
        }
        // Requests may carry secrets (secrets.push): no copy outlives the request.
        wipe_json(req.args);
        wipe(req.blob);
        wipe(f->json);
        OPENSSL_cleanse(buf.data(), buf.size());
        r.wipe();
        if (!answer(resp.json, resp.blob)) return;
    }
}

}  // namespace sluice::control
