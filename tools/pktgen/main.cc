// sluice-pktgen: a DPDK packet generator for capacity tests. Replays a capture into a port at a
// target rate or flat out; each loop rewrites both addresses of every IPv4 packet (second
// octet + loop, ports too after 256 loops; checksums fixed) so every loop is new flows, not
// retransmissions; receives what the device under test sends back on another (or the same)
// port; reports offered and received rates, loss, and latency measured by matching headers of
// sampled packets (payloads untouched). --search runs an RFC 2544-style zero-loss search.
#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "craft/frame_builder.h"
#include "zero_loss.h"

using namespace sluice;
using namespace sluice::pktgen;

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

constexpr uint16_t kBurst = 32;
constexpr size_t kLatencySlots = 1 << 16;
constexpr uint32_t kSampleEvery = 16;

struct Frame {
    std::vector<uint8_t> bytes;
    size_t l3 = 0;  // offset of the IPv4 header, 0 if none
};

bool load_pcap(const std::string& path, std::vector<Frame>& out, std::string& err) {
    char e[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), e);
    if (p == nullptr) {
        err = e;
        return false;
    }
    if (pcap_datalink(p) != DLT_EN10MB) {
        err = path + ": only Ethernet captures can be replayed";
        pcap_close(p);
        return false;
    }
    pcap_pkthdr* h;
    const u_char* d;
    while (pcap_next_ex(p, &h, &d) == 1) {
        Frame f;
        f.bytes.assign(d, d + h->caplen);
        size_t off = 12;
        uint16_t type = h->caplen >= 14 ? static_cast<uint16_t>(d[12] << 8 | d[13]) : 0;
        while ((type == 0x8100 || type == 0x88a8) && off + 6 <= h->caplen) {
            off += 4;
            type = static_cast<uint16_t>(d[off] << 8 | d[off + 1]);
        }
        if (type == 0x0800 && off + 2 + 20 <= h->caplen) f.l3 = off + 2;
        out.push_back(std::move(f));
    }
    pcap_close(p);
    if (out.empty()) err = path + ": no packets";
    return !out.empty();
}

// Header fingerprint of a frame for latency matching: addresses, ports, IP id, TCP sequence,
// length. Computed the same way on what is sent and what comes back.
uint64_t fingerprint(const uint8_t* d, size_t len, size_t l3) {
    if (l3 == 0 || l3 + 28 > len) return 0;
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](const uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    };
    mix(d + l3 + 2, 4);   // total length, id
    mix(d + l3 + 12, 8);  // addresses
    const size_t ihl = static_cast<size_t>(d[l3] & 0x0f) * 4;
    if (l3 + ihl + 8 <= len) mix(d + l3 + ihl, 8);  // ports and TCP sequence / UDP len+sum
    return h | 1;
}

size_t l3_of(const uint8_t* d, size_t len) {
    if (len < 34) return 0;
    size_t off = 12;
    uint16_t type = static_cast<uint16_t>(d[12] << 8 | d[13]);
    while ((type == 0x8100 || type == 0x88a8) && off + 6 <= len) {
        off += 4;
        type = static_cast<uint16_t>(d[off] << 8 | d[off + 1]);
    }
    return type == 0x0800 ? off + 2 : 0;
}

struct Ports {
    uint16_t tx = 0, rx = 0;
};

struct Generator {
    std::vector<Frame> frames;
    rte_mempool* pool = nullptr;
    Ports ports;
    uint64_t loop = 0;  // continues across trials: every trial sends new flows
    size_t next = 0;
    std::vector<uint64_t> lat_key, lat_tsc;
    std::vector<double> lat_us;

