// The QUIC stage (RFC 9000, 9001, 9369): reads the client's Initial packets on UDP flows -
// long headers, coalesced packets, the Initial keys from the client's first Destination
// Connection ID (and the new one after a Retry), header protection, AEAD - and reassembles
// their CRYPTO frames into the ClientHello, split and out of order across packets and
// datagrams. The hello gives SNI, ALPN and JA4 with its `q` prefix: a `quic` EVE record, and
// the same hello observers TLS has (tls.sni / ja4.hash rules). 1-RTT data stays encrypted.
// `quic.action: block` drops QUIC connections so clients fall back to TCP.
//
// A handshake being assembled holds one slot (16 KiB) from a per-worker pool until its hello
// is read or its flow ends; an idle one gives it up to a newcomer (reclaim_after_ms).
#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <vector>

#include "account/account_state.h"
#include "common/index_pool.h"
#include "common/pool_audit.h"
#include "eve/eve_emitter.h"
#include "flow/flow_table.h"
#include "quic/initial_frames.h"
#include "quic/initial_protection.h"
#include "quic/quic_counters.h"
#include "quic/quic_options.h"
#include "quic/quic_packet.h"
#include "tls/fingerprint.h"
#include "tls/tls_inspector.h"

namespace sluice::quic {

class QuicInspector {
  public:
    static constexpr uint16_t kNoSession = 0xffff;

    QuicInspector(EveEmitter& eve, const QuicOptions& opts);
    ~QuicInspector();

    void add_hello_observer(tls::HelloObserver& o) { observers_.push_back(&o); }
    // The correlator's queue: each hello becomes a QuicHello observation (address and JA4),
    // which joins the accounts that address sends requests for.
    void set_observation_sink(account::ObservationSink* s) { sink_ = s; }
    // One UDP datagram of `f` travelling in `d`. Merges quic.action into the flow's verdict
    // when it is QUIC.
    void on_datagram(Flow& f, Dir d, std::span<const uint8_t> datagram);
    void on_flow_end(Flow& f);

    const QuicCounters& counters() const { return ctr_; }
    size_t sessions_in_use() const { return free_.in_use(); }
    void audit(const Flow& f, PoolAudit& a) const;
    void audit_pools(PoolAudit& a) const;

  private:
    struct Session {
        bool in_use = false;
        bool keyed = false;
        bool overflow = false;
        Flow* owner = nullptr;
        uint64_t owner_id = 0;
        uint64_t last_ns = 0;
        uint32_t version = 0;
        InitialKeys keys;
        // The connection id `keys` came from: a packet to the same one that fails to open is
        // garbage, and costs no second key derivation.
        std::array<uint8_t, kMaxCidLen> dcid{};
        uint8_t dcid_len = 0;
        bool keyed_by(std::span<const uint8_t> id) const {
            return id.size() == dcid_len && std::equal(id.begin(), id.end(), dcid.begin());
        }
        void key_from(std::span<const uint8_t> id) {
            dcid_len = static_cast<uint8_t>(std::min(id.size(), dcid.size()));
            std::copy_n(id.begin(), dcid_len, dcid.begin());
        }
        CryptoAssembler crypto;
    };

    Session* session(Flow& f);
    Session* start(Flow& f);
    void end(Flow& f);
    void client_packet(Flow& f, Session& s, const LongHeader& h, std::span<const uint8_t> packet);
    void log_hello(Flow& f, Session& s, std::span<const uint8_t> hello_body);

    EveEmitter& eve_;
    QuicOptions opts_;
    std::vector<Session> sessions_;
    std::vector<uint8_t> buffers_;  // one CryptoAssembler::kCapacity buffer per session
    IndexPool free_;
    InitialOpener opener_;
    std::vector<uint8_t> scratch_;  // a writable copy of the packet being opened
    std::unique_ptr<tls::Fingerprints> fp_;
    std::vector<tls::HelloObserver*> observers_;
    account::ObservationSink* sink_ = nullptr;
    QuicCounters ctr_;
};

}  // namespace sluice::quic
