// DPDK telemetry commands (/sluice/...), readable with dpdk-telemetry.py while running.
#pragma once

namespace sluice {

class Dataplane;

// The telemetry callbacks carry no user pointer in DPDK 22.11, so one Dataplane per process
// is registered here; detach before it is destroyed.
void telemetry_attach(Dataplane& dp);
void telemetry_detach();

}  // namespace sluice
