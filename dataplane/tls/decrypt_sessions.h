// A worker's fixed pool of decryption sessions: per TLS flow being decrypted, one
// DirectionDecryptor per direction and a buffer per direction to assemble a whole record
// (AEAD tags sit at the end: nothing is delivered before the tag verifies).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "tls/direction_decryptor.h"

namespace sluice::tls {

struct DecryptSession {
    static constexpr size_t kMaxRecord = 16384 + 2048 + 256;  // ciphertext limit plus slack
    DirectionDecryptor dir[2];
    std::array<uint8_t, kMaxRecord> record[2];
    uint32_t record_len[2] = {0, 0};
    bool capturing[2] = {false, false};  // the current record started after keys were known
    void reset() {
        for (auto& d : dir) d.reset();
        record_len[0] = record_len[1] = 0;
        capturing[0] = capturing[1] = false;
    }
};

class DecryptSessions {
  public:
    static constexpr uint32_t kNil = 0xffffffffu;
    explicit DecryptSessions(uint32_t count) : sessions_(count) {
        free_.reserve(count);
        for (uint32_t i = count; i > 0; --i) free_.push_back(i - 1);
    }
    uint32_t alloc() {
        if (free_.empty()) return kNil;
        const uint32_t i = free_.back();
        free_.pop_back();
        return i;
    }
    void release(uint32_t i) {
        sessions_[i].reset();
        free_.push_back(i);
    }
    DecryptSession& operator[](uint32_t i) { return sessions_[i]; }

  private:
    std::vector<DecryptSession> sessions_;
    std::vector<uint32_t> free_;
};

}  // namespace sluice::tls
