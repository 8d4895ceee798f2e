// A worker's fixed pool of decryption sessions: per TLS flow being decrypted, one
// DirectionDecryptor per direction and a buffer per direction to assemble a whole record
// (AEAD tags sit at the end: nothing is delivered before the tag verifies).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/index_pool.h"
#include "tls/direction_decryptor.h"

namespace sluice {
struct Flow;
}

namespace sluice::tls {

struct DecryptSession {
    static constexpr size_t kMaxRecord = 16384 + 2048 + 256;  // ciphertext limit plus slack
    DirectionDecryptor dir[2];
    // Waiting for secrets the terminator has not exported yet: whole records queue up in
    // `pending` ([5-byte header][fragment]...) within a fixed capacity, then replay.
    bool waiting = false;
    uint64_t ready_seq = 0;  // simulated export delay: secrets usable from this packet on
    uint16_t suite = 0;
    uint16_t version = 0;
    std::array<uint8_t, 32> client_random{};
    std::array<uint8_t, 32> server_random{};
    std::vector<uint8_t> pending[2];
    std::array<uint8_t, kMaxRecord> record[2];
    uint32_t record_len[2] = {0, 0};
    bool capturing[2] = {false, false};  // the current record started after keys were known
    // The flow holding the session (valid while its flow_id matches: flow slots are reused)
    // and the packet time of its last record, so the longest idle holder can be taken back.
    Flow* owner = nullptr;
    uint64_t owner_id = 0;
    uint64_t last_ns = 0;
    uint64_t hold_since_ns = 0;  // inline: first client segment held for the secrets
    void reset() {
        hold_since_ns = 0;
        owner = nullptr;
        owner_id = 0;
        for (auto& d : dir) d.reset();
        record_len[0] = record_len[1] = 0;
        capturing[0] = capturing[1] = false;
        waiting = false;
        for (auto& p : pending) p.clear();  // keeps capacity: no allocation on reuse
    }
};

class DecryptSessions {
  public:
    static constexpr uint32_t kNil = IndexPool::kNil;
    DecryptSessions(uint32_t count, uint32_t pending_bytes)
        : pending_bytes_(pending_bytes), sessions_(count), free_(count) {
        for (auto& s : sessions_)
            for (auto& p : s.pending) p.reserve(pending_bytes);
    }
    uint32_t alloc() { return free_.alloc(); }
    void release(uint32_t i) {
        sessions_[i].reset();
        free_.release(i);
    }
    DecryptSession& operator[](uint32_t i) { return sessions_[i]; }
    const DecryptSession& operator[](uint32_t i) const { return sessions_[i]; }
    uint32_t pending_bytes() const { return pending_bytes_; }
    uint32_t count() const { return static_cast<uint32_t>(sessions_.size()); }
    size_t in_use() const { return free_.in_use(); }

  private:
    uint32_t pending_bytes_;
    std::vector<DecryptSession> sessions_;
    IndexPool free_;
};

}  // namespace sluice::tls
