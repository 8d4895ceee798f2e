// Offline --pcap-out: writes what inline mode would have forwarded (and injected), keeping
// the input's link type and packet timestamps, with libpcap.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <pcap/pcap.h>

namespace sluice {

class PcapSink {
  public:
    PcapSink() = default;
    ~PcapSink();
    PcapSink(const PcapSink&) = delete;
    PcapSink& operator=(const PcapSink&) = delete;

    bool open(const std::string& path, int dlt, std::string& error);
    void write(std::span<const uint8_t> frame, uint64_t ts_ns);
    uint64_t written() const { return written_; }

  private:
    pcap_t* dead_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
    uint64_t written_ = 0;
};

}  // namespace sluice
