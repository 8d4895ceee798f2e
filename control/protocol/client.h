// A control client: connects to a dataplane's (or sluiced's) Unix socket and sends requests.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "control/protocol/frame.h"

namespace sluice::control {

struct Response {
    bool ok = false;
    nlohmann::json result;  // ok: the command's result
    std::string error;      // !ok: what went wrong (transport or the peer's error)
    std::string code;       // !ok: "unreachable", "protocol", or the peer's error code
    std::string blob;
};

class Client {
  public:
    Client() = default;
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connect_unix(const std::string& path, std::string& error);
    Response request(const std::string& cmd, const nlohmann::json& args = nlohmann::json::object(),
                     std::string_view blob = {}, int timeout_ms = 30000);

  private:
    int fd_ = -1;
    uint64_t next_id_ = 1;
};

}  // namespace sluice::control