    // Fills an mbuf with the next frame, rewritten for the current loop.
    rte_mbuf* make(uint64_t now_tsc, bool sample) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) return nullptr;
        const Frame& f = frames[next];
        char* dst = rte_pktmbuf_append(m, static_cast<uint16_t>(f.bytes.size()));
        if (dst == nullptr) {
            rte_pktmbuf_free(m);
            return nullptr;
        }
        uint8_t* d = reinterpret_cast<uint8_t*>(dst);
        std::memcpy(d, f.bytes.data(), f.bytes.size());
        if (f.l3 != 0 && loop != 0) {
            // Both endpoints move together, so both directions of a flow stay one flow.
            d[f.l3 + 13] = static_cast<uint8_t>(d[f.l3 + 13] + loop);
            d[f.l3 + 17] = static_cast<uint8_t>(d[f.l3 + 17] + loop);
            const size_t ihl = static_cast<size_t>(d[f.l3] & 0x0f) * 4;
            const uint8_t proto = d[f.l3 + 9];
            if (loop >= 256 && (proto == 6 || proto == 17) && f.l3 + ihl + 4 <= f.bytes.size()) {
                d[f.l3 + ihl] ^= static_cast<uint8_t>(loop >> 8);
                d[f.l3 + ihl + 2] ^= static_cast<uint8_t>(loop >> 8);
            }
            craft::fix_checksums({d + f.l3, f.bytes.size() - f.l3});
        }
        if (sample) {
            const uint64_t k = fingerprint(d, f.bytes.size(), f.l3);
            if (k != 0) {
                lat_key[k % kLatencySlots] = k;
                lat_tsc[k % kLatencySlots] = now_tsc;
            }
        }
        if (++next == frames.size()) {
            next = 0;
            ++loop;
        }
        return m;
    }

    void receive(uint16_t port, uint64_t& pkts, uint64_t& bytes) {
        rte_mbuf* rx[kBurst];
        const uint16_t n = rte_eth_rx_burst(port, 0, rx, kBurst);
        const uint64_t now = rte_get_tsc_cycles();
        for (uint16_t i = 0; i < n; ++i) {
            const uint8_t* d = rte_pktmbuf_mtod(rx[i], const uint8_t*);
            const size_t len = rte_pktmbuf_data_len(rx[i]);
            const uint64_t k = fingerprint(d, len, l3_of(d, len));
            if (k != 0 && lat_key[k % kLatencySlots] == k) {
                lat_us.push_back(double(now - lat_tsc[k % kLatencySlots]) * 1e6 /
                                 double(rte_get_tsc_hz()));
                lat_key[k % kLatencySlots] = 0;
            }
            ++pkts;
            bytes += rte_pktmbuf_pkt_len(rx[i]);
            rte_pktmbuf_free(rx[i]);
        }
    }

    // Sends for `seconds` at `rate_pps` (0: flat out), then drains the return path.
    TrialResult trial(double rate_pps, double seconds, double drain_s, uint64_t& tx_bytes,
                      uint64_t& rx_bytes) {
        TrialResult r;
        lat_us.clear();
        const uint64_t hz = rte_get_tsc_hz();
        const uint64_t start = rte_get_tsc_cycles();
        const uint64_t end = start + static_cast<uint64_t>(seconds * double(hz));
        const double per_pkt = rate_pps > 0 ? double(hz) / rate_pps : 0;
        double due = double(start);
        uint32_t count = 0;
        rte_mbuf* burst[kBurst];
        uint64_t now;
        while ((now = rte_get_tsc_cycles()) < end && !g_stop) {
            uint16_t want = kBurst;
            if (per_pkt > 0) {
                const double ahead = (double(now) - due) / per_pkt;
                if (ahead < 1) {
                    receive(ports.rx, r.received, rx_bytes);
                    continue;
                }
                want = static_cast<uint16_t>(std::min<double>(kBurst, ahead));
            }
            uint16_t n = 0;
            for (; n < want; ++n) {
                burst[n] = make(now, ++count % kSampleEvery == 0);
                if (burst[n] == nullptr) break;
            }
            const uint16_t sent = rte_eth_tx_burst(ports.tx, 0, burst, n);
            for (uint16_t i = 0; i < sent; ++i) tx_bytes += rte_pktmbuf_pkt_len(burst[i]);
            for (uint16_t i = sent; i < n; ++i) rte_pktmbuf_free(burst[i]);  // tx ring full
            r.sent += sent;
            if (per_pkt > 0) due += per_pkt * n;
            receive(ports.rx, r.received, rx_bytes);
        }
        const double elapsed = double(rte_get_tsc_cycles() - start) / double(hz);
        const uint64_t drain_end =
            rte_get_tsc_cycles() + static_cast<uint64_t>(drain_s * double(hz));
        while (rte_get_tsc_cycles() < drain_end) receive(ports.rx, r.received, rx_bytes);
        r.offered_pps = double(r.sent) / elapsed;
        r.received_pps = double(r.received) / elapsed;
        return r;
    }
};

