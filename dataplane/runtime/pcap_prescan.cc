#include "runtime/pcap_prescan.h"

#include <pcap/pcap.h>

#include "decode/checksum.h"
#include "decode/decoder.h"

namespace sluice {

std::string prescan_capture(const std::string& path, CaptureInfo& info,
                            const DecodeOptions& decode) {
    char err[PCAP_ERRBUF_SIZE] = {0};
    pcap_t* p =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    if (p == nullptr) return path + ": " + err;
    info.dlt = pcap_datalink(p);
    const auto link = link_type_from_dlt(info.dlt);
    if (!link) {
        const char* name = pcap_datalink_val_to_name(info.dlt);
        pcap_close(p);
        return path + ": unsupported link type " + std::to_string(info.dlt) + " (" +
               (name ? name : "unknown") + ")";
    }
    info.link = *link;
    struct pcap_pkthdr* h;
    const u_char* data;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        const Timestamp t{uint64_t(h->ts.tv_sec) * 1'000'000'000ull + uint64_t(h->ts.tv_usec)};
        if (info.packets == 0) info.first = t;
        info.last = t;
        ++info.packets;
        info.bytes += h->caplen;
        if (h->caplen < h->len) ++info.snapped;
        if (h->caplen > info.max_caplen) info.max_caplen = h->caplen;
        if (info.checksum_sampled < CaptureInfo::kChecksumSample) {
            const std::span<const uint8_t> frame(data, h->caplen);
            const DecodedPacket pkt = decode_frame(frame, info.link, decode);
            if (pkt.status == DecodeStatus::Ok) {
                ++info.checksum_sampled;
                if (verify_checksums(frame, pkt) != ChecksumError::None) ++info.checksum_bad;
            }
        }
    }
    std::string error;
    if (rc == PCAP_ERROR) {
        error = path + ": read error after " + std::to_string(info.packets) +
                " packets (truncated file?): " + pcap_geterr(p);
    }
    pcap_close(p);
    if (error.empty() && info.packets == 0) error = path + ": the capture holds no packets";
    return error;
}

}  // namespace sluice
