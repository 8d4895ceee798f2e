// A connected byte stream with deadlines (plain socket or TLS), shared by the control servers
// and the client. Sockets are non-blocking: every wait is a poll bounded by a Deadline (a
// whole request's or a whole connection's time, not a per-byte timeout a trickling peer could
// keep resetting) and, on servers, by a stop flag checked every 200 ms.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace sluice::control {

class Deadline {
  public:
    using Clock = std::chrono::steady_clock;
    static Deadline in_ms(int ms) { return Deadline(Clock::now() + std::chrono::milliseconds(ms)); }
    static Deadline never() { return Deadline(Clock::time_point::max()); }
    int remaining_ms() const;  // 0 once passed; capped for poll()
    bool passed() const { return Clock::now() >= at_; }
    Deadline earlier(Deadline o) const { return o.at_ < at_ ? o : *this; }

  private:
    explicit Deadline(Clock::time_point at) : at_(at) {}
    Clock::time_point at_;
};

enum class Io { Ok, Closed, Timeout, Stopped, Error };
std::string_view io_name(Io s);

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT) or the deadline passes.
Io wait_fd(int fd, short events, Deadline d, const std::atomic<bool>* stop = nullptr);
bool set_nonblocking(int fd);

class Stream {
  public:
    virtual ~Stream() = default;
    // At least one byte into `buf` (n), or why not.
    virtual Io read_some(char* buf, size_t cap, size_t& n, Deadline d,
                         const std::atomic<bool>* stop = nullptr) = 0;
    virtual Io write_all(std::string_view bytes, Deadline d) = 0;
    // Bytes already read from the socket and buffered (TLS records): no poll needed.
    virtual bool has_buffered() const { return false; }
    const std::string& error() const { return error_; }

  protected:
    std::string error_;
};

// A plain socket; owns and closes `fd`.
class FdStream final : public Stream {
  public:
    explicit FdStream(int fd) : fd_(fd) {}
    ~FdStream() override;
    FdStream(const FdStream&) = delete;
    FdStream& operator=(const FdStream&) = delete;
    Io read_some(char* buf, size_t cap, size_t& n, Deadline d,
                 const std::atomic<bool>* stop) override;
    Io write_all(std::string_view bytes, Deadline d) override;

  private:
    int fd_;
};

// TLS over a socket; owns and closes `fd`. handshake() must succeed before reads and writes.
class SslStream final : public Stream {
  public:
    SslStream(std::shared_ptr<SSL_CTX> ctx, int fd);
    ~SslStream() override;
    SslStream(const SslStream&) = delete;
    SslStream& operator=(const SslStream&) = delete;
    // Server side: SSL_accept; client side: SSL_connect checking the certificate names `host`.
    Io handshake(bool server, const std::string& host, Deadline d);
    Io read_some(char* buf, size_t cap, size_t& n, Deadline d,
                 const std::atomic<bool>* stop) override;
    Io write_all(std::string_view bytes, Deadline d) override;
    bool has_buffered() const override;
    SSL* ssl() const { return ssl_; }

  private:
    // Waits for what OpenSSL asked for after a call returned `rc`; Ok to retry.
    Io retry(int rc, Deadline d, const std::atomic<bool>* stop);
    std::shared_ptr<SSL_CTX> ctx_;
    SSL* ssl_ = nullptr;
    int fd_;
};

// OpenSSL's queued reason, cleared.
std::string ssl_error_string();

}  // namespace sluice::control
