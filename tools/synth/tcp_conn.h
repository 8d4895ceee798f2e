// TCP on the wire for synthetic conversations: three-way handshake with MSS, window and
// timestamps-free headers; data in MSS-sized segments with PSH on the last one; the receiver
// ACKs every second segment and the last; FIN or RST teardown. Frames go to a PacketQueue
// with their times; the queue writes them to a pcap in time order with bounded memory.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "craft/frame_builder.h"

namespace sluice::synth {

struct Timed {
    uint64_t ns;
    uint64_t order;  // tie-break: creation order
    std::vector<uint8_t> frame;
    bool operator>(const Timed& o) const { return ns != o.ns ? ns > o.ns : order > o.order; }
};

// Frames wait here until no conversation still to be generated can come before them.
class PacketQueue {
  public:
    explicit PacketQueue(const std::string& path);
    ~PacketQueue();
    bool ok() const { return dump_ != nullptr; }
    std::string error() const { return error_; }
    void push(uint64_t ns, std::vector<uint8_t> frame);
    // Writes every frame earlier than `ns` (callers promise nothing earlier will come).
    void flush_before(uint64_t ns);
    void flush_all() { flush_before(UINT64_MAX); }
    uint64_t written() const { return written_; }
    uint64_t bytes() const { return bytes_; }
    size_t pending() const { return heap_.size(); }

  private:
    pcap_t* dead_ = nullptr;
    pcap_dumper_t* dump_ = nullptr;
    std::priority_queue<Timed, std::vector<Timed>, std::greater<>> heap_;
    uint64_t order_ = 0, written_ = 0, bytes_ = 0;
    std::string error_;
};

struct ConnSpec {
    IpAddress client, server;
    uint16_t cport = 40000, sport = 443;
    uint32_t client_isn = 1, server_isn = 1;
    uint16_t mss = 1460;
    uint64_t rtt_ns = 20'000'000;  // client <-> sensor <-> server round trip
};

class TcpConn {
  public:
    TcpConn(const ConnSpec& spec, uint64_t start_ns, PacketQueue& out);
    void open();
    // `from_client` sends bytes; the peer's ACKs follow. Time moves on by half an RTT.
    void send(bool from_client, std::string_view bytes);
    void close();  // FIN from the client, FIN from the server, last ACK
    void reset();  // RST from the client
    uint64_t now() const { return now_; }
    void wait(uint64_t ns) { now_ += ns; }

  private:
    void emit(bool from_client, uint8_t flags, std::string_view payload,
              std::vector<uint8_t> options = {});
    ConnSpec s_;
    craft::FrameSpec c2s_, s2c_;
    uint32_t cseq_, sseq_;
    uint64_t now_;
    PacketQueue& out_;
};

}  // namespace sluice::synth
