#include "runtime/telemetry.h"

#include <rte_telemetry.h>

#include <atomic>
#include <string>

#include "runtime/dataplane.h"

namespace sluice {
namespace {

std::atomic<Dataplane*> g_dataplane{nullptr};

int cmd_stats(const char*, const char*, struct rte_tel_data* d) {
    Dataplane* dp = g_dataplane.load();
    if (dp == nullptr) return -1;
    const WorkerCounters c = dp->total_counters();
    rte_tel_data_start_dict(d);
    for (size_t i = 0; i < c.v.size(); ++i)
        rte_tel_data_add_dict_u64(d, std::string(counter_name(static_cast<Ctr>(i))).c_str(),
                                  c.v[i]);
    return 0;
}

int cmd_workers(const char*, const char*, struct rte_tel_data* d) {
    Dataplane* dp = g_dataplane.load();
    if (dp == nullptr) return -1;
    rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
    for (const auto& w : dp->workers())
        rte_tel_data_add_array_u64(d, w->stats.read().pipeline.engine[Ctr::Packets]);
    return 0;
}

}  // namespace

void telemetry_attach(Dataplane& dp) {
    static bool registered = false;
    g_dataplane.store(&dp);
    if (registered) return;
    registered = true;
    rte_telemetry_register_cmd("/sluice/stats", cmd_stats, "Engine counters summed over workers.");
    rte_telemetry_register_cmd("/sluice/workers", cmd_workers, "Packets processed per worker.");
}

void telemetry_detach() {
    g_dataplane.store(nullptr);
}

}  // namespace sluice
