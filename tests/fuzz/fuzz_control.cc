// The control protocol as a server meets it: arbitrary bytes are fed to the frame reader in
// uneven chunks, every whole frame goes through the server's request parsing (depth limit,
// command table) and then, as an admin, both sluiced's handler (a scratch state directory, an
// empty fleet) and the dataplane's control service (runtime/control_service.h, over a target
// with a running correlator thread and real operator lists). Any input gives an answer that is
// one JSON object with "ok"; nothing crashes, hangs or recurses without bound.
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "control/protocol/frame.h"
#include "control/protocol/server.h"
#include "control/sluiced/daemon.h"
#include "control/sluiced/state_store.h"
#include "fuzz/fuzz_target.h"
#include "runtime/control_service.h"
#include "support/fake_control_target.h"

using namespace sluice::control;

namespace {
struct Fixture {
    Fixture() {
        dir = std::filesystem::temp_directory_path() /
              ("sluice-fuzz-control-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir);
        std::string err;
        if (!store.open(dir.string(), err)) __builtin_trap();
        daemon = std::make_unique<Daemon>(store);
        daemon->timeouts = {50, 50, 50, 50};
        service = std::make_unique<sluice::ControlService>(target, sluice::ControlSettings{});
    }
    ~Fixture() {
        service.reset();
        daemon.reset();
        std::filesystem::remove_all(dir);
    }
    std::filesystem::path dir;
    StateStore store;
    std::unique_ptr<Daemon> daemon;
    sluice::fakes::FakeControlTarget target;
    std::unique_ptr<sluice::ControlService> service;
};

void check(const Frame& answer) {
    const auto j = nlohmann::json::parse(answer.json, nullptr, false);
    if (!j.is_object() || !j.contains("ok")) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Fixture fx;
    FrameReader reader;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    // Chunk sizes from the input itself, so splits are explored too.
    size_t pos = 0, chunk = size > 0 ? 1 + data[0] % 61 : 1;
    while (pos < in.size()) {
        reader.feed(in.substr(pos, chunk));
        pos += chunk;
        chunk = 1 + (chunk * 7 + 3) % 997;
        while (auto f = reader.next()) {
            Request req;
            req.role = Role::Admin;
            std::string code, why;
            if (!parse_request(*f, req, code, why)) {
                check({error_json(req.id, code, why), {}});
                continue;
            }
            Request copy = req;  // handlers may consume (wipe) the request
            check(fx.daemon->handle(req));
            check(fx.service->handle(copy));
        }
        if (!reader.error().empty()) break;  // the server closes the connection here
    }
    return 0;
}
