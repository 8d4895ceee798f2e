// Decoder over any bytes, for every link type: must never read outside the frame.
#include <span>

#include "decode/decoder.h"
#include "fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace sluice;
    static constexpr LinkType kLinks[] = {
        LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::Null,
        LinkType::Loop,     LinkType::Raw,      LinkType::Ipv4,      LinkType::Ipv6};
    const std::span<const uint8_t> frame(data, size);
    for (LinkType lt : kLinks) {
        const DecodedPacket d = decode_frame(frame, lt);
        // Views must lie inside the frame.
        if (!d.payload.empty() &&
            (d.payload.data() < data || d.payload.data() + d.payload.size() > data + size))
            __builtin_trap();
        if (d.status == DecodeStatus::Ok && d.l4_offset > size) __builtin_trap();
    }
    return 0;
}
