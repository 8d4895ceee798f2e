#include "runtime/pcap_sink.h"

namespace sluice {

PcapSink::~PcapSink() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (dead_ != nullptr) pcap_close(dead_);
}

bool PcapSink::open(const std::string& path, int dlt, std::string& error) {
    dead_ = pcap_open_dead_with_tstamp_precision(dlt, 262144, PCAP_TSTAMP_PRECISION_NANO);
    if (dead_ == nullptr) {
        error = "cannot create a pcap handle for link type " + std::to_string(dlt);
        return false;
    }
    dumper_ = pcap_dump_open(dead_, path.c_str());
    if (dumper_ == nullptr) {
        error = path + ": " + pcap_geterr(dead_);
        return false;
    }
    return true;
}

void PcapSink::write(std::span<const uint8_t> frame, uint64_t ts_ns) {
    struct pcap_pkthdr h;
    h.ts.tv_sec = static_cast<time_t>(ts_ns / 1'000'000'000ull);
    h.ts.tv_usec = static_cast<suseconds_t>(ts_ns % 1'000'000'000ull);  // nanosecond file
    h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, frame.data());
    ++written_;
}

}  // namespace sluice
