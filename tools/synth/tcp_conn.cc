#include "tcp_conn.h"

#include "decode/decoded_packet.h"

namespace sluice::synth {

PacketQueue::PacketQueue(const std::string& path) {
    dead_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    dump_ = pcap_dump_open(dead_, path.c_str());
    if (dump_ == nullptr) error_ = pcap_geterr(dead_);
}

PacketQueue::~PacketQueue() {
    flush_all();
    if (dump_) pcap_dump_close(dump_);
    if (dead_) pcap_close(dead_);
}

void PacketQueue::push(uint64_t ns, std::vector<uint8_t> frame) {
    heap_.push(Timed{ns, order_++, std::move(frame)});
}

void PacketQueue::flush_before(uint64_t ns) {
    while (!heap_.empty() && heap_.top().ns < ns) {
        const Timed& t = heap_.top();
        pcap_pkthdr h{};
        h.ts.tv_sec = static_cast<time_t>(t.ns / 1'000'000'000ull);
        h.ts.tv_usec = static_cast<suseconds_t>(t.ns % 1'000'000'000ull);  // nanosecond file
        h.caplen = h.len = static_cast<bpf_u_int32>(t.frame.size());
        if (dump_) pcap_dump(reinterpret_cast<u_char*>(dump_), &h, t.frame.data());
        ++written_;
        bytes_ += t.frame.size();
        heap_.pop();
    }
}

TcpConn::TcpConn(const ConnSpec& spec, uint64_t start_ns, PacketQueue& out)
    : s_(spec), cseq_(spec.client_isn), sseq_(spec.server_isn), now_(start_ns), out_(out) {
    c2s_.src = s_.client;
    c2s_.dst = s_.server;
    s2c_.src = s_.server;
    s2c_.dst = s_.client;
}

void TcpConn::emit(bool from_client, uint8_t flags, std::string_view payload,
                   std::vector<uint8_t> options) {
    craft::TcpSpec t;
    t.src_port = from_client ? s_.cport : s_.sport;
    t.dst_port = from_client ? s_.sport : s_.cport;
    t.seq = from_client ? cseq_ : sseq_;
    t.ack = (flags & tcp_flag::kAck) ? (from_client ? sseq_ : cseq_) : 0;
    t.flags = flags;
    t.window = 64240;
    t.options = std::move(options);
    auto frame =
        craft::tcp_frame(from_client ? c2s_ : s2c_, t,
                         {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
    out_.push(now_, std::move(frame));
    uint32_t& seq = from_client ? cseq_ : sseq_;
    seq += static_cast<uint32_t>(payload.size());
    if (flags & (tcp_flag::kSyn | tcp_flag::kFin)) ++seq;
}

void TcpConn::open() {
    const std::vector<uint8_t> mss = {2, 4, static_cast<uint8_t>(s_.mss >> 8),
                                      static_cast<uint8_t>(s_.mss)};
    emit(true, tcp_flag::kSyn, {}, mss);
    now_ += s_.rtt_ns / 2;
    emit(false, tcp_flag::kSyn | tcp_flag::kAck, {}, mss);
    now_ += s_.rtt_ns / 2;
    emit(true, tcp_flag::kAck, {});
    now_ += 50'000;
}

void TcpConn::send(bool from_client, std::string_view bytes) {
    size_t sent = 0, unacked = 0;
    while (sent < bytes.size()) {
        const size_t n = std::min<size_t>(s_.mss, bytes.size() - sent);
        const bool last = sent + n == bytes.size();
        emit(from_client, tcp_flag::kAck | (last ? tcp_flag::kPsh : 0), bytes.substr(sent, n));
        sent += n;
        now_ += 12'000;  // about 1 Gbit/s serialisation of a full segment
        if (++unacked == 2 || last) {
            const uint64_t t = now_;
            now_ += s_.rtt_ns / 4;  // the ACK is seen a little later at the sensor
            emit(!from_client, tcp_flag::kAck, {});
            now_ = t;
            unacked = 0;
        }
    }
    now_ += s_.rtt_ns / 2;
}

void TcpConn::close() {
    emit(true, tcp_flag::kFin | tcp_flag::kAck, {});
    now_ += s_.rtt_ns / 2;
    emit(false, tcp_flag::kFin | tcp_flag::kAck, {});
    now_ += s_.rtt_ns / 2;
    emit(true, tcp_flag::kAck, {});
}

void TcpConn::reset() {
    emit(true, tcp_flag::kRst | tcp_flag::kAck, {});
}

}  // namespace sluice::synth
