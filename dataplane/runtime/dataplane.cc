#include "runtime/dataplane.h"

#include "account/identity.h"
#include "runtime/metrics.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip_frag.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include <sched.h>
#include <sys/stat.h>
#include <fstream>

#include <openssl/crypto.h>
#include <time.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "decode/decoder.h"
#include "runtime/packet_meta.h"
#include "runtime/pcap_sink.h"
#include "runtime/telemetry.h"

namespace sluice {

namespace {

// What the NIC's receive offload already verified (vdevs report "unknown": software checks).
// A checksum the NIC found bad is checked again in software, which finds it bad too.
ChecksumHint checksum_hint(const rte_mbuf* m) {
    ChecksumHint h;
    h.l3_good = (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    h.l4_good = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    return h;
}

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reopen{false};
constexpr unsigned kMaxBurst = 256;
constexpr size_t kLinearBuffer = 256 * 1024;

uint64_t wall_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

void idle_pause(unsigned& empty_polls, const RuntimeConfig& cfg) {
    if (++empty_polls < cfg.idle_polls) {
        rte_pause();
        return;
    }
    if (cfg.idle_backoff_us > 0)
        std::this_thread::sleep_for(std::chrono::microseconds(cfg.idle_backoff_us));
    else if (cfg.mode == RunMode::Offline)
        sched_yield();  // lcores may share one CPU
    else
        rte_pause();
}

std::string device_name(const std::string& device) {
    return device.substr(0, device.find(','));
}

// Injector that turns engine-built frames into mbufs attached to the current packet.
class MbufInjector final : public Injector {
  public:
    MbufInjector(rte_mempool* small, rte_mempool* large, PacketMeta& pm, bool wait,
                 uint64_t& failed)
        : small_(small), large_(large), pm_(pm), wait_(wait), failed_(failed) {}
    void inject(bool along, std::span<const uint8_t> frame) override {
        int slot = 0;
        while (slot < kMaxInjected && pm_.inject[slot] != nullptr) ++slot;
        if (slot == kMaxInjected) {
            ++failed_;
            return;
        }
        // RSTs come from the small pool; answer segments need room for a segment of data.
        rte_mempool* pool = frame.size() <= 256 ? small_ : large_;
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        while (m == nullptr && wait_) {  // offline never loses a frame; TX frees them
            rte_pause();
            m = rte_pktmbuf_alloc(pool);
        }
        if (m == nullptr) {
            ++failed_;
            return;
        }
        char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
        if (p == nullptr) {
            rte_pktmbuf_free(m);
            ++failed_;
            return;
        }
        std::memcpy(p, frame.data(), frame.size());
        pm_.inject[slot] = m;
        if (along) pm_.inject_along |= static_cast<uint8_t>(1u << slot);
    }

  private:
    rte_mempool* small_;
    rte_mempool* large_;
    PacketMeta& pm_;
    bool wait_;
    uint64_t& failed_;
};

// Injector for timers (no packet being processed: an answer's retransmission): each frame is
// an mbuf of its own, handed to `send` with the port it must leave by.
template <class Send>
class TimerInjector final : public Injector {
  public:
    TimerInjector(rte_mempool* pool, Send send) : pool_(pool), send_(send) {}
    void inject(bool, std::span<const uint8_t>) override {}  // timers name their port
    bool inject_on(uint16_t port, std::span<const uint8_t> frame) override {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        if (m == nullptr) return false;
        char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
        if (p == nullptr || !send_(port, m)) {
            rte_pktmbuf_free(m);
            return false;
        }
        std::memcpy(p, frame.data(), frame.size());
        return true;
    }

  private:
    rte_mempool* pool_;
    Send send_;
};

}  // namespace

int worker_entry(void* arg);

Dataplane::Dataplane(RuntimeConfig cfg) : cfg_(std::move(cfg)) {}

Dataplane::~Dataplane() {
    if (!initialised_) return;
    for (auto& p : ports_) {
        rte_eth_dev_stop(p.id);
        rte_eth_dev_close(p.id);
    }
    for (auto& w : workers_) {
        rte_ring_free(w->in_ring);
        rte_ring_free(w->out_ring);
    }
    pcap_out_.reset();
    if (frag_tbl_ != nullptr) {
        rte_ip_frag_free_death_row(death_row_.get(), 0);
        rte_ip_frag_table_destroy(frag_tbl_);  // frees fragments of incomplete datagrams
    }
    rte_mempool_free(pool_);
    rte_mempool_free(inject_pool_);
    rte_mempool_free(answer_pool_);
    telemetry_detach();
    rte_eal_cleanup();
    // Offline runs use a private file prefix per process: leave no runtime directory behind.
    if (offline() && !runtime_dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(runtime_dir_, ec);
    }
}

void Dataplane::request_stop() {
    g_stop.store(true, std::memory_order_relaxed);
}
void Dataplane::request_reopen() {
    g_reopen.store(true, std::memory_order_relaxed);
}

void Dataplane::resolve_normalization() {
    // What a host would discard is dropped on inline ports; offline and monitor runs forward
    // it (there is nothing to drop) but leave it out of inspection.
    cfg_.engine.normalize.drop = cfg_.mode == RunMode::Inline;
    cfg_.engine.normalize.in_path = cfg_.mode == RunMode::Inline;
    // A capped decode or a reclaimed buffer leaves the rest unscanned: inline, that must not
    // pass.
    if (!cfg_.reclaim_action_set)
        cfg_.engine.tls.reclaim_verdict =
            cfg_.mode == RunMode::Inline ? Verdict::Drop : Verdict::Alert;
    if (!cfg_.cap_action_set)
        cfg_.engine.http.cap_verdict =
            cfg_.mode == RunMode::Inline ? Verdict::Drop : Verdict::Alert;
    // Live inline with secrets exported after the handshake: requests wait for them.
    cfg_.engine.tls.hold_for_secrets =
        cfg_.mode == RunMode::Inline && !offline() && cfg_.engine.tls.wait_for_secrets;
    if (!cfg_.h2_abuse_action_set)
        cfg_.engine.http2.abuse_verdict =
            cfg_.mode == RunMode::Inline ? Verdict::Drop : Verdict::Alert;
    // QUIC's 1-RTT data cannot be decrypted: inline, an HTTP/3 request would pass every rule,
    // so QUIC is blocked and clients fall back to TCP (what enterprise firewalls do).
    if (!cfg_.quic_action_set)
        cfg_.engine.quic.action =
            cfg_.mode == RunMode::Inline ? quic::QuicAction::Block : quic::QuicAction::Pass;
    if (!cfg_.http_reclaim_action_set)
        cfg_.engine.http.reclaim_verdict =
            cfg_.mode == RunMode::Inline ? Verdict::Drop : Verdict::Alert;
    bool verify = cfg_.checksums != ChecksumMode::Ignore;
    if (cfg_.checksums == ChecksumMode::Auto && offline()) {
        // A capture of the sending host has offloaded (unset) checksums: if one in ten of the
        // sampled packets fails, checksums say nothing about this capture (Suricata's auto).
        verify = capture_.checksum_bad * 10 < capture_.checksum_sampled;
        if (!verify)
            std::fprintf(stderr,
                         "sluice-dataplane: %u of the first %u packets have bad checksums (a "
                         "capture of the sending host?): checksums are not verified for this "
                         "capture (--checksums verify to insist)\n",
                         capture_.checksum_bad, capture_.checksum_sampled);
    }
    cfg_.engine.normalize.verify_checksums = verify;
    // Live: a key nobody outside this process knows, so flows cannot be aimed at one bucket or
    // one worker. Offline: the fixed key keeps output byte-identical run to run.
    if (!offline() && !cfg_.flow_hash_key_set) cfg_.engine.flow_hash_key = FlowHashKey::random();
}

bool Dataplane::init(int argc, char** argv) {
    if (offline()) {
        if (std::string e = prescan_capture(cfg_.pcap_in, capture_, cfg_.engine.decode);
            !e.empty()) {
            error_ = e;
            return false;
        }
        if (cfg_.pcap_in.find(',') != std::string::npos) {
            error_ = cfg_.pcap_in + ": the pcap PMD cannot open paths containing ','";
            return false;
        }
        cfg_.ports = {PortSpec{"pcap", "net_pcap_sluice0,rx_pcap=" + cfg_.pcap_in}};
        cfg_.monitor = {"pcap"};
        cfg_.topology = Topology::Distributor;
    }

    resolve_normalization();

    // EAL arguments: ours first, then the user's (which may override them).
    std::vector<std::string> args = {argc > 0 ? argv[0] : "sluice-dataplane"};
    const unsigned lcores_needed = cfg_.workers + (cfg_.topology == Topology::Distributor ? 1 : 0);
    if (cfg_.lcores.empty()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        sched_getaffinity(0, sizeof set, &set);
        std::vector<int> cpus;
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) cpus.push_back(c);
        if (cpus.empty()) cpus.push_back(0);
        std::string map;
        for (unsigned l = 0; l < lcores_needed; ++l)
            map += (l ? "," : "") + std::to_string(l) + "@" + std::to_string(cpus[l % cpus.size()]);
        cfg_.lcores = map;
    }
    args.push_back("--lcores=" + cfg_.lcores);
    if (offline()) {
        for (const char* a :
             {"--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--log-level=*:warning"})
            args.emplace_back(a);
        args.push_back("--file-prefix=sluice-offline-" + std::to_string(getpid()));
    }
    for (const auto& p : cfg_.ports) {
        if (p.device.rfind("net_", 0) == 0)
            args.push_back("--vdev=" + p.device);
        else
            args.push_back("--allow=" + p.device);
    }
    for (const auto& a : cfg_.eal_args) args.push_back(a);
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(cargs.size() - 1), cargs.data()) < 0) {
        error_ = std::string("EAL initialisation failed: ") + rte_strerror(rte_errno);
        return false;
    }
    initialised_ = true;
    runtime_dir_ = rte_eal_get_runtime_dir();
    if (rte_lcore_count() < lcores_needed) {
        error_ = "need " + std::to_string(lcores_needed) + " lcores for " +
                 std::to_string(cfg_.workers) + " workers, EAL has " +
                 std::to_string(rte_lcore_count());
        return false;
    }

    const bool off = offline();
    const unsigned priv = sizeof(PacketMeta);
    // Offline uses no per-lcore cache: the RX lcore must see exactly how many mbufs are free
    // so it never reads a packet it cannot store (the pcap PMD would drop it).
    pool_ =
        rte_pktmbuf_pool_create("sluice_mbufs", cfg_.mbufs, off ? 0 : cfg_.mbuf_cache, priv,
                                static_cast<uint16_t>(cfg_.mbuf_data_room + RTE_PKTMBUF_HEADROOM),
                                static_cast<int>(rte_socket_id()));
    inject_pool_ =
        rte_pktmbuf_pool_create("sluice_inject", off ? 2 * cfg_.mbufs + 1 : 4095, 0, priv,
                                256 + RTE_PKTMBUF_HEADROOM, static_cast<int>(rte_socket_id()));
    answer_pool_ =
        rte_pktmbuf_pool_create("sluice_answer", 2047, 0, priv, 2048 + RTE_PKTMBUF_HEADROOM,
                                static_cast<int>(rte_socket_id()));
    if (pool_ == nullptr || inject_pool_ == nullptr || answer_pool_ == nullptr) {
        error_ = std::string("cannot create mempools: ") + rte_strerror(rte_errno);
        return false;
    }

    if (cfg_.engine.fragments == FragmentPolicy::Reassemble) {
        // Timestamps given to the table are packet time in microseconds: 30 s to complete.
        constexpr uint32_t kBuckets = 4096, kEntries = 8;
        frag_tbl_ = rte_ip_frag_table_create(kBuckets, kEntries, kBuckets * kEntries, 30'000'000,
                                             static_cast<int>(rte_socket_id()));
        death_row_ = std::make_unique<rte_ip_frag_death_row>();
        death_row_->cnt = 0;
        if (frag_tbl_ == nullptr) {
            error_ = "cannot create the IP fragment table";
            return false;
        }
    }

    EveWriter::Options eo;
    eo.path = cfg_.eve_path;
    eo.ordered = off;
    eo.block_when_full = off;
    if (cfg_.eve_redis.enabled) {
        eve_redis_ = std::make_unique<fleet::EveRedis>(cfg_.eve_redis, off);
        eve_redis_->start();
        eo.tap = eve_redis_.get();
    }
    // Producers: the workers, then main (stats, final records), then the correlator.
    eve_ = std::make_unique<EveWriter>(eo, cfg_.workers + 2);
    std::string err;
    if (!eve_->start(err)) {
        error_ = err;
        return false;
    }
    eve_->progress(cfg_.workers).done.store(EveOrder::kFinalSeq - 1);  // main: only final records
    if (cfg_.policy || thresholded_rules()) {
        // Thresholded rules are counted by the correlator even with account correlation off
        // (an empty policy then decides nothing).
        auto policy = cfg_.policy ? cfg_.policy : std::make_shared<const account::Policy>();
        correlator_ = std::make_unique<CorrelatorThread>(
            policy, eve_->sink(cfg_.workers + 1), static_cast<uint32_t>(cfg_.workers + 1),
            eve_->progress(cfg_.workers + 1), off, cfg_.asn_table, cfg_.engine.rules);
        if (cfg_.fleet.enabled && cfg_.policy) {
            const std::string_view secret =
                account::account_secret_or_default(cfg_.engine.accounts.secret);
            fleet_ = std::make_unique<fleet::FleetLink>(cfg_.fleet, as_bytes(secret), off);
            correlator_->set_fleet(fleet_.get());
        }
    } else {
        eve_->progress(cfg_.workers + 1).done.store(EveOrder::kFinalSeq);
    }
    if (off && !cfg_.pcap_out.empty()) {
        pcap_out_ = std::make_unique<PcapSink>();
        if (!pcap_out_->open(cfg_.pcap_out, capture_.dlt, err)) {
            error_ = err;
            return false;
        }
    }
    if (!setup_ports() || !setup_workers() || !start_ports()) return false;
    if (correlator_) correlator_->set_operator_lists(&lists_);
    {
        std::lock_guard view(rules_view_mu_);
        rules_in_force_ = cfg_.engine.rules;
    }
    telemetry_attach(*this);
    if (!cfg_.metrics_listen.empty()) {
        metrics_ = std::make_unique<control::HttpEndpoint>();
        const bool ok = metrics_->start(
            cfg_.metrics_listen,
            [this](const std::string& path) {
                control::HttpAnswer a;
                if (path == "/metrics") {
                    a.body = prometheus_text(summary());
                } else if (path == "/health") {
                    // Healthy while the workers run (a finished worker means shutdown).
                    bool up = true;
                    for (const auto& w : workers_) up &= !w->finished.load();
                    a.status = up ? 200 : 503;
                    a.content_type = "text/plain";
                    a.body = up ? "ok\n" : "stopping\n";
                } else {
                    a = {404, "text/plain", "/metrics or /health\n"};
                }
                return a;
            },
            err);
        if (!ok) {
            error_ = "metrics: " + err;
            return false;
        }
    }
    if (!cfg_.control_socket.empty() || !cfg_.control_listen.empty()) {
        control_ = std::make_unique<ControlService>(
            *this,
            ControlSettings{cfg_.control_access, cfg_.control_limits, cfg_.trusted_keys,
                            cfg_.policy_sha256, cfg_.policy_source, wall_ns() / 1'000'000'000ull});
        if (!cfg_.control_socket.empty() && !control_->start(cfg_.control_socket, err)) {
            error_ = "control socket: " + err;
            return false;
        }
        if (!cfg_.control_listen.empty() &&
            !control_->start_tls(cfg_.control_listen,
                                 {cfg_.control_cert, cfg_.control_key, cfg_.control_ca}, err)) {
            error_ = "control listen: " + err;
            return false;
        }
    }
    return true;
}

bool Dataplane::setup_ports() {
    auto index_of = [&](const std::string& name) {
        for (size_t i = 0; i < cfg_.ports.size(); ++i)
            if (cfg_.ports[i].name == name) return static_cast<int>(i);
        return -1;
    };
    ports_.resize(cfg_.ports.size());
    for (size_t i = 0; i < cfg_.ports.size(); ++i) {
        ports_[i].name = cfg_.ports[i].name;
        uint16_t id;
        const std::string dev = device_name(cfg_.ports[i].device);
        if (rte_eth_dev_get_port_by_name(dev.c_str(), &id) != 0) {
            error_ = "port '" + ports_[i].name + "': no ethdev named '" + dev + "'";
            return false;
        }
        ports_[i].id = id;
    }
    for (const auto& [a, b] : cfg_.pairs) {
        ports_[static_cast<size_t>(index_of(a))].peer = index_of(b);
        ports_[static_cast<size_t>(index_of(b))].peer = index_of(a);
    }
    const uint16_t queues =
        cfg_.topology == Topology::Rss ? static_cast<uint16_t>(cfg_.workers) : 1;
    static const uint8_t kSymmetricKey[40] = {
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};
    for (auto& p : ports_) {
        rte_eth_dev_info info;
        if (rte_eth_dev_info_get(p.id, &info) != 0) {
            error_ = "port '" + p.name + "': cannot read device info";
            return false;
        }
        if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
            error_ = "port '" + p.name + "' (" + info.driver_name + ") has " +
                     std::to_string(info.max_rx_queues) + " RX queues; rss topology with " +
                     std::to_string(queues) +
                     " workers needs one per worker (use topology: distributor)";
            return false;
        }
        rte_eth_conf conf{};
        if (offline() && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP))
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
        if (queues > 1) {
            // Symmetric Toeplitz key: both directions of a flow land on the same queue.
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = const_cast<uint8_t*>(kSymmetricKey);
            conf.rx_adv_conf.rss_conf.rss_key_len = sizeof kSymmetricKey;
            conf.rx_adv_conf.rss_conf.rss_hf =
                info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
        }
        int rc = rte_eth_dev_configure(p.id, queues, queues, &conf);
        uint16_t rxd = static_cast<uint16_t>(cfg_.rx_desc),
                 txd = static_cast<uint16_t>(cfg_.tx_desc);
        if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &rxd, &txd);
        for (uint16_t q = 0; rc == 0 && q < queues; ++q) {
            rc = rte_eth_rx_queue_setup(
                p.id, q, rxd, static_cast<unsigned>(rte_eth_dev_socket_id(p.id)), nullptr, pool_);
            if (rc == 0)
                rc = rte_eth_tx_queue_setup(
                    p.id, q, txd, static_cast<unsigned>(rte_eth_dev_socket_id(p.id)), nullptr);
        }
        if (rc != 0) {
            error_ = "port '" + p.name + "': setup failed: " + rte_strerror(-rc);
            return false;
        }
    }
    tx_buf_.resize(ports_.size());
    io_linear_.resize(kLinearBuffer);
    for (auto& b : tx_buf_) b.reserve(kMaxBurst * 2);
    return true;
}

