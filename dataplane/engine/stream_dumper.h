// --dump-streams: writes each TCP flow's reassembled bytes, one file per direction, named
// CLIENTIP_CLIENTPORT-SERVERIP_SERVERPORT.c2s / .s2c (a reused name gets .2, .3, ... before
// the suffix). Debug/forensics only: the files hold customer content and it is never on by
// default. Allocates per flow, which is acceptable for this opt-in mode.
#pragma once

#include <cstdio>
#include <string>
#include <unordered_map>

#include "reassembly/stream_consumer.h"

namespace sluice {

class StreamDumper final : public StreamConsumer {
  public:
    explicit StreamDumper(std::string dir) : dir_(std::move(dir)) {}
    ~StreamDumper() override;

    void on_data(Flow& flow, Dir dir, std::span<const uint8_t> bytes) override;
    void on_gap(Flow& flow, Dir dir, uint32_t len) override;
    void on_end(Flow& flow, Dir dir) override;
    void on_flow_end(Flow& flow) override;

    uint64_t gap_bytes() const { return gap_bytes_; }
    uint64_t write_errors() const { return write_errors_; }

  private:
    struct Entry {
        std::string base;
        std::FILE* file[2] = {nullptr, nullptr};
        bool created[2] = {false, false};
    };
    static constexpr size_t kMaxOpenFiles = 256;

    Entry& entry(Flow& flow);
    void close(Entry& e, Dir dir);

    std::string dir_;
    std::unordered_map<const Flow*, Entry> flows_;
    std::unordered_map<std::string, unsigned> names_;
    size_t open_files_ = 0;
    uint64_t gap_bytes_ = 0;
    uint64_t write_errors_ = 0;
};

}  // namespace sluice
