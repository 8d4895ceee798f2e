// The TCP sender that answers a stopped request in the server's name. Once a request is
// stopped with an answer, sluice is the client's peer for the rest of that connection: it
// sends the answer at the sequence numbers the client expects, segmented to the client's MSS
// and window, with FIN after it; it resends what the client has not acknowledged (on the
// client's own retransmissions, duplicate ACKs and a timer; bounded, then an RST); it resets
// the server side so the server frees the half-sent request; and it acknowledges the client's
// FIN. With pipelining, the answer waits until the responses to earlier requests on the
// connection have been forwarded. Sessions are slots of a fixed per-worker pool (no
// allocation after start-up); a flow's session is found by its flow-table index.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "answer/answer_fallback.h"
#include "answer/answer_options.h"
#include "answer/answer_sealer.h"
#include "answer/answer_templates.h"
#include "answer/h2_answer.h"
#include "decode/decoded_packet.h"
#include "decode/link_type.h"
#include "engine/counters.h"
#include "engine/injector.h"
#include "flow/flow_table.h"

namespace sluice {

// What the transaction stage knows of a request it stopped.
struct StoppedRequest {
    AnswerFacts facts;
    uint32_t earlier_in_flight = 0;  // responses to earlier requests not yet forwarded
    bool http2 = false;
    uint32_t stream_id = 0;  // HTTP/2
};

class AnswerSender {
  public:
    static constexpr size_t kMaxAnswer = AnswerTemplates::kMaxAnswer;
    // The answer on the wire: inside TLS, a record of it and a close_notify record.
    static constexpr size_t kMaxWire = 2048;
    static constexpr size_t kMaxSegmentsPerPacket = 3;  // what one packet may inject

    AnswerSender(const AnswerOptions& opts, FlowTable& flows, WorkerCounters& ctr);

    // The packet being processed (its ingress port and link type), before the stages run.
    // Encrypted connections are answered through `s` (null: they fall back to resets).
    void set_sealer(AnswerSealer* s) { sealer_ = s; }
    // HTTP/2 connections are answered with frames the HTTP/2 stage's state allows (null:
    // they fall back to resets).
    void set_h2(const H2AnswerSource* s) { h2_ = s; }
    void set_packet(uint16_t port, LinkType link) {
        port_ = port;
        link_ = link;
    }
    // A request of `f` was stopped while its client's packet is processed: opens an answer, or
    // returns why the flow falls back to resets.
    std::optional<AnswerFallback> open(Flow& f, const StoppedRequest& r, uint64_t now_ns);
    bool holds(const Flow& f) const { return find(f) != nullptr; }
    // The answer is under way: every later packet of the flow is the sender's.
    bool answering(const Flow& f) const {
        const Session* s = find(f);
        return s != nullptr && s->state != State::Waiting;
    }
    // Every packet of a flow that holds an answer, once the stages ran. True: forward it (the
    // server's packets while the answer waits for earlier responses); false: drop it.
    bool on_packet(Flow& f, Dir dir, const DecodedPacket& pkt, Injector& inj, uint64_t now_ns);
    // A response to an earlier request was completed (its last byte is in this packet).
    void on_response_complete(const Flow& f);
    void on_flow_end(const Flow& f);
    // Retransmission timers: resends what is due through inj.inject_on(port of the client).
    void tick(uint64_t now_ns, Injector& inj);
    size_t in_progress() const { return used_; }

  private:
    enum class State : uint8_t { Free, Waiting, Sending, Done };
    struct Session {
        State state = State::Free;
        uint64_t flow_id = 0;
        uint32_t flow_index = 0;
        uint16_t port = 0;  // the client's side (PacketInput::port of its packets)
        LinkType link = LinkType::Ethernet;
        uint16_t len = 0;  // answer bytes; the FIN follows at iss + len
        uint16_t mss = 536;
        uint32_t iss = 0;      // sequence number of the answer's first byte
        uint32_t rcv_nxt = 0;  // the client's bytes acknowledged (the request's end)
        uint32_t una = 0;      // offsets into the answer (len + 1: the FIN too)
        uint32_t nxt = 0;
        uint32_t waiting_for = 0;  // earlier responses still to be forwarded
        uint8_t retransmits = 0;
        bool fin_acked = false;
        bool client_fin = false;
        bool tls = false;       // `bytes` hold the plaintext answer until start() seals it
        bool h2 = false;        // `bytes` hold the header block, then the body, until start()
        uint16_t h2_block = 0;  // header block bytes (the body follows)
        uint16_t hold = 0;      // bytes past this wait until the client acknowledged it (0: none)
        uint32_t stream_id = 0;
        uint64_t rto_at_ns = 0;
        uint32_t rto_ms = 0;
        std::array<uint8_t, kMaxWire> bytes{};
    };

    std::optional<AnswerFallback> try_open(Flow& f, const StoppedRequest& r, uint64_t now_ns);
    Session* find(const Flow& f);
    const Session* find(const Flow& f) const;
    void release(Session& s, uint32_t slot);
    // Frees the sessions of connections already closed both ways (the pool ran out).
    void reclaim_done();
    // Starts sending: sequence numbers from what was forwarded, the server side reset.
    // False when it could not (the answer could not be sealed): both ends were reset.
    bool start(Session& s, Flow& f, Injector& inj, bool client_side_packet, uint64_t now_ns);
    // Sends from offset `from` as far as the client's window allows, at most `max` segments.
    // `along`: the frames travel with the packet being processed; nullopt: a timer (port).
    size_t send(Session& s, const Flow& f, uint32_t from, size_t max, Injector& inj,
                std::optional<bool> along);
    void retransmit(Session& s, const Flow& f, Injector& inj, std::optional<bool> along,
                    uint64_t now_ns);
    void ack_only(Session& s, const Flow& f, Injector& inj, bool along);
    void reset_client(const Session& s, const Flow& f, Injector& inj, std::optional<bool> along);
    bool emit(const Session& s, const Flow& f, uint32_t seq, uint8_t flags,
              std::span<const uint8_t> payload, Injector& inj, std::optional<bool> along);

    AnswerOptions opts_;
    std::shared_ptr<const AnswerTemplates> templates_;
    FlowTable& flows_;
    WorkerCounters& ctr_;
    std::vector<Session> sessions_;
    std::vector<uint32_t> free_;
    std::vector<uint32_t> by_flow_;  // flow-table index -> session slot (kNilIndex: none)
    AnswerSealer* sealer_ = nullptr;
    const H2AnswerSource* h2_ = nullptr;
    size_t used_ = 0;
    uint64_t next_tick_ns_ = 0;
    uint16_t port_ = 0;
    LinkType link_ = LinkType::Ethernet;
};

}  // namespace sluice
