// One bidirectional flow. Owned by exactly one worker's FlowTable; never shared.
#pragma once

#include <cstdint>

#include "appid/app_proto.h"
#include "common/timestamp.h"
#include "flow/flow_bits.h"
#include "flow/flow_ints.h"
#include "flow/flow_key.h"
#include "reassembly/tcp_stream.h"
#include "verdict/verdict.h"

namespace sluice {

// Direction relative to the client (the side that sent the SYN, else the higher port).
enum class Dir : uint8_t { ToServer = 0, ToClient = 1 };
constexpr size_t idx(Dir d) {
    return static_cast<size_t>(d);
}
constexpr Dir reverse(Dir d) {
    return d == Dir::ToServer ? Dir::ToClient : Dir::ToServer;
}

enum class FlowState : uint8_t {
    New,          // SYN seen, handshake not complete (embryonic)
    Established,  // handshake done, or picked up mid-stream with data
    Closing,      // one FIN seen
    Closed,       // both FINs or an RST
    Stateless,    // UDP, ICMP and other IP protocols
};
std::string_view flow_state_name(FlowState s);

// Timeout/eviction classes; each has its own LRU list so expiry and eviction are O(1).
enum class FlowClass : uint8_t { Embryonic, Closed, Closing, Stateless, Established, Count };

enum class FlowEndReason : uint8_t { Timeout, Evicted, Shutdown, Forced, TcpReuse };
std::string_view flow_end_reason_name(FlowEndReason r);

// TLS handshake tracking per direction (see tls/tls_inspector.h).
struct TlsDirState {
    uint8_t state = 0;  // TlsInspector::DirState
    uint8_t hdr_have = 0;
    uint8_t hdr[5] = {0, 0, 0, 0, 0};
    uint8_t hs_have = 0;
    uint8_t hs[4] = {0, 0, 0, 0};
    uint16_t rec_left = 0;
    uint32_t msg_len = 0;
    uint32_t buf = 0xffffffffu;  // handshake buffer (pool index) while a hello is assembled
    uint32_t buf_len = 0;
};

struct TlsFlowState {
    TlsDirState dir[2];
    uint32_t session = 0xffffffffu;  // decryption session (pool index) while decrypting
    uint16_t version = 0;            // negotiated (ServerHello supported_versions, else legacy)
    uint16_t cipher_suite = 0;       // chosen by the server
    // Flags in one byte (bit-fields: the state has room for the flight's two lengths only so).
    bool client_hello : 1 = false;  // a complete ClientHello is held in dir[0].buf
    bool server_hello : 1 = false;
    bool hello_retry : 1 = false;
    bool server_hello_held : 1 = false;  // the ServerHello came first: kept in dir[1].buf
    bool logged : 1 = false;
    bool server_keyx : 1 = false;   // the server's flight had a ServerKeyExchange
    uint8_t decrypt = 0;            // tls::DecryptStatus
    uint16_t server_hello_len = 0;  // kServerFlight: the ServerHello at dir[1].buf's start
    uint16_t cert_len = 0;  // kServerFlight: the Certificate message after it (0: none, cut)
    uint64_t client_hello_seq = 0;  // packet sequence number of the (last) ClientHello
};

// What one side of a TCP connection told the other, for normalization (normalize/).
struct TcpPeer {
    static constexpr uint8_t kAckKnown = 1, kTsKnown = 2, kSynWs = 4, kSynTs = 8, kTtlKnown = 16,
                             kSynSeen = 32;
    uint32_t ack = 0;        // last ACK number this side sent
    uint32_t window = 0;     // its receive window in bytes (scaled once both SYNs agreed)
    uint32_t ts_recent = 0;  // its last timestamp value (PAWS)
    uint8_t wscale = 0;      // window shift from its SYN
    uint8_t ttl = 0;         // TTL / hop limit of its handshake (or first) packet
    uint8_t bits = 0;
    // The MSS of its SYN in units of 8 bytes, capped at 2040 (0: not seen); only what an
    // injected answer segment needs (answer/answer_sender.h), in the struct's padding.
    uint8_t mss8 = 0;
    bool has(uint8_t b) const { return (bits & b) != 0; }
    uint16_t mss_or(uint16_t fallback) const { return mss8 != 0 ? uint16_t(mss8 * 8) : fallback; }
};

struct LinkTemplate {
    uint8_t bytes[24];  // the link header (incl. VLAN tags) of the last packet in a direction
    uint8_t len = 0;
};

struct Flow {
    FlowKey key;
    uint64_t hash = 0;
    uint64_t flow_id = 0;

    // Intrusive links (indices into the table's pool).
    uint32_t bucket_next = kNilIndex;
    uint32_t lru_prev = kNilIndex;
    uint32_t lru_next = kNilIndex;
    FlowClass lru_class = FlowClass::Embryonic;

    FlowState state = FlowState::New;
    bool client_is_lo = true;  // which canonical endpoint is the client
    bool handshake_seen = false;
    bool reset_injected = false;
    bool alerted = false;
    AppProto app_proto = AppProto::Unknown;
    uint8_t tcp_flags[2] = {0, 0};  // union of flags seen per direction
    FlowVerdict verdict;
    uint16_t filter_index = 0xffff;  // static filter rule that may apply later (byte threshold)
    uint16_t http_session = 0xffff;  // HTTP stage session (pool index), see http/http_inspector.h
    uint16_t h2_session = 0xffff;    // HTTP/2 connection (pool index), see http2/http2_inspector.h
    uint8_t inspect_flags = 0;       // http::InspectFlag bits

    Timestamp first_seen;
    Timestamp last_seen;
    uint64_t pkts[2] = {0, 0};
    uint64_t bytes[2] = {0, 0};

    TcpStream stream[2];
    LinkTemplate link[2];
    // End of the last forwarded segment per direction: what the receiver expects next, so an
    // injected RST carries exactly that sequence number (RFC 5961 accepts only an exact match).
    uint32_t fwd_end[2] = {0, 0};
    bool fwd_known[2] = {false, false};
    bool rst_closed = false;      // an accepted RST ended it: later data starts a new flow
    uint16_t anomalies_seen = 0;  // NormReason bits already recorded for this flow
    uint16_t quic_session =
        0xffff;       // QUIC handshake being read (pool index), quic/quic_inspector.h
    TcpPeer peer[2];  // per direction: the sender of that direction

    TlsFlowState tls;
    FlowBits bits;  // flowbits set by rules (inspect/rule_inspector.h)
    FlowInts ints;  // flowints set by rules

    // Small per-flow scratch for protocol detection across segment boundaries.
    uint8_t detect_len = 0;
    uint8_t detect_stage = 0;
    uint16_t detect_count = 0;
    uint16_t detect_skip[2] = {0, 0};
    uint8_t detect_buf[32];

    const Endpoint& client() const { return client_is_lo ? key.lo : key.hi; }
    const Endpoint& server() const { return client_is_lo ? key.hi : key.lo; }
    Dir dir_of(bool from_lo) const {
        return from_lo == client_is_lo ? Dir::ToServer : Dir::ToClient;
    }
};

// Sizing rule: docs/architecture.md ("Memory per flow") states this bound; update both together.
static_assert(sizeof(Flow) <= 488,
              "Flow grew: update the per-flow memory table in docs/architecture.md");

}  // namespace sluice
