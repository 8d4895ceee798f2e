// The DPDK side of sluice: EAL, ports, mempools, rings, lcores, telemetry. Owns the
// threads; each worker owns one Pipeline (the inspection engine) and its flows.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/snapshot_slot.h"
#include "control/protocol/http_endpoint.h"
#include "engine/pipeline.h"
#include "eve/eve_writer.h"
#include "fleet/eve_redis.h"
#include "runtime/control_service.h"
#include "runtime/control_target.h"
#include "runtime/correlator_thread.h"
#include "runtime/enforcement_rcu.h"
#include "runtime/pcap_prescan.h"
#include "runtime/runtime_config.h"
#include "tls/secret_feed.h"
#include "verdict/operator_lists.h"

struct rte_mempool;
struct rte_ring;
struct rte_mbuf;
struct rte_ip_frag_tbl;
struct rte_ip_frag_death_row;

namespace sluice {

class PcapSink;

enum class IoCtr : uint16_t {
    RxPackets,
    TxPackets,
    TxDropped,      // the port refused them (full TX queue)
    RingFullDrops,  // a worker's input ring was full (live mode only)
    InjectedTx,
    InjectAllocFailed,
    FragmentsIn,           // IP fragments handed to reassembly
    FragmentsReassembled,  // datagrams completed from them
    Count
};

using IoCounters = std::array<uint64_t, static_cast<size_t>(IoCtr::Count)>;

// What a worker publishes for the control plane, /metrics and telemetry (they never read its
// live counters).
struct WorkerStats {
    PipelineStats pipeline;
    IoCounters io{};
};

// What the I/O lcore publishes (distributor topology; offline runs).
struct IoStats {
    IoCounters io{};
    uint64_t pcap_written = 0;
};

struct PortRuntime {
    std::string name;
    uint16_t id = 0;
    int peer = -1;  // index of the paired port in ports_, or -1 (monitor)
};

// One worker lcore's state: cache-aligned and touched only by its lcore while running.
struct alignas(64) WorkerContext {
    unsigned index = 0;
    unsigned lcore = 0;
    std::unique_ptr<Pipeline> pipeline;
    rte_ring* in_ring = nullptr;   // distributor mode: from the I/O lcore
    rte_ring* out_ring = nullptr;  // distributor mode: to the I/O lcore
    ProducerProgress* progress = nullptr;
    std::vector<uint8_t> linear;  // copy of multi-segment packets (sized once at start-up)
    IoCounters io{};
    uint64_t seq = 0;  // rss mode: own arrival counter
    // The worker's counters as of its last publication (between bursts, at least every 10 ms,
    // and when it goes idle or finishes): the only way other threads see them.
    SnapshotSlot<WorkerStats> stats;
    uint64_t next_publish_tsc = 0;  // the worker's own
    std::atomic<bool> finished{false};
    std::unique_ptr<tls::SecretFeed> feed;           // secrets pushed at run time (--keylog-follow)
    std::unique_ptr<ObservationQueue> observations;  // to the correlator
    // Rule-set swaps (control plane): the next set, handed over by the control thread, and
    // the replaced one handed back to it for freeing; the worker adopts between bursts.
    std::atomic<RuleSwap*> pending_rules{nullptr};
    std::atomic<RuleSwap*> retired_rules{nullptr};
    std::atomic<uint64_t> swap_stall_ns{0};  // longest adoption (pointer swaps) seen
};

class Dataplane final : public ControlTarget {
  public:
    explicit Dataplane(RuntimeConfig cfg);
    ~Dataplane() override;

    // EAL init + resource setup. Returns false with a message in error().
    bool init(int argc, char** argv);
    // Runs until the capture is consumed (offline), the duration passes, or stop().
    int run();
    static void request_stop();
    static void request_reopen();

    const std::string& error() const { return error_; }
    std::string summary_text() const;
    std::string summary_json() const;
    nlohmann::json summary() const override;  // the same, as a value (control status, /metrics)

    // ControlTarget (the control service's view of the dataplane).
    bool live() const override { return !offline(); }
    CorrelatorThread* correlator() override { return correlator_.get(); }
    OperatorLists& lists() override { return lists_; }
    std::string apply_rules(std::shared_ptr<const rules::CompiledRules> rules, double& wait_ms,
                            uint8_t& generation) override;
    size_t push_secret(const tls::SecretUpdate& u) override;

