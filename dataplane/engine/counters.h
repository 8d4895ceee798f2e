// Per-worker counters, indexed by enum (no atomics: one writer, read as snapshots).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "answer/answer_fallback.h"
#include "decode/decoded_packet.h"
#include "normalize/tcp_normalizer.h"

namespace sluice {

enum class Ctr : uint16_t {
    Packets,
    Bytes,
    Ipv4,
    Ipv6,
    Tcp,
    Udp,
    OtherIp,
    NotIp,
    Fragments,
    Malformed,
    FlowsCreated,
    FlowsEnded,
    FlowsTimedOut,
    FlowsEvicted,
    FlowsEvictedEstablished,
    TcpSyn,
    TcpMidstreamPickup,
    TcpMidstreamRoleByContent,  // of those, roles decided by the payload (not the ports)
    TcpRst,
    Forwarded,
    DroppedVerdict,
    DroppedMalformed,
    DroppedFragment,
    DroppedNormalized,  // a host would discard it (normalized_by_reason says why)
    DroppedHeld,        // a client segment held until its TLS secrets arrive (retransmitted)
    RstInjected,
    AnswersForbidden,    // 403 answers started (answer/answer_sender.h)
    AnswersRateLimited,  // 429 answers started
    AnswerSegments,      // answer segments sent (retransmissions included)
    AnswerRetransmits,   // times an answer was resent
    AnswersDelivered,    // answers whose every byte and FIN the client acknowledged
    AnswersAbandoned,    // retransmissions exhausted: the client was reset
    AnswerFramesLost,    // frames a timer could not send (the injector cannot)
    AnswersReclaimed,    // closed answer sessions freed early for a new answer (pool full)
    VerdictsApplied,
    EveRecords,
    EveDropped,
    Count
};

std::string_view counter_name(Ctr c);

struct WorkerCounters {
    std::array<uint64_t, static_cast<size_t>(Ctr::Count)> v{};
    std::array<uint64_t, static_cast<size_t>(DecodeError::Count)> malformed{};
    std::array<uint64_t, kNormReasons> normalized{};
    std::array<uint64_t, kAnswerFallbacks> answer_fallback{};

    uint64_t& operator[](Ctr c) { return v[static_cast<size_t>(c)]; }
    uint64_t operator[](Ctr c) const { return v[static_cast<size_t>(c)]; }
    void add(const WorkerCounters& o) {
        for (size_t i = 0; i < v.size(); ++i) v[i] += o.v[i];
        for (size_t i = 0; i < malformed.size(); ++i) malformed[i] += o.malformed[i];
        for (size_t i = 0; i < normalized.size(); ++i) normalized[i] += o.normalized[i];
        for (size_t i = 0; i < answer_fallback.size(); ++i)
            answer_fallback[i] += o.answer_fallback[i];
    }
};

}  // namespace sluice