// Links come up only once the workers' engines exist: a peer that starts sending when it sees
// the link must not fill rings nobody drains yet.
bool Dataplane::start_ports() {
    for (const auto& p : ports_) {
        const int rc = rte_eth_dev_start(p.id);
        if (rc != 0) {
            error_ = "port '" + p.name + "': start failed: " + rte_strerror(-rc);
            return false;
        }
        rte_eth_promiscuous_enable(p.id);  // vdevs may not support it; not fatal
    }
    ts_offset_ = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
    const int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
    ts_flag_ = bit >= 0 ? uint64_t{1} << bit : 0;
    return true;
}

bool Dataplane::thresholded_rules() const {
    if (!cfg_.engine.rules) return false;
    const auto& rules = cfg_.engine.rules->set().rules;
    return std::any_of(rules.begin(), rules.end(),
                       [](const rules::Rule& r) { return r.threshold.has_value(); });
}

bool Dataplane::setup_workers() {
    const bool off = offline();
    // Decisions are enforced live on inline ports only (a monitor port cannot stop a flow;
    // offline runs report, so their records stay deterministic).
    const bool inline_ports =
        std::any_of(ports_.begin(), ports_.end(), [](const PortRuntime& p) { return p.peer >= 0; });
    if (!off && cfg_.enforce && correlator_ && inline_ports) {
        enforcement_ = std::make_unique<RcuEnforcement>(cfg_.workers);
        correlator_->set_enforcement(enforcement_.get());
    }
    const unsigned ring = off ? std::bit_ceil(cfg_.mbufs + 1) : cfg_.ring_size;
    unsigned lcore = rte_get_main_lcore();
    for (unsigned i = 0; i < cfg_.workers; ++i) {
        auto w = std::make_unique<WorkerContext>();
        w->index = i;
        if (cfg_.topology == Topology::Rss && i == 0) {
            w->lcore = rte_get_main_lcore();
        } else {
            lcore = rte_get_next_lcore(lcore, 1, 0);
            w->lcore = lcore;
        }
        w->pipeline = std::make_unique<Pipeline>(cfg_.engine, i, &eve_->sink(i));
        if (enforcement_) w->pipeline->set_enforcement(&enforcement_->slot(), cfg_.workers);
        if (!off) {  // live: secrets arrive from --keylog-follow or the control plane
            w->feed = std::make_unique<tls::SecretFeed>();
            w->pipeline->attach_secret_feed(*w->feed);
        }
        w->progress = &eve_->progress(i);
        if (correlator_) {
            w->observations = std::make_unique<ObservationQueue>(16384, offline());
            if (cfg_.policy) w->pipeline->set_observation_sink(w->observations.get());
            // Thresholded rules may also arrive with a pushed rule set.
            w->pipeline->set_threshold_sink(w->observations.get());
            correlator_->add_worker(*w->observations, *w->progress);
        }
        w->linear.resize(kLinearBuffer);
        if (cfg_.topology == Topology::Distributor) {
            const std::string in = "sluice_in" + std::to_string(i),
                              out = "sluice_out" + std::to_string(i);
            w->in_ring = rte_ring_create(in.c_str(), ring, static_cast<int>(rte_socket_id()),
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
            w->out_ring = rte_ring_create(out.c_str(), ring, static_cast<int>(rte_socket_id()),
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (w->in_ring == nullptr || w->out_ring == nullptr) {
                error_ = std::string("cannot create worker rings: ") + rte_strerror(rte_errno);
                return false;
            }
        }
        workers_.push_back(std::move(w));
    }
    if (off) reorder_.assign(ring, nullptr);
    return true;
}

// --- worker lcores ---------------------------------------------------------------------------

namespace {

struct WorkerArg {
    Dataplane* dp;
    WorkerContext* w;
};

}  // namespace

int worker_entry(void* arg) {
    auto* a = static_cast<WorkerArg*>(arg);
    return a->dp->worker_loop(*a->w);
}

namespace {

void publish(WorkerContext& w) {
    WorkerStats& s = w.stats.back();
    w.pipeline->snapshot(s.pipeline);
    s.io = w.io;
    w.stats.publish();
}

// Snapshots are at most this old (TSC cycles; 10 ms), busy or idle: an idle worker still
// changes counters (pushed secrets, timeouts).
uint64_t publish_interval() {
    static const uint64_t cycles = rte_get_tsc_hz() / 100;
    return cycles;
}

void publish_due(WorkerContext& w) {
    const uint64_t now = rte_get_tsc_cycles();
    if (now < w.next_publish_tsc) return;
    publish(w);
    w.next_publish_tsc = now + publish_interval();
}

std::span<const uint8_t> frame_of(rte_mbuf* m, WorkerContext& w) {
    if (m->nb_segs == 1) return {rte_pktmbuf_mtod(m, const uint8_t*), m->data_len};
    const uint32_t len = std::min<uint32_t>(m->pkt_len, static_cast<uint32_t>(w.linear.size()));
    const void* p = rte_pktmbuf_read(m, 0, len, w.linear.data());
    return {static_cast<const uint8_t*>(p), len};
}

// Between bursts: a rule set the control plane prepared replaces the worker's (pointer swaps
// only; the old set goes back to the control thread to be freed).
void adopt_pending_rules(WorkerContext& w) {
    RuleSwap* s = w.pending_rules.load(std::memory_order_acquire);
    if (s == nullptr) return;
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<RuleSwap> swap(s);
    w.pipeline->adopt_rules(swap);
    w.retired_rules.store(swap.release(), std::memory_order_release);
    w.pending_rules.store(nullptr, std::memory_order_release);
    const uint64_t ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    if (ns > w.swap_stall_ns.load(std::memory_order_relaxed))
        w.swap_stall_ns.store(ns, std::memory_order_relaxed);
}

}  // namespace

std::string Dataplane::apply_rules(std::shared_ptr<const rules::CompiledRules> rules,
                                   double& wait_ms, uint8_t& generation) {
    // RCU by hand-over: build each worker's matcher here, hand it over, wait until every
    // worker adopted it between bursts (its quiescent point), then free the old sets.
    std::lock_guard lock(rules_mu_);
    const uint8_t gen = static_cast<uint8_t>(rules_generation_ % 255 + 1);
    if (correlator_) {
        auto r = rules;
        if (!correlator_->call([r, gen](account::Correlator& c) { c.set_rules(r, gen); }))
            return "the correlator did not take the rule set";
    }
    for (auto& w : workers_)
        w->pending_rules.store(RuleSwap::build(rules, cfg_.engine.http.body_buffers, gen).release(),
                               std::memory_order_release);
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        bool all = true;
        for (auto& w : workers_) all &= w->pending_rules.load(std::memory_order_acquire) == nullptr;
        if (all) break;
        if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(10)) {
            // Workers not polling (stopped): take back what they did not adopt.
            for (auto& w : workers_) delete w->pending_rules.exchange(nullptr);
            return "workers did not adopt the rule set within 10 s";
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    wait_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    for (auto& w : workers_) delete w->retired_rules.exchange(nullptr);  // the old sets
    rules_generation_ = gen;
    generation = gen;
    {
        std::lock_guard view(rules_view_mu_);
        rules_in_force_ = std::move(rules);
        ++rules_swaps_;
    }
    return "";
}

size_t Dataplane::push_secret(const tls::SecretUpdate& u) {
    std::lock_guard lock(feed_mu_);
    size_t full = 0;
    for (auto& w : workers_)
        if (!w->feed || !w->feed->push(u)) ++full;
    return full;
}

int Dataplane::worker_loop(WorkerContext& w) {
    rte_mbuf* pkts[kMaxBurst];
    const LinkType link = offline() ? capture_.link : LinkType::Ethernet;
    const bool off = offline();
    unsigned empty = 0;
    uint64_t done = 0;
    Timestamp last;
    if (enforcement_) enforcement_->online(w.index);
    for (;;) {
        // Between bursts: no enforcement snapshot is held past this point.
        if (enforcement_) enforcement_->quiescent(w.index);
        adopt_pending_rules(w);
        if (w.feed) w.pipeline->poll_secrets(Timestamp{wall_ns()});
        if (!off) {
            // A timer's frame leaves through emit() like a forwarded packet: its in_port is
            // the peer of the port it is for.
            TimerInjector timers(answer_pool_, [&](uint16_t port, rte_mbuf* m) {
                const int from = ports_[port].peer;
                if (from < 0) return false;
                meta(m) = PacketMeta{0, wall_ns(), {}, static_cast<uint16_t>(from), 0, 0};
                return rte_ring_enqueue(w.out_ring, m) == 0;
            });
            w.pipeline->tick(Timestamp{wall_ns()}, timers);
        }
        const uint64_t published = published_seq_.load(std::memory_order_acquire);
        const unsigned n =
            rte_ring_dequeue_burst(w.in_ring, reinterpret_cast<void**>(pkts), cfg_.burst, nullptr);
        if (n == 0) {
            // Every packet below `published` meant for us has been processed.
            if (published > 0 && published - 1 > done) {
                done = published - 1;
                w.progress->done.store(done, std::memory_order_release);
            }
            if (workers_stop_.load(std::memory_order_acquire) && rte_ring_count(w.in_ring) == 0)
                break;
            if (empty == 0)
                publish(w);
            else
                publish_due(w);
            idle_pause(empty, cfg_);
            continue;
        }
        empty = 0;
        for (unsigned i = 0; i < n; ++i) {
            rte_mbuf* m = pkts[i];
            PacketMeta& pm = meta(m);
            MbufInjector inj(inject_pool_, answer_pool_, pm, off,
                             w.io[static_cast<size_t>(IoCtr::InjectAllocFailed)]);
            last = Timestamp{pm.ts_ns};
            const PacketInput in{frame_of(m, w), link, last, pm.seq, checksum_hint(m), pm.in_port};
            pm.drop = w.pipeline->process(in, inj) == Disposition::Drop;
        }
        const uint64_t last_seq = meta(pkts[n - 1]).seq;
        unsigned sent = 0;
        do {
            sent += rte_ring_enqueue_burst(w.out_ring, reinterpret_cast<void**>(pkts + sent),
                                           n - sent, nullptr);
        } while (sent < n && off);
        for (unsigned i = sent; i < n; ++i) {  // live mode only: the I/O lcore is behind
            ++w.io[static_cast<size_t>(IoCtr::RingFullDrops)];
            rte_pktmbuf_free(pkts[i]);
        }
        if (last_seq > done) {
            done = last_seq;
            w.progress->done.store(done, std::memory_order_release);
        }
        publish_due(w);
    }
    if (enforcement_) enforcement_->offline(w.index);
    w.pipeline->finish(last);
    publish(w);
    w.progress->done.store(EveOrder::kFinalSeq, std::memory_order_release);
    w.finished.store(true, std::memory_order_release);
    return 0;
}

int Dataplane::rss_worker_loop(WorkerContext& w) {
    rte_mbuf* pkts[kMaxBurst];
    rte_mbuf* out[kMaxBurst * 3];
    const uint16_t q = static_cast<uint16_t>(w.index);
    unsigned empty = 0;
    Timestamp last;
    const uint64_t end_tsc =
        cfg_.duration_s > 0 ? rte_get_tsc_cycles() +
                                  static_cast<uint64_t>(cfg_.duration_s * double(rte_get_tsc_hz()))
                            : 0;
    if (enforcement_) enforcement_->online(w.index);
    while (!g_stop.load(std::memory_order_relaxed) &&
           !workers_stop_.load(std::memory_order_relaxed)) {
        if (enforcement_) enforcement_->quiescent(w.index);
        adopt_pending_rules(w);
        if (cfg_.mode == RunMode::Inline) {
            TimerInjector timers(answer_pool_, [&](uint16_t port, rte_mbuf* m) {
                return rte_eth_tx_burst(ports_[port].id, q, &m, 1) == 1;
            });
            w.pipeline->tick(Timestamp{wall_ns()}, timers);
        }
        bool any = false;
        for (size_t pi = 0; pi < ports_.size(); ++pi) {
            const PortRuntime& port = ports_[pi];
            const uint16_t n =
                rte_eth_rx_burst(port.id, q, pkts, static_cast<uint16_t>(cfg_.burst));
            if (n == 0) continue;
            any = true;
            w.io[static_cast<size_t>(IoCtr::RxPackets)] += n;
            const uint64_t now = wall_ns();
            uint16_t fwd = 0, back = 0;
            rte_mbuf* back_pkts[kMaxBurst * 2];
            for (uint16_t i = 0; i < n; ++i) {
                rte_mbuf* m = pkts[i];
                PacketMeta& pm = meta(m);
                pm = PacketMeta{w.seq++, now, {}, static_cast<uint16_t>(pi), 0, 0};
                MbufInjector inj(inject_pool_, answer_pool_, pm, false,
                                 w.io[static_cast<size_t>(IoCtr::InjectAllocFailed)]);
                last = Timestamp{now};
                const PacketInput in{frame_of(m, w), LinkType::Ethernet, last,
                                     pm.seq,         checksum_hint(m),   static_cast<uint16_t>(pi)};
                const bool drop = w.pipeline->process(in, inj) == Disposition::Drop;
                if (!drop && port.peer >= 0)
                    out[fwd++] = m;
                else
                    rte_pktmbuf_free(m);
                for (int s = 0; s < kMaxInjected; ++s) {
                    rte_mbuf* im = pm.inject[s];
                    if (im == nullptr) continue;
                    if ((pm.inject_along >> s) & 1) {
                        if (port.peer >= 0)
                            out[fwd++] = im;
                        else
                            rte_pktmbuf_free(im);
                    } else {
                        back_pkts[back++] = im;
                    }
                    ++w.io[static_cast<size_t>(IoCtr::InjectedTx)];
                }
            }
            if (fwd > 0) {
                const uint16_t peer = ports_[static_cast<size_t>(port.peer)].id;
                const uint16_t sent = rte_eth_tx_burst(peer, q, out, fwd);
                w.io[static_cast<size_t>(IoCtr::TxPackets)] += sent;
                for (uint16_t i = sent; i < fwd; ++i) rte_pktmbuf_free(out[i]);
                w.io[static_cast<size_t>(IoCtr::TxDropped)] += fwd - sent;
            }
            if (back > 0) {
                const uint16_t sent = rte_eth_tx_burst(port.id, q, back_pkts, back);
                for (uint16_t i = sent; i < back; ++i) rte_pktmbuf_free(back_pkts[i]);
            }
        }
        if (!any) {
            if (empty == 0)
                publish(w);
            else
                publish_due(w);
            idle_pause(empty, cfg_);
            if (w.index == 0 && end_tsc != 0 && rte_get_tsc_cycles() > end_tsc) break;
        } else {
            empty = 0;
            publish_due(w);
        }
    }
    workers_stop_.store(true);
    if (enforcement_) enforcement_->offline(w.index);
    w.pipeline->finish(last);
    publish(w);
    w.progress->done.store(EveOrder::kFinalSeq, std::memory_order_release);
    w.finished.store(true, std::memory_order_release);
    return 0;
}

namespace {
int rss_worker_entry(void* arg) {
    auto* a = static_cast<WorkerArg*>(arg);
    return a->dp->rss_worker_loop(*a->w);
}
}  // namespace

// --- I/O lcore (main) ------------------------------------------------------------------------

void Dataplane::distribute(rte_mbuf** pkts, uint16_t n, uint16_t port, uint64_t now_ns) {
    const LinkType link = offline() ? capture_.link : LinkType::Ethernet;
    const size_t nw = workers_.size();
    rte_mbuf* per[64][kMaxBurst];
    unsigned count[64] = {};
    auto linear = [&](rte_mbuf* x) -> std::span<const uint8_t> {
        // Multi-segment packets are linearised so a large frame hashes like its flow.
        if (x->nb_segs == 1) return {rte_pktmbuf_mtod(x, const uint8_t*), x->data_len};
        const uint32_t len =
            std::min<uint32_t>(x->pkt_len, static_cast<uint32_t>(io_linear_.size()));
        return {static_cast<const uint8_t*>(rte_pktmbuf_read(x, 0, len, io_linear_.data())), len};
    };
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        uint64_t ts = now_ns;
        if (ts_flag_ != 0 && (m->ol_flags & ts_flag_))
            ts = *RTE_MBUF_DYNFIELD(m, ts_offset_, uint64_t*) * 1000;  // the pcap PMD stamps us
        last_packet_time_ = Timestamp{ts};
        size_t target = 0;
        if (nw > 1 || frag_tbl_ != nullptr) {
            DecodedPacket d = decode_frame(linear(m), link, cfg_.engine.decode);
            if (frag_tbl_ != nullptr && d.status == DecodeStatus::Fragment) {
                // Reassemble before inspection; a fragment that does not complete a datagram
                // stays in the table and gets no sequence number of its own.
                ++io_[static_cast<size_t>(IoCtr::FragmentsIn)];
                m->l2_len = d.l3_offset;
                rte_mbuf* whole = nullptr;
                if (d.src.version == IpVersion::V4) {
                    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, d.l3_offset);
                    m->l3_len = static_cast<uint16_t>((ip->version_ihl & 0x0f) * 4);
                    whole = rte_ipv4_frag_reassemble_packet(frag_tbl_, death_row_.get(), m,
                                                            ts / 1000, ip);
                } else {
                    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, d.l3_offset);
                    auto* fh = rte_pktmbuf_mtod_offset(m, rte_ipv6_fragment_ext*, d.frag_offset);
                    m->l3_len = static_cast<uint16_t>(d.frag_offset +
                                                      sizeof(rte_ipv6_fragment_ext) - d.l3_offset);
                    whole = rte_ipv6_frag_reassemble_packet(frag_tbl_, death_row_.get(), m,
                                                            ts / 1000, ip, fh);
                }
                rte_ip_frag_free_death_row(death_row_.get(), 0);
                if (whole == nullptr) continue;
                m = whole;
                ++io_[static_cast<size_t>(IoCtr::FragmentsReassembled)];
                d = decode_frame(linear(m), link, cfg_.engine.decode);
            }
            if (nw > 1 && d.status == DecodeStatus::Ok) {
                bool from_lo;
                target = flow_hashes(FlowKey::from_packet(d, from_lo), cfg_.engine.flow_hash_key)
                             .worker %
                         nw;
            }
        }
        meta(m) = PacketMeta{next_seq_++, ts, {}, port, 0, 0};
        per[target][count[target]++] = m;
    }
    for (size_t w = 0; w < nw; ++w) {
        unsigned sent = 0;
        do {
            sent += rte_ring_enqueue_burst(workers_[w]->in_ring,
                                           reinterpret_cast<void**>(per[w] + sent), count[w] - sent,
                                           nullptr);
        } while (sent < count[w] && offline());
        for (unsigned i = sent; i < count[w]; ++i) {
            ++io_[static_cast<size_t>(IoCtr::RingFullDrops)];
            rte_pktmbuf_free(per[w][i]);
        }
    }
    published_seq_.store(next_seq_, std::memory_order_release);
}

