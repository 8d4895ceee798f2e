// The control server under concurrent clients (control/protocol/server.h, listener.h): well
// behaved clients pipelining requests, clients that connect and vanish, send half a frame or
// never read, connection-limit refusals, and stop() while connections are open. Under
// ThreadSanitizer (build/tsan) the listener's bookkeeping, the reaping of connection threads
// and the handler's shared state are checked for races; the counts check every answer arrived.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/protocol/client.h"
#include "control/protocol/server.h"

namespace sluice::control {
namespace {

int raw_connect(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string socket_path(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string("sluice-conc-") + name + "-" + std::to_string(::getpid()) + ".sock"))
        .string();
}

TEST(ControlServer, ConcurrentClientsAndMisbehavingOnes) {
    ControlServer server;
    ServerOptions opt;
    opt.limits.max_connections = 24;
    opt.limits.max_per_peer = 24;  // every client here is the same uid
    opt.limits.request_ms = 300;   // half frames are cut quickly
    opt.limits.idle_ms = 2000;
    std::atomic<uint64_t> refusals{0};
    opt.on_refusal = [&](const Refusal&) { refusals.fetch_add(1); };
    std::mutex mu;  // the handler's shared state, as the dataplane's control service keeps it
    uint64_t handled = 0;
    const std::string path = socket_path("server");
    std::string err;
    ASSERT_TRUE(server.start_unix(
        path, opt,
        [&](Request& r) {
            std::lock_guard lock(mu);
            ++handled;
            return Frame{ok_json(r.id, {{"handled", handled}}), {}};
        },
        err))
        << err;

    // Every request is answered ok, or refused: `busy` (over the connection limit while the
    // misbehaving clients below hold slots), or its fresh connection closed by that refusal
    // before the answer could be read. A connection that was served is never dropped, and a
    // refused client reconnects and carries on.
    constexpr int kClients = 8, kRequests = 60;
    std::atomic<uint64_t> ok{0}, busy{0}, refused_connection{0}, other{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c)
        threads.emplace_back([&] {
            std::unique_ptr<Client> cl;
            bool served = false;  // the current connection has been answered ok
            for (int i = 0; i < kRequests; ++i) {
                std::string e;
                if (!cl) {
                    cl = std::make_unique<Client>();
                    served = false;
                    if (!cl->connect_unix(path, e, 2000)) {
                        other.fetch_add(1);
                        cl.reset();
                        continue;
                    }
                }
                const Response r = cl->request("status", nlohmann::json::object(), {}, 5000);
                if (r.ok) {
                    ok.fetch_add(1);
                    served = true;
                    continue;
                }
                if (r.code == "busy")
                    busy.fetch_add(1);
                else if (r.code == "unreachable" && !served)
                    refused_connection.fetch_add(1);
                else
                    other.fetch_add(1);
                cl.reset();
            }
        });
    // Misbehaving clients, concurrently.
    threads.emplace_back([&] {
        for (int i = 0; i < 40; ++i) {  // connect and vanish
            const int fd = raw_connect(path);
            if (fd >= 0) ::close(fd);
        }
    });
    threads.emplace_back([&] {
        for (int i = 0; i < 10; ++i) {  // half a frame, then silence until cut
            const int fd = raw_connect(path);
            if (fd < 0) continue;
            const std::string f = encode_frame(R"({"id":1,"cmd":"status","args":{}})");
            (void)!::send(fd, f.data(), f.size() / 2, MSG_NOSIGNAL);
            char b[256];
            (void)!::read(fd, b, sizeof b);  // the server's timeout answer, or EOF
            ::close(fd);
        }
    });
    threads.emplace_back([&] {
        for (int i = 0; i < 10; ++i) {  // pipelines requests and never reads the answers
            const int fd = raw_connect(path);
            if (fd < 0) continue;
            std::string many;
            for (int k = 0; k < 50; ++k)
                many += encode_frame(R"({"id":2,"cmd":"status","args":{}})");
            (void)!::send(fd, many.data(), many.size(), MSG_NOSIGNAL);
            ::close(fd);
        }
    });
    for (auto& t : threads) t.join();
    EXPECT_EQ(other.load(), 0u) << "a request neither answered nor refused";
    EXPECT_EQ(ok.load() + busy.load() + refused_connection.load(), uint64_t(kClients) * kRequests);
    EXPECT_GT(ok.load(), 0u);

    // Idle connections held open while the server stops: stop() closes and joins them.
    std::vector<int> idle;
    for (int i = 0; i < 5; ++i) idle.push_back(raw_connect(path));
    server.stop();
    for (int fd : idle)
        if (fd >= 0) ::close(fd);
    std::lock_guard lock(mu);
    EXPECT_GE(handled, ok.load());
    EXPECT_GE(server.requests(), ok.load());
    EXPECT_GT(refusals.load(), 0u) << "the half frames were cut with timeout";
}

// A connection thread that cannot be created is answered `busy`, and the server goes on: the
// address-space limit is set just above what the process maps now, so the next thread's stack
// (8 MiB) cannot be mapped.
TEST(ControlServer, ThreadCreationFailureIsAnsweredBusy) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "sanitizers reserve terabytes of address space: RLIMIT_AS cannot be used";
#else
    ControlServer server;
    const std::string path = socket_path("nothread");
    std::string err;
    ASSERT_TRUE(server.start_unix(
        path, {},
        [](Request& r) {
            return Frame{ok_json(r.id, {}), {}};
        },
        err))
        << err;
    auto ask = [&] {
        const int fd = raw_connect(path);
        EXPECT_GE(fd, 0);
        const std::string f = encode_frame(R"({"id":7,"cmd":"status","args":{}})");
        // send, not write: the server may have answered busy and closed (no SIGPIPE).
        (void)!::send(fd, f.data(), f.size(), MSG_NOSIGNAL);  // what it answered is what counts
        std::string got;
        char b[4096];
        for (ssize_t n; (n = ::read(fd, b, sizeof b)) > 0;) {
            got.append(b, static_cast<size_t>(n));
            if (got.find('}') != std::string::npos && got.size() > 16) break;
        }
        ::close(fd);
        return got;
    };
    EXPECT_NE(ask().find("\"ok\":true"), std::string::npos) << "answered normally first";
    // glibc keeps the stacks of exited threads (up to 40 MiB) and reuses them without a new
    // mapping: idle connections take every cached stack first, so the next thread needs one.
    std::vector<int> idle;
    for (int i = 0; i < 8; ++i) idle.push_back(raw_connect(path));
    for (int i = 0; i < 200 && server.listener().active() < 8; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(server.listener().active(), 8);
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_AS, &old), 0);
    size_t vm_kb = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmSize:", 0) == 0) vm_kb = std::stoul(line.substr(7));
    ASSERT_GT(vm_kb, 0u);
    rlimit tight = old;
    tight.rlim_cur = (vm_kb + 2048) * 1024;  // 2 MiB of room: no 8 MiB stack fits
    ASSERT_EQ(::setrlimit(RLIMIT_AS, &tight), 0);
    const std::string refused = ask();
    ASSERT_EQ(::setrlimit(RLIMIT_AS, &old), 0);
    for (int fd : idle) ::close(fd);
    EXPECT_NE(refused.find("\"code\":\"busy\""), std::string::npos) << refused;
    EXPECT_NE(refused.find("cannot start a connection thread"), std::string::npos) << refused;
    EXPECT_NE(ask().find("\"ok\":true"), std::string::npos) << "and it carries on";
    server.stop();
#endif
}

}  // namespace
}  // namespace sluice::control