    // Used by telemetry and the lcore loops: sums of the workers' published snapshots.
    WorkerCounters total_counters() const;
    const std::vector<std::unique_ptr<WorkerContext>>& workers() const { return workers_; }

    int worker_loop(WorkerContext& w);
    int rss_worker_loop(WorkerContext& w);

  private:
    void resolve_normalization();
    bool setup_ports();
    bool start_ports();
    bool setup_workers();
    void io_loop();
    void distribute(rte_mbuf** pkts, uint16_t n, uint16_t port, uint64_t now_ns);
    void drain_workers();
    void emit(rte_mbuf* m);
    void transmit(uint16_t port_index, rte_mbuf* m);
    void flush_tx();
    void finish_workers();
    void emit_stats_record();
    void publish_io();     // the I/O lcore's snapshot (its own thread only)
    void follow_keylog();  // thread: tails cfg_.keylog_follow, pushes secrets to every worker
    bool offline() const { return cfg_.mode == RunMode::Offline; }
    bool thresholded_rules() const;

    RuntimeConfig cfg_;
    std::string error_;
    CaptureInfo capture_;
    std::vector<PortRuntime> ports_;
    rte_mempool* pool_ = nullptr;
    rte_mempool* inject_pool_ = nullptr;  // RSTs (small frames)
    rte_mempool* answer_pool_ = nullptr;  // answer segments (up to an MSS of HTTP answer)
    std::vector<std::unique_ptr<WorkerContext>> workers_;
    std::unique_ptr<fleet::EveRedis> eve_redis_;  // the writer's tap: outlives it
    std::unique_ptr<EveWriter> eve_;
    // Declared first: outlives the correlator thread that publishes through it.
    std::unique_ptr<RcuEnforcement> enforcement_;  // live inline: decisions the workers enforce
    std::unique_ptr<fleet::FleetLink> fleet_;      // outlives the correlator that feeds it
    std::unique_ptr<CorrelatorThread> correlator_;
    std::unique_ptr<PcapSink> pcap_out_;
    int ts_offset_ = -1;
    uint64_t ts_flag_ = 0;

    // I/O lcore state (main lcore).
    uint64_t rx_count_ = 0;  // packets received (fragments held for reassembly get no seq)
    uint64_t next_seq_ = 0;
    rte_ip_frag_tbl* frag_tbl_ = nullptr;  // fragments: reassemble
    std::unique_ptr<rte_ip_frag_death_row> death_row_;
    std::atomic<uint64_t> published_seq_{0};
    std::vector<rte_mbuf*> reorder_;
    uint64_t reorder_next_ = 0;
    std::vector<std::vector<rte_mbuf*>> tx_buf_;
    std::vector<uint8_t> io_linear_;  // linear copy of multi-segment packets for hashing
    IoCounters io_{};
    SnapshotSlot<IoStats> io_stats_;
    std::atomic<bool> workers_stop_{false};
    std::atomic<uint64_t> start_tsc_{0};  // read by the control threads' summaries
    std::atomic<uint64_t> end_tsc_{0};
    Timestamp last_packet_time_;
    uint32_t stats_index_ = 0;
    std::thread follower_;
    std::atomic<bool> follower_stop_{false};
    std::atomic<uint64_t> secrets_followed_{0};
    std::atomic<uint64_t> secrets_feed_full_{0};
    std::string runtime_dir_;
    bool initialised_ = false;

    // Control plane (runtime/control_service.h).
    OperatorLists lists_;
    std::unique_ptr<ControlService> control_;
    std::unique_ptr<control::HttpEndpoint> metrics_;
    std::mutex feed_mu_;  // one producer at a time on the workers' secret feeds
    // The rule set in force (the control plane swaps it) and its generation.
    std::shared_ptr<const rules::CompiledRules> rules_in_force_;
    uint8_t rules_generation_ = 0;      // under rules_mu_
    uint64_t rules_swaps_ = 0;          // under rules_view_mu_
    std::mutex rules_mu_;               // one rule push at a time
    mutable std::mutex rules_view_mu_;  // guards rules_in_force_ for readers

    friend int worker_entry(void*);
};

}  // namespace sluice