bool setup_port(uint16_t port, rte_mempool* pool, std::string& err) {
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr) != 0 ||
        rte_eth_dev_start(port) != 0) {
        err = "cannot start port " + std::to_string(port);
        return false;
    }
    rte_eth_promiscuous_enable(port);
    return true;
}

nlohmann::json trial_json(const TrialResult& r, uint64_t tx_bytes, uint64_t rx_bytes, double secs,
                          std::vector<double> lat) {
    nlohmann::json j{{"sent", r.sent},
                     {"received", r.received},
                     {"lost", r.sent > r.received ? r.sent - r.received : 0},
                     {"loss_ratio", r.loss_ratio()},
                     {"offered_pps", r.offered_pps},
                     {"received_pps", r.received_pps},
                     {"offered_gbps", double(tx_bytes) * 8 / secs / 1e9},
                     {"received_gbps", double(rx_bytes) * 8 / secs / 1e9}};
    if (!lat.empty()) {
        std::sort(lat.begin(), lat.end());
        j["latency_us"] = {{"samples", lat.size()},
                           {"p50", lat[lat.size() / 2]},
                           {"p99", lat[lat.size() * 99 / 100]},
                           {"max", lat.back()}};
    }
    return j;
}

}  // namespace

int main(int argc, char** argv) {
    int app_argc = argc;
    std::vector<std::string> eal{"sluice-pktgen"};
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--") {
            app_argc = i;
            for (int j = i + 1; j < argc; ++j) eal.emplace_back(argv[j]);
            break;
        }
    CLI::App app{"sluice-pktgen: replay captures into a DPDK port, measure rate, loss, latency"};
    std::string pcap_path, tx_dev, rx_dev, json_out;
    double rate = 0, duration = 5, trial_s = 2, tolerance = 0, max_rate = 1e6, min_rate = 1000,
           drain = 0.3, resolution = 0.02;
    bool search = false;
    app.add_option("--pcap", pcap_path, "Capture to replay (Ethernet)")
        ->required()
        ->check(CLI::ExistingFile);
    app.add_option("--tx-port", tx_dev,
                   "Device to send on (vdev spec, e.g. net_memif0,role=server,socket=/run/m.sock)")
        ->required();
    app.add_option("--rx-port", rx_dev, "Device to receive on (default: the tx port)");
    app.add_option("--rate", rate, "Packets per second (0: flat out)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--duration", duration, "Seconds to send (without --search)")
        ->check(CLI::PositiveNumber);
    app.add_flag("--search", search,
                 "Zero-loss search: binary search for the highest rate with loss <= tolerance");
    app.add_option("--trial", trial_s, "Search: seconds per trial")->check(CLI::PositiveNumber);
    app.add_option("--tolerance", tolerance, "Search: accepted loss ratio (default 0)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--max-rate", max_rate, "Search: upper bound, pps")->check(CLI::PositiveNumber);
    app.add_option("--min-rate", min_rate, "Search: lower bound, pps")->check(CLI::PositiveNumber);
    app.add_option("--resolution", resolution,
                   "Search: stop when the bracket is below this share of max-rate")
        ->check(CLI::Range(0.001, 0.5));
    app.add_option("--drain", drain, "Seconds to keep receiving after sending stops")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--json", json_out, "Also write the report as JSON to FILE");
    app.footer("Arguments after '--' go to the DPDK EAL. See docs/capacity-testing.md.");
    try {
        app.parse(app_argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    std::vector<Frame> frames;
    std::string err;
    if (!load_pcap(pcap_path, frames, err)) {
        std::fprintf(stderr, "sluice-pktgen: %s\n", err.c_str());
        return 2;
    }
    eal.push_back("--vdev=" + tx_dev);
    if (!rx_dev.empty() && rx_dev != tx_dev) eal.push_back("--vdev=" + rx_dev);
    std::vector<char*> eal_argv;
    for (auto& s : eal) eal_argv.push_back(s.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "sluice-pktgen: EAL initialisation failed\n");
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    Generator g;
    g.frames = std::move(frames);
    g.lat_key.assign(kLatencySlots, 0);
    g.lat_tsc.assign(kLatencySlots, 0);
    g.pool = rte_pktmbuf_pool_create("pktgen", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     rte_socket_id());
    const uint16_t nports = rte_eth_dev_count_avail();
    const bool two = !rx_dev.empty() && rx_dev != tx_dev;
    if (g.pool == nullptr || nports < (two ? 2 : 1)) {
        std::fprintf(stderr, "sluice-pktgen: no mempool or ports (%u available)\n", nports);
        return 1;
    }
    g.ports = {0, static_cast<uint16_t>(two ? 1 : 0)};
    if (!setup_port(0, g.pool, err) || (two && !setup_port(1, g.pool, err))) {
        std::fprintf(stderr, "sluice-pktgen: %s\n", err.c_str());
        return 1;
    }
    // Memif and similar links come up when the peer connects: wait for it.
    for (int i = 0; i < 100 && !g_stop; ++i) {
        rte_eth_link l0{}, l1{};
        rte_eth_link_get_nowait(g.ports.tx, &l0);
        rte_eth_link_get_nowait(g.ports.rx, &l1);
        if (l0.link_status && l1.link_status) break;
        rte_delay_ms(100);
    }
    nlohmann::json report{{"capture", pcap_path}, {"frames", g.frames.size()}};
    if (search) {
        SearchOptions so;
        so.max_pps = max_rate;
        so.min_pps = min_rate;
        so.loss_tolerance = tolerance;
        so.resolution = resolution;
        nlohmann::json trials = nlohmann::json::array();
        const SearchResult sr = zero_loss_search(so, [&](double r) {
            uint64_t tb = 0, rb = 0;
            const TrialResult t = g.trial(r, trial_s, drain, tb, rb);
            trials.push_back(
                {{"rate_pps", r}, {"result", trial_json(t, tb, rb, trial_s, g.lat_us)}});
            std::fprintf(
                stderr, "sluice-pktgen: trial %.0f pps: sent %llu, received %llu, loss %.5f\n", r,
                (unsigned long long)t.sent, (unsigned long long)t.received, t.loss_ratio());
            rte_delay_ms(200);
            return t;
        });
        report["search"] = {{"ndr_pps", sr.ndr_pps},
                            {"loss_tolerance", tolerance},
                            {"trial_s", trial_s},
                            {"trials", trials}};
        std::printf("no-drop rate: %.0f pps (loss tolerance %g, %zu trials of %.1f s)\n",
                    sr.ndr_pps, tolerance, sr.steps.size(), trial_s);
    } else {
        uint64_t tb = 0, rb = 0;
        const TrialResult t = g.trial(rate, duration, drain, tb, rb);
        report["run"] = trial_json(t, tb, rb, duration, g.lat_us);
        const auto& j = report["run"];
        std::printf(
            "sent %llu (%.0f pps, %.3f Gbit/s), received %llu (%.0f pps), lost %llu (%.4f%%)",
            (unsigned long long)t.sent, t.offered_pps, j["offered_gbps"].get<double>(),
            (unsigned long long)t.received, t.received_pps,
            (unsigned long long)j["lost"].get<uint64_t>(), 100 * t.loss_ratio());
        if (j.contains("latency_us"))
            std::printf(", latency p50 %.1f us p99 %.1f us", j["latency_us"]["p50"].get<double>(),
                        j["latency_us"]["p99"].get<double>());
        std::printf("\n");
    }
    if (!json_out.empty()) std::ofstream(json_out) << report.dump(2) << "\n";
    for (uint16_t p = 0; p < nports; ++p) rte_eth_dev_stop(p);
    rte_eal_cleanup();
    return 0;
}
