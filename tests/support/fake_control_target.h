// The dataplane as its control service (runtime/control_service.h) sees it, without DPDK: a
// running correlator thread (no workers; ordered, so it polls every 200 us), real operator lists,
// rule sets "adopted" at once and secrets counted. For the control-protocol fuzz target and the
// concurrency test.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "account/policy.h"
#include "runtime/control_target.h"
#include "runtime/correlator_thread.h"

namespace sluice::fakes {

class FakeControlTarget final : public ControlTarget {
  public:
    FakeControlTarget() : correlator_(empty_policy(), sink_, 1, own_, /*ordered=*/true) {
        correlator_.set_operator_lists(&lists_);
        correlator_.start();
    }
    ~FakeControlTarget() override { correlator_.finish(); }
    nlohmann::json summary() const override { return {{"engine", {{"rules", {{"loaded", 0}}}}}}; }
    bool live() const override { return true; }
    CorrelatorThread* correlator() override { return &correlator_; }
    OperatorLists& lists() override { return lists_; }
    std::string apply_rules(std::shared_ptr<const rules::CompiledRules> rules, double&,
                            uint8_t& generation) override {
        if (!rules) return "no rule set";
        generation = static_cast<uint8_t>(++generation_);
        return "";
    }
    size_t push_secret(const tls::SecretUpdate&) override {
        secrets_.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }
    uint64_t secrets() const { return secrets_.load(); }

  private:
    struct NullSink final : EventSink {
        bool emit(EveOrder, std::string_view) override { return true; }
    };
    static std::shared_ptr<const account::Policy> empty_policy() {
        std::string err;
        auto p = account::Policy::parse("window: 60\nrules: []\nactions: []\n", "fake.yaml", err);
        if (!p) __builtin_trap();
        return std::make_shared<const account::Policy>(std::move(*p));
    }
    NullSink sink_;
    ProducerProgress own_;
    OperatorLists lists_;
    CorrelatorThread correlator_;
    std::atomic<unsigned> generation_{0};
    std::atomic<uint64_t> secrets_{0};
};

}  // namespace sluice::fakes
