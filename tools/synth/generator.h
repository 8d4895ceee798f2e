// sluice-synth's generator: builds the scenario's accounts, schedules their sessions in time,
// and writes each session as real TCP (and real TLS, made by OpenSSL in memory) to
// DIR/traffic.pcap, with DIR/keylog.txt and the ground truth DIR/truth.jsonl. Single-threaded
// and seeded end to end (OpenSSL's randomness included), so a seed names the bytes. Memory is
// bounded by the sessions in flight, not by the capture's size.
#pragma once

#include <cstdint>
#include <string>

#include "scenario.h"

namespace sluice::synth {

struct SynthOptions {
    Scenario scenario;
    uint64_t seed = 1;
    bool plaintext = false;  // no TLS (traffic behind a TLS terminator)
    // The API speaks HTTP/2: clients whose stack offers h2 (curl, browsers) negotiate it over
    // TLS, and use h2c with prior knowledge in plaintext; the others speak HTTP/1.1.
    bool http2 = true;
    std::string out_dir;
    bool progress = false;
    // Account ids in the truth are the dataplane's (HMAC-SHA256 under this key, first 16 hex):
    // the default equals the dataplane's built-in default key.
    std::string account_secret = "sluice-default-account-secret-change-me";
};

struct SynthStats {
    uint64_t accounts = 0, sessions = 0, requests = 0, packets = 0, bytes = 0;
    uint64_t attack_requests = 0;
    uint64_t http2_sessions = 0;
};

bool generate(const SynthOptions& opts, SynthStats& stats, std::string& error);

}  // namespace sluice::synth