void Dataplane::transmit(uint16_t port_index, rte_mbuf* m) {
    auto& buf = tx_buf_[port_index];
    buf.push_back(m);
    if (buf.size() >= cfg_.burst) flush_tx();
}

void Dataplane::flush_tx() {
    for (size_t p = 0; p < tx_buf_.size(); ++p) {
        auto& buf = tx_buf_[p];
        if (buf.empty()) continue;
        const uint16_t sent =
            rte_eth_tx_burst(ports_[p].id, 0, buf.data(), static_cast<uint16_t>(buf.size()));
        io_[static_cast<size_t>(IoCtr::TxPackets)] += sent;
        for (size_t i = sent; i < buf.size(); ++i) rte_pktmbuf_free(buf[i]);
        io_[static_cast<size_t>(IoCtr::TxDropped)] += buf.size() - sent;
        buf.clear();
    }
}

void Dataplane::emit(rte_mbuf* m) {
    PacketMeta& pm = meta(m);
    const int peer = ports_[pm.in_port].peer;
    if (pcap_out_) {
        uint8_t tmp[kLinearBuffer > 65536 ? 65536 : kLinearBuffer];
        auto write = [&](rte_mbuf* x) {
            const uint32_t len = std::min<uint32_t>(x->pkt_len, sizeof tmp);
            const void* p = rte_pktmbuf_read(x, 0, len, tmp);
            pcap_out_->write({static_cast<const uint8_t*>(p), len}, pm.ts_ns);
        };
        if (!pm.drop) write(m);
        for (rte_mbuf* im : pm.inject) {
            if (im == nullptr) continue;
            write(im);
            ++io_[static_cast<size_t>(IoCtr::InjectedTx)];
            rte_pktmbuf_free(im);
        }
        rte_pktmbuf_free(m);
        return;
    }
    for (int s = 0; s < kMaxInjected; ++s) {
        rte_mbuf* im = pm.inject[s];
        if (im == nullptr) continue;
        const int target = ((pm.inject_along >> s) & 1) ? peer : pm.in_port;
        ++io_[static_cast<size_t>(IoCtr::InjectedTx)];
        if (target >= 0 && cfg_.mode == RunMode::Inline)
            transmit(static_cast<uint16_t>(target), im);
        else
            rte_pktmbuf_free(im);
    }
    if (!pm.drop && peer >= 0 && cfg_.mode == RunMode::Inline)
        transmit(static_cast<uint16_t>(peer), m);
    else
        rte_pktmbuf_free(m);
}

