#include "tls/direction_decryptor.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

namespace sluice::tls {
namespace {
constexpr uint8_t kCcs = 20, kAlert = 21, kHandshake = 22, kAppData = 23;
constexpr uint8_t kFinished = 20, kKeyUpdate = 24;
}  // namespace

void DirectionDecryptor::reset() {
    cipher_.reset();
    OPENSSL_cleanse(app_secret_, sizeof app_secret_);
    OPENSSL_cleanse(&tls12_keys_, sizeof tls12_keys_);
    secret_len_ = 0;
    started_ = failed_ = tls13_app_ = tls12_armed_ = false;
    hs_have_ = 0;
    hs_left_ = 0;
    key_updates_ = 0;
}

void DirectionDecryptor::start_tls13(const SuiteInfo& s, std::span<const uint8_t> hs_secret,
                                     std::span<const uint8_t> traffic_secret) {
    suite_ = s;
    secret_len_ = std::min(traffic_secret.size(), sizeof app_secret_);
    std::memcpy(app_secret_, traffic_secret.data(), secret_len_);
    TrafficKeys k;
    started_ = tls13_traffic_keys(s, hs_secret, k) && cipher_.init(s, k);
    OPENSSL_cleanse(&k, sizeof k);
    failed_ = !started_;
}

void DirectionDecryptor::start_tls12(const SuiteInfo& s, const TrafficKeys& keys) {
    suite_ = s;
    tls12_keys_ = keys;
    tls12_armed_ = true;
    started_ = true;
}

void DirectionDecryptor::scan_handshake(std::span<const uint8_t> b, bool& finished,
                                        bool& key_update) {
    while (!b.empty()) {
        if (hs_left_ == 0) {
            if (hs_have_ < 4) {
                const size_t take = std::min<size_t>(4 - hs_have_, b.size());
                std::memcpy(hs_hdr_ + hs_have_, b.data(), take);
                hs_have_ = static_cast<uint8_t>(hs_have_ + take);
                b = b.subspan(take);
                if (hs_have_ < 4) return;
            }
            hs_left_ = uint32_t{hs_hdr_[1]} << 16 | uint32_t{hs_hdr_[2]} << 8 | hs_hdr_[3];
            hs_have_ = 0;
            if (hs_hdr_[0] == kFinished) finished = true;
            if (hs_hdr_[0] == kKeyUpdate) key_update = true;
            continue;
        }
        const size_t take = std::min<size_t>(hs_left_, b.size());
        hs_left_ -= static_cast<uint32_t>(take);
        b = b.subspan(take);
    }
}

bool DirectionDecryptor::use_app_keys() {
    TrafficKeys k;
    tls13_app_ = true;
    const bool ok =
        tls13_traffic_keys(suite_, {app_secret_, secret_len_}, k) && cipher_.init(suite_, k);
    OPENSSL_cleanse(&k, sizeof k);
    return ok;
}

DirectionDecryptor::Result DirectionDecryptor::record(std::span<const uint8_t, 5> header,
                                                      std::span<const uint8_t> body,
                                                      std::span<uint8_t> scratch,
                                                      std::span<const uint8_t>& plain) {
    if (!started_ || failed_) return Result::Skipped;
    const uint8_t type = header[0];
    if (!suite_.tls13 && tls12_armed_) {
        // TLS 1.2: records are plaintext until this side's ChangeCipherSpec.
        if (type == kCcs) {
            tls12_armed_ = false;
            if (!cipher_.init(suite_, tls12_keys_)) return fail();
            OPENSSL_cleanse(&tls12_keys_, sizeof tls12_keys_);
        }
        return Result::Skipped;
    }
    if (suite_.tls13 && type != kAppData) return Result::Skipped;  // CCS (compatibility mode)
    uint8_t inner = 0;
    long n = cipher_.decrypt(header, body, scratch, inner);
    if (n < 0 && suite_.tls13 && !tls13_app_) {
        // This side's encrypted handshake records were never seen (its flight reached sluice
        // before the ClientHello it answers, as on a tap or after a retransmission): its
        // application data starts at the first record under the application keys.
        if (!use_app_keys()) return fail();
        n = cipher_.decrypt(header, body, scratch, inner);
    }
    if (n < 0) return fail();
    const std::span<const uint8_t> pt(scratch.data(), static_cast<size_t>(n));
    if (inner == kAppData) {
        plain = pt;
        return Result::AppData;
    }
    if (inner == kHandshake && suite_.tls13) {
        bool finished = false, key_update = false;
        scan_handshake(pt, finished, key_update);
        if (finished && !tls13_app_) {
            // This side's Finished: application traffic secret from the next record on.
            if (!use_app_keys()) return fail();
        } else if (key_update && tls13_app_) {
            TrafficKeys k;
            if (!tls13_next_secret(suite_.hash, {app_secret_, secret_len_}) ||
                !tls13_traffic_keys(suite_, {app_secret_, secret_len_}, k) ||
                !cipher_.init(suite_, k))
                return fail();
            OPENSSL_cleanse(&k, sizeof k);
            ++key_updates_;
        }
    }
    (void)kAlert;
    return Result::Consumed;
}

bool DirectionDecryptor::sealing_state(SuiteInfo& s, TrafficKeys& k, uint64_t& seq) const {
    const bool app_keys = suite_.tls13 ? tls13_app_ : !tls12_armed_;
    if (!started_ || failed_ || !app_keys || !cipher_.active()) return false;
    s = cipher_.suite();
    k = cipher_.keys();
    seq = cipher_.seq();
    return true;
}

}  // namespace sluice::tls
