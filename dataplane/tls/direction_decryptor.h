// Decrypts one direction of a TLS session record by record, following the key changes the
// protocol makes in that direction:
//   TLS 1.3: handshake traffic keys until this side's Finished, then application traffic
//            keys; each KeyUpdate moves to the next application secret.
//   TLS 1.2: plaintext until this side's ChangeCipherSpec, then the key block's keys.
// Application data comes out in order; handshake messages and alerts are consumed.
#pragma once

#include <cstdint>
#include <span>

#include "tls/record_cipher.h"

namespace sluice::tls {

class DirectionDecryptor {
  public:
    enum class Result : uint8_t { Skipped, AppData, Consumed, Failed };

    void start_tls13(const SuiteInfo& s, std::span<const uint8_t> handshake_secret,
                     std::span<const uint8_t> traffic_secret);
    void start_tls12(const SuiteInfo& s, const TrafficKeys& keys);
    bool started() const { return started_; }
    void reset();  // back to unstarted; wipes secrets, keeps the cipher context
    ~DirectionDecryptor() { reset(); }
    bool failed() const { return failed_; }

    // One complete record. On AppData, `plain` views the plaintext inside `scratch` (which
    // must hold the record body). Failed means a tag or framing error: the direction stops.
    Result record(std::span<const uint8_t, 5> header, std::span<const uint8_t> body,
                  std::span<uint8_t> scratch, std::span<const uint8_t>& plain);

    uint64_t key_updates() const { return key_updates_; }
    // What this direction's sender protects its next record with: the suite, the current
    // traffic keys and record sequence number (a record sealed in its name: the answer to a
    // stopped request). False unless application keys are in use and nothing failed.
    bool sealing_state(SuiteInfo& s, TrafficKeys& k, uint64_t& seq) const;

  private:
    // Walks decrypted handshake bytes; notes Finished and KeyUpdate at message boundaries.
    void scan_handshake(std::span<const uint8_t> bytes, bool& finished, bool& key_update);
    bool use_app_keys();  // TLS 1.3: the application traffic secret from the next record on
    Result fail() {
        failed_ = true;
        return Result::Failed;
    }

    SuiteInfo suite_{};
    RecordDecryptor cipher_;
    uint8_t app_secret_[48] = {};
    size_t secret_len_ = 0;
    bool started_ = false;
    bool failed_ = false;
    bool tls13_app_ = false;    // TLS 1.3: application keys in use
    bool tls12_armed_ = false;  // TLS 1.2: keys known, waiting for ChangeCipherSpec
    TrafficKeys tls12_keys_{};
    // Handshake message framing across records.
    uint8_t hs_hdr_[4] = {};
    uint8_t hs_have_ = 0;
    uint32_t hs_left_ = 0;
    uint64_t key_updates_ = 0;
};

}  // namespace sluice::tls
