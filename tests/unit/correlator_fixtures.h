// What correlator tests share: a sink keeping every record as JSON, and a policy from text.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "account/policy.h"
#include "eve/event_sink.h"

namespace sluice::testing {

struct CollectRecords final : EventSink {
    std::vector<nlohmann::json> records;
    bool emit(EveOrder, std::string_view json) override {
        records.push_back(nlohmann::json::parse(json));
        return true;
    }
};

inline std::shared_ptr<const account::Policy> policy_of(const std::string& yaml) {
    std::string err;
    auto p = account::Policy::parse(yaml, "test.yaml", err);
    EXPECT_TRUE(p) << err;
    return std::make_shared<const account::Policy>(std::move(*p));
}

}  // namespace sluice::testing
