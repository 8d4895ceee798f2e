// sluice-pcap-mangle: rewrites a capture the way a bad network would, keeping every TCP byte:
// reorders data segments, duplicates them, and resegments them into overlapping pieces that
// carry the same bytes. Reassembly must turn the result back into the original streams.
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "craft/frame_builder.h"
#include "decode/decoder.h"

using namespace sluice;

namespace {

struct Packet {
    timeval ts{};
    std::vector<uint8_t> data;
    bool movable = false;  // a pure data segment (no SYN/FIN/RST) that may be reordered
};

// Piece [off, off+len) of a TCP data segment, as a frame of its own.
std::vector<uint8_t> piece(const std::vector<uint8_t>& frame, const DecodedPacket& d, size_t off,
                           size_t len, bool last) {
    const size_t hdr_end = static_cast<size_t>(d.payload.data() - frame.data());
    std::vector<uint8_t> out(frame.begin(), frame.begin() + static_cast<long>(hdr_end));
    out.insert(out.end(), d.payload.begin() + static_cast<long>(off),
               d.payload.begin() + static_cast<long>(off + len));
    uint8_t* ip = out.data() + d.l3_offset;
    const size_t delta = d.payload.size() - len;
    if ((ip[0] >> 4) == 4) {
        const size_t total = (size_t(ip[2]) << 8 | ip[3]) - delta;
        ip[2] = static_cast<uint8_t>(total >> 8);
        ip[3] = static_cast<uint8_t>(total);
    } else {
        const size_t plen = (size_t(ip[4]) << 8 | ip[5]) - delta;
        ip[4] = static_cast<uint8_t>(plen >> 8);
        ip[5] = static_cast<uint8_t>(plen);
    }
    uint8_t* tcp = out.data() + d.l4_offset;
    const uint32_t seq = d.seq + static_cast<uint32_t>(off);
    tcp[4] = static_cast<uint8_t>(seq >> 24);
    tcp[5] = static_cast<uint8_t>(seq >> 16);
    tcp[6] = static_cast<uint8_t>(seq >> 8);
    tcp[7] = static_cast<uint8_t>(seq);
    if (!last) tcp[13] &= static_cast<uint8_t>(~0x09);  // FIN and PSH only on the last piece
    craft::fix_checksums(std::span<uint8_t>(out).subspan(d.l3_offset));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "sluice-pcap-mangle: reorder, duplicate and overlap-resegment TCP data in a capture"};
    std::string in, out;
    std::vector<std::string> ops{"resegment", "duplicate", "reorder"};
    unsigned seed = 1, window = 4;
    double dup_rate = 0.3;
    app.add_option("--in", in, "Input capture (pcap or pcapng)")
        ->required()
        ->check(CLI::ExistingFile);
    app.add_option("--out", out, "Output pcap")->required();
    app.add_option("--ops", ops, "Any of resegment, duplicate, reorder (applied in that order)")
        ->check(CLI::IsMember({"resegment", "duplicate", "reorder"}));
    app.add_option("--seed", seed, "Random seed (same seed, same output)");
    app.add_option("--window", window, "Reorder window in data segments")->check(CLI::Range(2, 64));
    app.add_option("--dup-rate", dup_rate, "Share of data segments sent twice")
        ->check(CLI::Range(0.0, 1.0));
    CLI11_PARSE(app, argc, argv);

    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(in.c_str(), err);
    if (p == nullptr) {
        std::fprintf(stderr, "sluice-pcap-mangle: %s\n", err);
        return 1;
    }
    const int dlt = pcap_datalink(p);
    const auto link = link_type_from_dlt(dlt);
    if (!link) {
        std::fprintf(stderr, "sluice-pcap-mangle: unsupported link type %d\n", dlt);
        return 1;
    }
    std::vector<Packet> pkts;
    pcap_pkthdr* h;
    const u_char* data;
    while (pcap_next_ex(p, &h, &data) == 1)
        pkts.push_back({h->ts, {data, data + h->caplen}, false});
    pcap_close(p);

    std::mt19937 rng(seed);
    auto is_data = [&](const std::vector<uint8_t>& f, DecodedPacket& d) {
        d = decode_frame(f, *link);
        return d.is_tcp() && !d.payload.empty() &&
               !(d.tcp_flags & (tcp_flag::kSyn | tcp_flag::kFin | tcp_flag::kRst));
    };
    for (const auto& op : ops) {
        std::vector<Packet> next;
        for (auto& pk : pkts) {
            DecodedPacket d;
            const bool data_seg = is_data(pk.data, d);
            pk.movable = data_seg;
            if (op == "resegment" && data_seg && d.payload.size() >= 4) {
                // Two or three pieces; each later piece starts inside the previous one.
                const size_t n = d.payload.size();
                const size_t cut1 = 1 + rng() % (n / 2);
                const size_t ov1 = 1 + rng() % cut1;
                const size_t cut2 = cut1 + 1 + rng() % (n - cut1 - 1);
                const size_t ov2 = 1 + rng() % (cut2 - cut1);
                std::vector<std::pair<size_t, size_t>> parts = {
                    {0, cut1}, {cut1 - ov1, cut2 - (cut1 - ov1)}, {cut2 - ov2, n - (cut2 - ov2)}};
                for (size_t i = 0; i < parts.size(); ++i)
                    next.push_back(
                        {pk.ts,
                         piece(pk.data, d, parts[i].first, parts[i].second, i + 1 == parts.size()),
                         true});
            } else if (op == "duplicate" && data_seg) {
                next.push_back(pk);
                if (std::uniform_real_distribution<>(0, 1)(rng) < dup_rate) next.push_back(pk);
            } else {
                next.push_back(pk);
            }
        }
        if (op == "reorder") {
            // Shuffle runs of consecutive movable segments in windows.
            for (size_t i = 0; i < next.size();) {
                size_t j = i;
                while (j < next.size() && next[j].movable && j - i < window) ++j;
                if (j - i > 1) {
                    std::vector<timeval> ts;
                    for (size_t k = i; k < j; ++k) ts.push_back(next[k].ts);
                    std::shuffle(next.begin() + static_cast<long>(i),
                                 next.begin() + static_cast<long>(j), rng);
                    for (size_t k = i; k < j; ++k) next[k].ts = ts[k - i];  // time stays monotonic
                }
                i = j > i ? j : i + 1;
            }
        }
        pkts = std::move(next);
    }

    pcap_t* dead = pcap_open_dead(dlt, 262144);
    pcap_dumper_t* dump = pcap_dump_open(dead, out.c_str());
    if (dump == nullptr) {
        std::fprintf(stderr, "sluice-pcap-mangle: %s: %s\n", out.c_str(), pcap_geterr(dead));
        return 1;
    }
    for (const auto& pk : pkts) {
        pcap_pkthdr oh{};
        oh.ts = pk.ts;
        oh.caplen = oh.len = static_cast<bpf_u_int32>(pk.data.size());
        pcap_dump(reinterpret_cast<u_char*>(dump), &oh, pk.data.data());
    }
    pcap_dump_close(dump);
    pcap_close(dead);
    std::printf("%zu packets written\n", pkts.size());
    return 0;
}
