// Reads a capture once with libpcap before the pcap PMD replays it: the PMD never signals
// end of file, so offline mode needs the packet count; it also needs the link type, and a
// truncated or unreadable file must be a clear error instead of a silent short run.
#pragma once

#include <cstdint>
#include <string>

#include "common/timestamp.h"
#include "decode/decoder.h"
#include "decode/link_type.h"

namespace sluice {

struct CaptureInfo {
    uint64_t packets = 0;
    uint64_t bytes = 0;    // captured bytes
    uint64_t snapped = 0;  // packets captured shorter than on the wire
    uint32_t max_caplen = 0;
    int dlt = -1;
    LinkType link = LinkType::Ethernet;
    Timestamp first;
    Timestamp last;
    // Checksums of the first kChecksumSample IP packets (offline checksums: auto).
    static constexpr uint32_t kChecksumSample = 1000;
    uint32_t checksum_sampled = 0;
    uint32_t checksum_bad = 0;
};

// Returns an empty string on success, else a message naming the file and the problem.
std::string prescan_capture(const std::string& path, CaptureInfo& info,
                            const DecodeOptions& decode = {});

}  // namespace sluice
