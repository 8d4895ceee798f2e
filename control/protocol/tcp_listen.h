// A listening IPv4 TCP socket from "ADDR:PORT" (port 0: the kernel picks; see `port`).
#pragma once

#include <cstdint>
#include <string>

namespace sluice::control {

// The socket, or -1 with `error` saying what to fix.
int listen_tcp(const std::string& listen, uint16_t& port, std::string& error);

}  // namespace sluice::control
