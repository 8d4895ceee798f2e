#include "control/protocol/tcp_listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace sluice::control {

int listen_tcp(const std::string& listen, uint16_t& port, std::string& error) {
    const size_t colon = listen.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    unsigned p = 0;
    const char* end = listen.data() + listen.size();
    const bool port_ok = colon != std::string::npos &&
                         std::from_chars(listen.data() + colon + 1, end, p).ptr == end &&
                         colon + 1 < listen.size() && p <= 65535;
    if (!port_ok || ::inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
        error = "'" + listen + "': expected IPv4ADDR:PORT, e.g. 127.0.0.1:9477";
        return -1;
    }
    addr.sin_port = htons(static_cast<uint16_t>(p));
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 16) != 0) {
        error = listen + ": " + std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return -1;
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    return fd;
}

}  // namespace sluice::control
