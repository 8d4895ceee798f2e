// Where the frames the engine originates go (RSTs, answers). The runtime implements it over
// mbufs; tests collect the frames.
#pragma once

#include <cstdint>
#include <span>

namespace sluice {

class Injector {
  public:
    virtual ~Injector() = default;
    // along_packet: the frame travels the same way as the packet being processed (out of the
    // paired port); otherwise back toward the packet's sender (out of the ingress port).
    virtual void inject(bool along_packet, std::span<const uint8_t> frame) = 0;
    // Out of port `port` (a PacketInput::port), with no packet being processed (timers).
    // False when this injector cannot (the frame is then counted as lost by the caller).
    virtual bool inject_on(uint16_t port, std::span<const uint8_t> frame) {
        (void)port;
        (void)frame;
        return false;
    }
};

}  // namespace sluice