void Dataplane::drain_workers() {
    rte_mbuf* pkts[kMaxBurst];
    const uint64_t mask = reorder_.size() - 1;
    for (auto& w : workers_) {
        unsigned n;
        while ((n = rte_ring_dequeue_burst(w->out_ring, reinterpret_cast<void**>(pkts), cfg_.burst,
                                           nullptr)) > 0) {
            for (unsigned i = 0; i < n; ++i) {
                if (!offline()) {
                    emit(pkts[i]);
                    continue;
                }
                reorder_[meta(pkts[i]).seq & mask] = pkts[i];
            }
        }
    }
    if (!offline()) return;
    // Release packets in arrival order: --pcap-out must equal the input for pass traffic.
    while (reorder_[reorder_next_ & mask] != nullptr &&
           meta(reorder_[reorder_next_ & mask]).seq == reorder_next_) {
        rte_mbuf* m = reorder_[reorder_next_ & mask];
        reorder_[reorder_next_ & mask] = nullptr;
        emit(m);
        ++reorder_next_;
    }
}

void Dataplane::io_loop() {
    rte_mbuf* pkts[kMaxBurst];
    unsigned empty = 0;
    uint64_t next_publish = 0;
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t end_tsc =
        cfg_.duration_s > 0 ? start_tsc_ + static_cast<uint64_t>(cfg_.duration_s * double(hz)) : 0;
    const bool off = offline();
    uint64_t next_stats =
        (cfg_.stats_interval_s && !off) ? start_tsc_ + cfg_.stats_interval_s * hz : 0;
    while (!g_stop.load(std::memory_order_relaxed)) {
        bool any = false;
        if (g_reopen.exchange(false)) eve_->request_reopen();
        const bool rx_done = off && rx_count_ == capture_.packets;
        if (!rx_done) {
            for (size_t pi = 0; pi < ports_.size(); ++pi) {
                uint16_t want = static_cast<uint16_t>(cfg_.burst);
                if (off) {
                    // Never let the pcap PMD read a packet it has no mbuf for; never read
                    // past the packets the pre-scan counted.
                    const unsigned avail = rte_mempool_avail_count(pool_);
                    const uint64_t left = capture_.packets - rx_count_;
                    if (avail < 2 * kMaxBurst) break;
                    if (left < want) want = static_cast<uint16_t>(left);
                }
                const uint16_t n = rte_eth_rx_burst(ports_[pi].id, 0, pkts, want);
                if (n == 0) continue;
                any = true;
                io_[static_cast<size_t>(IoCtr::RxPackets)] += n;
                rx_count_ += n;
                distribute(pkts, n, static_cast<uint16_t>(pi), off ? 0 : wall_ns());
            }
        }
        drain_workers();
        flush_tx();
        if (off && rx_done && reorder_next_ == next_seq_) break;
        if (end_tsc != 0 && rte_get_tsc_cycles() > end_tsc) break;
        if (next_stats != 0 && rte_get_tsc_cycles() > next_stats) {
            emit_stats_record();
            next_stats += cfg_.stats_interval_s * hz;
        }
        // When it goes idle, and at least every 10 ms.
        if ((!any && empty == 0) || rte_get_tsc_cycles() >= next_publish) {
            publish_io();
            next_publish = rte_get_tsc_cycles() + publish_interval();
        }
        if (any)
            empty = 0;
        else
            idle_pause(empty, cfg_);
    }
}

