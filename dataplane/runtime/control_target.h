// What the dataplane's control service (runtime/control_service.h) needs from the dataplane
// it controls. Dataplane implements it over its workers and the correlator; the concurrency
// test and the control-protocol fuzz target implement it without DPDK, so every handler runs
// under ThreadSanitizer and on fuzzed requests.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "control/protocol/access.h"
#include "control/protocol/listener.h"
#include "rules/bundle_signature.h"
#include "tls/keylog.h"
#include "verdict/operator_lists.h"

namespace sluice {

class CorrelatorThread;

// The service's own configuration (control.access, control.limits, control.trusted_keys) and
// the state in force at start.
struct ControlSettings {
    control::AccessPolicy access;
    control::Limits limits;
    std::shared_ptr<const rules::TrustedKeys> trusted_keys;  // none: databases are rebuilt
    std::string policy_sha256, policy_source;                // the policy loaded at start
    uint64_t started_unix = 0;
};

class ControlTarget {
  public:
    virtual ~ControlTarget() = default;
    // The run's summary, from what the workers and the correlator published (any thread).
    virtual nlohmann::json summary() const = 0;
    // Rule sets swap only in live modes (offline runs are reproducible from their inputs).
    virtual bool live() const = 0;
    // The account correlator's thread; null when correlation is off (--no-accounts).
    virtual CorrelatorThread* correlator() = 0;
    virtual OperatorLists& lists() = 0;
    // Hands `rules` to every worker and waits until each adopted it: "" and the set's
    // generation, or why not (the previous set then stays in force).
    virtual std::string apply_rules(std::shared_ptr<const rules::CompiledRules> rules,
                                    double& wait_ms, uint8_t& generation) = 0;
    // Queues one secret to every worker's feed (one caller at a time); how many were full.
    virtual size_t push_secret(const tls::SecretUpdate& u) = 0;
};

}  // namespace sluice
