#include "control/protocol/wipe.h"

#include <openssl/crypto.h>

#include <vector>

namespace sluice::control {

void wipe(std::string& s) {
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

void wipe_json(nlohmann::json& j) {
    // Iterative: depth is bounded at the door, but a wipe should never be the thing that
    // recurses.
    std::vector<nlohmann::json*> todo{&j};
    while (!todo.empty()) {
        nlohmann::json* x = todo.back();
        todo.pop_back();
        if (x->is_string()) {
            wipe(*x->get_ptr<std::string*>());
        } else if (x->is_structured()) {
            for (auto& v : *x) todo.push_back(&v);
        }
    }
    j = nullptr;
}

}  // namespace sluice::control