void Dataplane::finish_workers() {
    workers_stop_.store(true, std::memory_order_release);
    // Keep draining so no worker blocks on a full output ring while it finishes.
    for (;;) {
        bool all = true;
        for (auto& w : workers_) all = all && w->finished.load(std::memory_order_acquire);
        drain_workers();
        flush_tx();
        if (all) break;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    rte_eal_mp_wait_lcore();
    drain_workers();
    flush_tx();
}

int Dataplane::run() {
    std::vector<WorkerArg> args(workers_.size());
    start_tsc_ = rte_get_tsc_cycles();
    if (!cfg_.keylog_follow.empty()) follower_ = std::thread([this] { follow_keylog(); });
    if (fleet_) fleet_->start();
    if (correlator_) correlator_->start();
    for (size_t i = 0; i < workers_.size(); ++i) {
        args[i] = WorkerArg{this, workers_[i].get()};
        if (cfg_.topology == Topology::Rss && i == 0) continue;
        const auto fn = cfg_.topology == Topology::Rss ? rss_worker_entry : worker_entry;
        if (rte_eal_remote_launch(fn, &args[i], workers_[i]->lcore) != 0) {
            error_ = "cannot launch worker on lcore " + std::to_string(workers_[i]->lcore);
            request_stop();
            rte_eal_mp_wait_lcore();
            return 1;
        }
    }
    if (cfg_.topology == Topology::Rss) {
        rss_worker_loop(*workers_[0]);
        rte_eal_mp_wait_lcore();
    } else {
        io_loop();
        finish_workers();
    }
    publish_io();
    end_tsc_ = rte_get_tsc_cycles();
    if (control_) control_->stop();
    if (metrics_) metrics_->stop();
    if (correlator_) {
        correlator_->finish();
        if (fleet_) fleet_->stop();
        if (!cfg_.accounts_out.empty()) {
            std::ofstream out(cfg_.accounts_out);
            correlator_->write_accounts(out);
            if (!out) error_ = cfg_.accounts_out + ": cannot write the account report";
        }
    }
    follower_stop_.store(true);
    if (follower_.joinable()) follower_.join();
    emit_stats_record();
    eve_->progress(cfg_.workers).done.store(EveOrder::kFinalSeq);
    eve_->stop();
    if (eve_redis_) eve_redis_->stop();  // after the writer: it pushes what the writer wrote
    if (offline() && (rx_count_ != capture_.packets || reorder_next_ != next_seq_) &&
        !g_stop.load()) {
        error_ = "offline run ended after " + std::to_string(rx_count_) + " of " +
                 std::to_string(capture_.packets) + " packets";
        return 1;
    }
    return 0;
}

// --- key log follower --------------------------------------------------------------------------

void Dataplane::follow_keylog() {
    // Like `tail -F`: reads lines as a terminator appends them, starts over when the file is
    // replaced or truncated. Lines are parsed here and pushed to every worker; the buffer
    // that held them is wiped.
    std::FILE* f = nullptr;
    ino_t inode = 0;
    std::string line;
    char buf[4096];
    while (!follower_stop_.load(std::memory_order_relaxed)) {
        struct stat st {};
        if (::stat(cfg_.keylog_follow.c_str(), &st) == 0 &&
            (f == nullptr || st.st_ino != inode || st.st_size < std::ftell(f))) {
            if (f != nullptr) std::fclose(f);
            f = std::fopen(cfg_.keylog_follow.c_str(), "r");
            inode = st.st_ino;
            line.clear();
        }
        bool any = false;
        while (f != nullptr && std::fgets(buf, sizeof buf, f) != nullptr) {
            any = true;
            line += buf;
            OPENSSL_cleanse(buf, sizeof buf);
            if (line.empty() || line.back() != '\n') continue;  // partial line: wait for the rest
            tls::SecretUpdate u;
            if (tls::SecretStore::parse_line(line, u) == tls::SecretStore::LineResult::Added) {
                secrets_followed_.fetch_add(1, std::memory_order_relaxed);
                std::lock_guard lock(feed_mu_);
                for (auto& w : workers_)
                    if (!w->feed->push(u))
                        secrets_feed_full_.fetch_add(1, std::memory_order_relaxed);
            }
            OPENSSL_cleanse(&u, sizeof u);
            OPENSSL_cleanse(line.data(), line.size());
            line.clear();
        }
        if (f != nullptr) std::clearerr(f);
        if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (f != nullptr) std::fclose(f);
}

// --- reporting -------------------------------------------------------------------------------

WorkerCounters Dataplane::total_counters() const {
    WorkerCounters t;
    for (const auto& w : workers_) t.add(w->stats.read().pipeline.engine);
    return t;
}

void Dataplane::publish_io() {
    IoStats& s = io_stats_.back();
    s.io = io_;
    s.pcap_written = pcap_out_ ? pcap_out_->written() : 0;
    io_stats_.publish();
}

namespace {

nlohmann::json counters_json(const WorkerCounters& c, const ReassemblyCounters& r) {
    nlohmann::json j;
    for (size_t i = 0; i < c.v.size(); ++i)
        j[std::string(counter_name(static_cast<Ctr>(i)))] = c.v[i];
    nlohmann::json m = nlohmann::json::object();
    for (size_t i = 1; i < c.malformed.size(); ++i)
        if (c.malformed[i] != 0)
            m[std::string(decode_error_name(static_cast<DecodeError>(i)))] = c.malformed[i];
    j["malformed_by_reason"] = m;
    nlohmann::json n = nlohmann::json::object();
    for (size_t i = 1; i < c.normalized.size(); ++i)
        if (c.normalized[i] != 0)
            n[std::string(norm_reason_name(static_cast<NormReason>(i)))] = c.normalized[i];
    j["normalized_by_reason"] = n;
    // Stopped requests answered, and those reset instead, by why (answer/answer_sender.h).
    nlohmann::json fb = nlohmann::json::object();
    for (size_t i = 0; i < c.answer_fallback.size(); ++i)
        fb[std::string(answer_fallback_name(static_cast<AnswerFallback>(i)))] =
            c.answer_fallback[i];
    j["answers"] = {{"forbidden", c[Ctr::AnswersForbidden]},
                    {"rate_limited", c[Ctr::AnswersRateLimited]},
                    {"segments", c[Ctr::AnswerSegments]},
                    {"retransmits", c[Ctr::AnswerRetransmits]},
                    {"delivered", c[Ctr::AnswersDelivered]},
                    {"abandoned", c[Ctr::AnswersAbandoned]},
                    {"frames_lost", c[Ctr::AnswerFramesLost]},
                    {"reclaimed", c[Ctr::AnswersReclaimed]},
                    {"reset_instead", fb}};
    j["reassembly"] = {{"segments", r.segments},
                       {"in_order", r.in_order},
                       {"out_of_order", r.out_of_order},
                       {"retransmitted", r.retransmitted},
                       {"overlaps", r.overlaps},
                       {"gaps", r.gaps},
                       {"gap_bytes", r.gap_bytes},
                       {"pool_exhausted", r.pool_exhausted},
                       {"flow_cap_reached", r.flow_cap_reached},
                       {"retained_bytes", r.retained_bytes},
                       {"retain_skipped", r.retain_skipped}};
    return j;
}

__attribute__((format(printf, 2, 3))) void appendf(std::string& s, const char* fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s += line;
}

constexpr const char* kIoNames[] = {
    "rx_packets",  "tx_packets",          "tx_dropped",   "ring_full_drops",
    "injected_tx", "inject_alloc_failed", "fragments_in", "fragments_reassembled"};
static_assert(std::size(kIoNames) == static_cast<size_t>(IoCtr::Count), "a name per I/O counter");

}  // namespace

std::string Dataplane::summary_json() const {
    return summary().dump(2);
}

nlohmann::json Dataplane::summary() const {
    nlohmann::json j;
    WorkerCounters total;
    ReassemblyCounters rt;
    tls::TlsCounters tt;
    nlohmann::json lcores = nlohmann::json::array();
    nlohmann::json io;
    // Only what the I/O lcore and the workers published: their live state is theirs alone.
    const IoStats io_now = io_stats_.read();
    std::vector<WorkerStats> snaps;
    snaps.reserve(workers_.size());
    for (const auto& w : workers_) snaps.push_back(w->stats.read());
    for (size_t i = 0; i < io_now.io.size(); ++i) io[kIoNames[i]] = io_now.io[i];
    if (cfg_.topology == Topology::Distributor)
        lcores.push_back({{"lcore", rte_get_main_lcore()}, {"role", "io"}, {"counters", io}});
    for (size_t wi = 0; wi < workers_.size(); ++wi) {
        const auto& w = workers_[wi];
        const WorkerStats& ws = snaps[wi];
        const WorkerCounters& c = ws.pipeline.engine;
        const ReassemblyCounters& r = ws.pipeline.reassembly;
        total.add(c);
        const tls::TlsCounters& tc = ws.pipeline.tls;
        tt.sessions += tc.sessions, tt.client_hellos += tc.client_hellos,
            tt.server_hellos += tc.server_hellos;
        tt.malformed += tc.malformed, tt.gaps += tc.gaps, tt.logged += tc.logged;
        tt.buffers_exhausted += tc.buffers_exhausted, tt.oversized_hello += tc.oversized_hello;
        tt.buffers_reclaimed += tc.buffers_reclaimed;
        tt.decrypt_sessions += tc.decrypt_sessions, tt.decrypt_no_secret += tc.decrypt_no_secret;
        tt.decrypt_no_capacity += tc.decrypt_no_capacity;
        tt.decrypt_reclaimed += tc.decrypt_reclaimed;
        tt.secrets_on_arrival += tc.secrets_on_arrival;
        tt.held_segments += tc.held_segments, tt.held_sessions += tc.held_sessions;
        tt.secret_wait_timeouts += tc.secret_wait_timeouts;
        tt.decrypt_failures += tc.decrypt_failures, tt.decrypted_records += tc.decrypted_records;
        tt.decrypted_bytes += tc.decrypted_bytes;
        tt.late_secrets += tc.late_secrets, tt.secret_timeouts += tc.secret_timeouts;
        tt.sessions_closed += tc.sessions_closed;
        tt.secrets_pushed += tc.secrets_pushed;
        rt.segments += r.segments, rt.in_order += r.in_order, rt.out_of_order += r.out_of_order;
        rt.retransmitted += r.retransmitted, rt.overlaps += r.overlaps, rt.gaps += r.gaps;
        rt.gap_bytes += r.gap_bytes, rt.pool_exhausted += r.pool_exhausted,
            rt.flow_cap_reached += r.flow_cap_reached;
        rt.retained_bytes += r.retained_bytes, rt.retain_skipped += r.retain_skipped;
        nlohmann::json wio;
        for (size_t i = 0; i < ws.io.size(); ++i) wio[kIoNames[i]] = ws.io[i];
        lcores.push_back({{"lcore", w->lcore},
                          {"role", "worker"},
                          {"worker", w->index},
                          {"packets", c[Ctr::Packets]},
                          {"flows_created", c[Ctr::FlowsCreated]},
                          {"counters", wio}});
    }
    j["mode"] = offline() ? "offline" : cfg_.mode == RunMode::Inline ? "inline" : "monitor";
    if (offline()) {
        j["input"] = {{"file", cfg_.pcap_in},
                      {"packets", capture_.packets},
                      {"bytes", capture_.bytes},
                      {"link_type", std::string(link_type_name(capture_.link))}};
    }
    j["workers"] = workers_.size();
    j["normalize"] = {{"checksums", std::string(checksum_mode_name(cfg_.checksums))},
                      {"checksums_verified", cfg_.engine.normalize.verify_checksums},
                      {"drop", cfg_.engine.normalize.drop},
                      {"ttl_delta", cfg_.engine.normalize.ttl_delta},
                      {"tso_lengths", cfg_.engine.decode.tso_lengths}};
    if (offline())
        j["normalize"]["checksum_sample"] = {{"packets", capture_.checksum_sampled},
                                             {"bad", capture_.checksum_bad}};
    j["engine"] = counters_json(total, rt);
    j["engine"]["tls"] = {{"sessions", tt.sessions},
                          {"client_hellos", tt.client_hellos},
                          {"server_hellos", tt.server_hellos},
                          {"logged", tt.logged},
                          {"malformed", tt.malformed},
                          {"gaps", tt.gaps},
                          {"handshake_buffers_exhausted", tt.buffers_exhausted},
                          {"handshake_buffers_reclaimed", tt.buffers_reclaimed},
                          {"oversized_hello", tt.oversized_hello},
                          {"decrypt_sessions", tt.decrypt_sessions},
                          {"decrypt_no_secret", tt.decrypt_no_secret},
                          {"decrypt_no_capacity", tt.decrypt_no_capacity},
                          {"decrypt_reclaimed", tt.decrypt_reclaimed},
                          {"decrypt_failures", tt.decrypt_failures},
                          {"decrypted_records", tt.decrypted_records},
                          {"decrypted_bytes", tt.decrypted_bytes},
                          {"late_secrets", tt.late_secrets},
                          {"sessions_closed", tt.sessions_closed},
                          {"secrets_on_arrival", tt.secrets_on_arrival},
                          {"held_sessions", tt.held_sessions},
                          {"held_segments", tt.held_segments},
                          {"secret_wait_timeouts", tt.secret_wait_timeouts},
                          {"secret_timeouts", tt.secret_timeouts},
                          {"secrets_pushed", tt.secrets_pushed},
                          {"secrets_followed", secrets_followed_.load()},
                          {"secret_feed_full", secrets_feed_full_.load()}};
    // HTTP stage and rule counters, summed over workers.
    nlohmann::json http = nlohmann::json::object(), rules_j = nlohmann::json::object();
    auto add = [](nlohmann::json& into, const char* k, uint64_t v) {
        into[k] = (into.contains(k) ? into[k].get<uint64_t>() : 0) + v;
    };
    for (const WorkerStats& ws : snaps) {
        const http::HttpCounters& h = ws.pipeline.http;
        add(http, "sessions", h.sessions);
        add(http, "sessions_exhausted", h.sessions_exhausted);
        add(http, "requests", h.requests);
        add(http, "responses", h.responses);
        add(http, "transactions", h.transactions);
        add(http, "unanswered", h.unanswered);
        add(http, "http2", h.http2);
        add(http, "tunnels", h.tunnels);
        add(http, "h2c_upgrades", h.h2c_upgrades);
        add(http, "parse_stopped", h.parse_stopped);
        add(http, "parse_recovered", h.parse_recovered);
        add(http, "smuggling", h.smuggling);
        add(http, "header_buffers_exhausted", h.header_buffers_exhausted);
        add(http, "body_buffers_exhausted", h.body_buffers_exhausted);
        add(http, "bodies_over_cap", h.bodies_over_cap);
        add(http, "body_gaps", h.body_gaps);
        add(http, "decoders_exhausted", h.decoders_exhausted);
        add(http, "buffers_reclaimed", h.buffers_reclaimed);
        add(http, "decompression_capped", h.decompression_capped);
        add(http, "llm_requests", h.llm_requests);
        add(http, "llm_truncated", h.llm_truncated);
        add(http, "usage_reports", h.usage_reports);
        add(http, "pipeline_overflow", h.pipeline_overflow);
        add(http, "enforced_block", h.enforced_block);
        add(http, "enforced_rate_limit", h.enforced_rate_limit);
        add(http, "rate_limit_admitted", h.rate_limit_admitted);
        if (!http.contains("anomalies")) http["anomalies"] = nlohmann::json::object();
        for (size_t a = 0; a < http::kAnomalyCount; ++a)
            if (h.anomalies[a])
                add(http["anomalies"],
                    std::string(http::anomaly_name(static_cast<http::Anomaly>(a))).c_str(),
                    h.anomalies[a]);
        const RuleCounters& rc = ws.pipeline.rules;
        const rules::MatcherCounters& mc = ws.pipeline.matcher;
        add(rules_j, "inspections", rc.inspections);
        add(rules_j, "alerts", rc.alerts);
        add(rules_j, "drops", rc.drops);
        add(rules_j, "rejects", rc.rejects);
        add(rules_j, "passes", rc.passes);
        add(rules_j, "threshold_hits", rc.threshold_hits);
        add(rules_j, "threshold_unevaluated", rc.threshold_unevaluated);
        add(rules_j, "flowbits_set", rc.flowbits_set);
        add(rules_j, "flowbits_full", rc.flowbits_full);
        add(rules_j, "flowbits_unmet", rc.flowbits_unmet);
        add(rules_j, "flowints_full", rc.flowints_full);
        add(rules_j, "flowints_unmet", rc.flowints_unmet);
        for (size_t c = 0; c < rules::kClassSlots; ++c)
            if (rc.alerts_by_class[c] != 0)
                add(rules_j["alerts_by_class"], std::string(rules::class_slot_name(c)).c_str(),
                    rc.alerts_by_class[c]);
        add(rules_j, "candidates", mc.candidates);
        add(rules_j, "budget_exhausted", mc.budget_exhausted);
        add(rules_j, "scan_errors", mc.scan_errors);
    }
    j["engine"]["http"] = http;
    http2::Http2Counters h2;
    for (const WorkerStats& ws : snaps) h2.add(ws.pipeline.http2);
    nlohmann::json h2j = nlohmann::json::object(), h2a = nlohmann::json::object();
    for (size_t i = 0; i < http2::kH2Counters; ++i)
        h2j[std::string(http2::h2_counter_name(static_cast<http2::H2Ctr>(i)))] = h2.v[i];
    for (size_t i = 0; i < http2::kH2Anomalies; ++i)
        if (h2.anomalies[i])
            h2a[std::string(http2::h2_anomaly_name(static_cast<http2::H2Anomaly>(i)))] =
                h2.anomalies[i];
    h2j["anomalies"] = h2a;
    j["engine"]["http2"] = h2j;
    quic::QuicCounters qc;
    for (const WorkerStats& ws : snaps) qc.add(ws.pipeline.quic);
    nlohmann::json qj = nlohmann::json::object();
    for (size_t i = 0; i < quic::kQuicCounters; ++i)
        qj[std::string(quic::quic_counter_name(static_cast<quic::QuicCtr>(i)))] = qc.v[i];
    qj["action"] = cfg_.engine.quic.action == quic::QuicAction::Block ? "block" : "pass";
    j["engine"]["quic"] = qj;
    std::shared_ptr<const rules::CompiledRules> rules_now;
    uint64_t swaps = 0, stall_ns = 0;
    {
        std::lock_guard view(rules_view_mu_);
        rules_now = rules_in_force_;
        swaps = rules_swaps_;
    }
    for (const auto& w : workers_)
        stall_ns = std::max(stall_ns, w->swap_stall_ns.load(std::memory_order_relaxed));
    rules_j["swaps"] = swaps;
    if (swaps > 0) rules_j["swap_stall_us_max"] = double(stall_ns) / 1000.0;
    if (rules_now) {
        const auto& set = rules_now->set();
        rules_j["loaded"] = set.rules.size();
        rules_j["skipped"] = set.skipped.size();
        if (!set.skipped.empty()) {
            const auto sum = rules::summarize_skipped(set.skipped);
            nlohmann::json by = nlohmann::json::object();
            for (const auto& [what, n] : sum.unsupported) by[what] = n;
            rules_j["skipped_unsupported"] = by;
            rules_j["skipped_malformed"] = sum.malformed;
        }
        rules_j["files"] = set.files;
        rules_j["sha256"] = set.digest;
    } else {
        rules_j["loaded"] = 0;
        rules_j["skipped"] = 0;
    }
    if (correlator_) {
        rules_j["threshold_alerts"] = correlator_->counters().threshold_alerts;
        rules_j["threshold_enforced"] = correlator_->counters().threshold_enforced;
    }
    j["engine"]["rules"] = rules_j;
    j["engine"]["accounts"] = {{"default_secret", cfg_.engine.accounts.secret.empty()}};
    if (correlator_) {
        const auto c = correlator_->counters();
        uint64_t dropped = 0;
        for (const auto& w : workers_)
            if (w->observations) dropped += w->observations->dropped();
        j["engine"]["accounts"]["observations"] = c.observations;
        j["engine"]["accounts"]["accounts"] = c.accounts;
        j["engine"]["accounts"]["flagged"] = c.flagged;
        j["engine"]["accounts"]["records"] = c.records;
        j["engine"]["accounts"]["observations_dropped"] = dropped;
        j["engine"]["accounts"]["active"] = c.active;
        j["engine"]["accounts"]["clusters"] = c.clusters;
        j["engine"]["accounts"]["links"] = c.links;
        j["engine"]["accounts"]["memory_bytes"] = correlator_->memory_bytes();
        j["engine"]["accounts"]["capacity"] = {
            {"accounts", c.capacity},   {"tracked", c.tracked}, {"evicted", c.evicted},
            {"evictions", c.evictions}, {"folded", c.folded},   {"keys_trimmed", c.keys_trimmed}};
        nlohmann::json en = {{"mode", enforcement_ ? "enforcing" : "report-only"}};
        if (enforcement_) {
            const EnforcementDelay d = enforcement_->delay();
            en["snapshots"] = c.publishes;
            en["entries"] = c.enforced;
            en["delay_us"] = {
                {"measured", d.snapshots}, {"p50", d.p50_us}, {"p99", d.p99_us}, {"max", d.max_us}};
        }
        j["engine"]["accounts"]["enforcement"] = en;
    }
    if (fleet_) {
        const fleet::FleetStats fs = fleet_->stats();
        nlohmann::json f = {{"edge", cfg_.fleet.edge},
                            {"connected", fs.connected},
                            {"masters", fs.masters},
                            {"lag_ms", fs.lag_ms},
                            {"mode", fs.standalone ? "standalone" : "cluster"}};
        for (size_t i = 0; i < fs.v.size(); ++i)
            f[std::string(fleet::fleet_counter_name(static_cast<fleet::FleetCtr>(i)))] = fs.v[i];
        j["engine"]["fleet"] = f;
    }
    j["lcores"] = lcores;
    // While running: the time so far.
    const uint64_t t0 = start_tsc_.load(), t1 = end_tsc_.load();
    const uint64_t until = t1 != 0 ? t1 : t0 != 0 ? rte_get_tsc_cycles() : 0;
    const double secs = until > t0 ? double(until - t0) / double(rte_get_tsc_hz()) : 0;
    j["elapsed_s"] = secs;
    j["mpps"] = secs > 0 ? double(total[Ctr::Packets]) / secs / 1e6 : 0.0;
    j["eve"] = {{"written", eve_ ? eve_->written() : 0}, {"dropped", eve_ ? eve_->dropped() : 0}};
    if (eve_redis_) {
        const fleet::EveRedisStats r = eve_redis_->stats();
        j["eve"]["redis"] = {{"queued", r.queued},
                             {"dropped", r.dropped},
                             {"pushed", r.pushed},
                             {"failed", r.failed},
                             {"connected", r.connected}};
    }
    if (pcap_out_) j["pcap_out"] = {{"file", cfg_.pcap_out}, {"packets", io_now.pcap_written}};
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& p : ports_) {
        rte_eth_stats s{};
        rte_eth_stats_get(p.id, &s);
        ports.push_back({{"name", p.name},
                         {"ipackets", s.ipackets},
                         {"opackets", s.opackets},
                         {"imissed", s.imissed},
                         {"ierrors", s.ierrors},
                         {"oerrors", s.oerrors},
                         {"rx_nombuf", s.rx_nombuf}});
    }
    j["ports"] = ports;
    return j;
}

std::string Dataplane::summary_text() const {
    const auto j = summary();
    const auto& e = j["engine"];
    std::string s;
    if (offline())
        appendf(s, "sluice-dataplane offline: %s (%llu packets, link %s)\n", cfg_.pcap_in.c_str(),
                (unsigned long long)capture_.packets,
                std::string(link_type_name(capture_.link)).c_str());
    auto u = [&](const char* k) { return (unsigned long long)e[k].get<uint64_t>(); };
    appendf(s, "  packets %llu  bytes %llu  in %.3f s (%.3f Mpps), %zu worker(s)\n", u("packets"),
            u("bytes"), j["elapsed_s"].get<double>(), j["mpps"].get<double>(), workers_.size());
    appendf(s, "  ipv4 %llu  ipv6 %llu  tcp %llu  udp %llu  other-ip %llu  not-ip %llu\n",
            u("ipv4"), u("ipv6"), u("tcp"), u("udp"), u("other_ip"), u("not_ip"));
    appendf(s, "  flows: created %llu, ended %llu (timed out %llu, evicted %llu)\n",
            u("flows_created"), u("flows_ended"), u("flows_timed_out"), u("flows_evicted"));
    appendf(s,
            "  forwarded %llu  dropped: verdict %llu, malformed %llu, fragment %llu  rst injected "
            "%llu\n",
            u("forwarded"), u("dropped_verdict"), u("dropped_malformed"), u("dropped_fragment"),
            u("rst_injected"));
    if (!e["malformed_by_reason"].empty()) {
        s += "  malformed by reason:";
        for (auto& [k, v] : e["malformed_by_reason"].items())
            appendf(s, " %s=%llu", k.c_str(), (unsigned long long)v.get<uint64_t>());
        s += "\n";
    }
    const auto& r = e["reassembly"];
    auto ru = [&](const char* k) { return (unsigned long long)r[k].get<uint64_t>(); };
    appendf(s,
            "  reassembly: segments %llu, in-order %llu, out-of-order %llu, retransmitted %llu, "
            "overlaps %llu, gaps %llu (%llu bytes)\n",
            ru("segments"), ru("in_order"), ru("out_of_order"), ru("retransmitted"), ru("overlaps"),
            ru("gaps"), ru("gap_bytes"));
    const auto& tls = e["tls"];
    auto tu = [&](const char* k) { return (unsigned long long)tls[k].get<uint64_t>(); };
    appendf(s,
            "  tls: sessions %llu, client hellos %llu, decrypted sessions %llu (%llu records, %llu "
            "bytes), no secret %llu, failures %llu\n",
            tu("sessions"), tu("client_hellos"), tu("decrypt_sessions"), tu("decrypted_records"),
            tu("decrypted_bytes"), tu("decrypt_no_secret"), tu("decrypt_failures"));
    const auto& hj = e["http"];
    auto hu = [&](const char* k) {
        return (unsigned long long)(hj.contains(k) ? hj[k].get<uint64_t>() : 0);
    };
    appendf(
        s,
        "  http: transactions %llu (http/1 requests %llu, responses %llu), llm requests %llu, "
        "usage reports %llu, http2 unparsed %llu, anomalies %llu (smuggling %llu), bodies over "
        "cap %llu\n",
        hu("transactions"), hu("requests"), hu("responses"), hu("llm_requests"),
        hu("usage_reports"), hu("http2"),
        [&] {
            unsigned long long n = 0;
            if (hj.contains("anomalies"))
                for (auto& [k, v] : hj["anomalies"].items()) n += v.get<uint64_t>();
            return n;
        }(),
        hu("smuggling"), hu("bodies_over_cap"));
    const auto& h2 = e["http2"];
    auto h2u = [&](const char* k) {
        return (unsigned long long)(h2.contains(k) ? h2[k].get<uint64_t>() : 0);
    };
    appendf(s,
            "  http2: connections %llu (midstream %llu), streams %llu (untracked %llu, reset "
            "%llu), hpack errors %llu, parse stopped %llu, anomalies %llu\n",
            h2u("connections"), h2u("midstream"), h2u("streams"), h2u("streams_untracked"),
            h2u("streams_reset"), h2u("hpack_errors"), h2u("parse_stopped"), [&] {
                unsigned long long n = 0;
                if (h2.contains("anomalies"))
                    for (auto& [k, v] : h2["anomalies"].items()) n += v.get<uint64_t>();
                return n;
            }());
    const auto& qj = e["quic"];
    auto qu = [&](const char* k) {
        return (unsigned long long)(qj.contains(k) && qj[k].is_number() ? qj[k].get<uint64_t>()
                                                                        : 0);
    };
    appendf(s,
            "  quic (%s): connections %llu, hellos %llu, retries %llu, decrypt failures %llu, "
            "blocked %llu, other versions %llu\n",
            qj.contains("action") ? qj["action"].get<std::string>().c_str() : "pass",
            qu("connections"), qu("hellos"), qu("retries"), qu("decrypt_failures"), qu("blocked"),
            qu("other_versions"));
    const auto& rj = e["rules"];
    auto rget = [&](const char* k) {
        return (unsigned long long)(rj.contains(k) ? rj[k].get<uint64_t>() : 0);
    };
    if (e["accounts"].contains("accounts"))
        appendf(s, "  accounts: %llu seen, %llu flagged by the policy, %llu account records\n",
                (unsigned long long)e["accounts"]["accounts"].get<uint64_t>(),
                (unsigned long long)e["accounts"]["flagged"].get<uint64_t>(),
                (unsigned long long)e["accounts"]["records"].get<uint64_t>());
    if (e["accounts"]["default_secret"].get<bool>())
        s += "  accounts: no accounts.secret_file set: account ids use the public default key\n";
    appendf(s,
            "  rules: %llu loaded, %llu skipped, alerts %llu (drop %llu, reject %llu), pass %llu\n",
            rget("loaded"), rget("skipped"), rget("alerts"), rget("drops"), rget("rejects"),
            rget("passes"));
    appendf(s, "  eve: %llu records written, %llu dropped\n",
            (unsigned long long)j["eve"]["written"].get<uint64_t>(),
            (unsigned long long)j["eve"]["dropped"].get<uint64_t>());
    if (j.contains("pcap_out"))
        appendf(s, "  pcap-out: %llu frames written to %s\n",
                (unsigned long long)j["pcap_out"]["packets"].get<uint64_t>(),
                cfg_.pcap_out.c_str());
    for (const auto& l : j["lcores"]) {
        if (l["role"] == "io")
            appendf(s, "  lcore %u (io): rx %llu, tx %llu, tx dropped %llu\n",
                    l["lcore"].get<unsigned>(),
                    (unsigned long long)l["counters"]["rx_packets"].get<uint64_t>(),
                    (unsigned long long)l["counters"]["tx_packets"].get<uint64_t>(),
                    (unsigned long long)l["counters"]["tx_dropped"].get<uint64_t>());
        else
            appendf(s, "  lcore %u (worker %u): packets %llu, flows %llu\n",
                    l["lcore"].get<unsigned>(), l["worker"].get<unsigned>(),
                    (unsigned long long)l["packets"].get<uint64_t>(),
                    (unsigned long long)l["flows_created"].get<uint64_t>());
    }
    return s;
}

void Dataplane::emit_stats_record() {
    const WorkerCounters c = total_counters();
    const Timestamp now = offline() ? last_packet_time_ : Timestamp{wall_ns()};
    char ts[40];
    format_eve_time(now, ts);
    nlohmann::ordered_json j;
    j["timestamp"] = ts;
    j["event_type"] = "stats";
    const double up = double(rte_get_tsc_cycles() - start_tsc_) / double(rte_get_tsc_hz());
    nlohmann::ordered_json st;
    st["uptime"] = offline() ? 0 : static_cast<uint64_t>(up);
    st["decoder"] = {{"pkts", c[Ctr::Packets]},      {"bytes", c[Ctr::Bytes]},
                     {"ipv4", c[Ctr::Ipv4]},         {"ipv6", c[Ctr::Ipv6]},
                     {"tcp", c[Ctr::Tcp]},           {"udp", c[Ctr::Udp]},
                     {"invalid", c[Ctr::Malformed]}, {"fragments", c[Ctr::Fragments]}};
    st["flow"] = {{"total", c[Ctr::FlowsCreated]},
                  {"ended", c[Ctr::FlowsEnded]},
                  {"timed_out", c[Ctr::FlowsTimedOut]},
                  {"evicted", c[Ctr::FlowsEvicted]}};
    st["sluice"] = {{"forwarded", c[Ctr::Forwarded]},
                    {"dropped_verdict", c[Ctr::DroppedVerdict]},
                    {"dropped_malformed", c[Ctr::DroppedMalformed]},
                    {"dropped_fragment", c[Ctr::DroppedFragment]},
                    {"rst_injected", c[Ctr::RstInjected]},
                    {"answers_forbidden", c[Ctr::AnswersForbidden]},
                    {"answers_rate_limited", c[Ctr::AnswersRateLimited]},
                    {"eve_dropped", c[Ctr::EveDropped]}};
    j["stats"] = st;
    eve_->sink(cfg_.workers)
        .emit(EveOrder{EveOrder::kFinalSeq, static_cast<uint32_t>(cfg_.workers), stats_index_++},
              j.dump());
}

}  // namespace sluice
