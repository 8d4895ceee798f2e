// Redis Cluster key slots (the cluster specification's "Keys distribution model"): CRC16
// (XMODEM: polynomial 0x1021, initial value 0) of the key, or of its hash tag - the bytes
// between the first '{' and the next '}' when that is not empty - modulo 16384. Keys that
// share a tag share a slot, so one account's window keys can be read together (PFCOUNT over
// several keys, a pipeline to one node).
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::fleet {

inline constexpr uint16_t kClusterSlots = 16384;

uint16_t crc16_xmodem(std::string_view data);
// The part of `key` that is hashed: its tag, or the whole key.
std::string_view hash_tag(std::string_view key);
uint16_t key_slot(std::string_view key);

}  // namespace sluice::fleet
