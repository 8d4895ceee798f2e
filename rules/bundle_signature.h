// Signed rule bundles: what a dataplane may trust from the control plane
// (docs/control-protocol.md#bundle-signing). sluiced wraps each bundle it ships in an
// envelope signed with Ed25519 (OpenSSL EVP) over every byte of the bundle plus its rule-set
// version, the desired-state generation and the signing key's id:
//
//   "SLUICESB" u32 format (1) | str key_id | u64 version | u64 generation | str bundle | 64-byte
//   signature
//
// (little-endian; str = u32 length + bytes; the signature covers everything before it). A
// dataplane with trusted public keys verifies the signature before any byte of the bundle is
// parsed or any Hyperscan database deserialized, and refuses a generation older than the one
// in force (a replay). Without trusted keys, prebuilt databases are never loaded: the set is
// compiled from the bundle's sources, whose digest the bundle must match.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rules/bundle.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace sluice::rules {

struct BundleSignature {
    std::string key_id;  // 16 hex digits of SHA-256 over the raw Ed25519 public key
    uint64_t version = 0, generation = 0;
};

class SigningKey {
  public:
    // An Ed25519 private key (PEM, as `openssl genpkey -algorithm ed25519` writes it).
    static std::optional<SigningKey> load(const std::string& path, std::string& error);
    const std::string& key_id() const { return key_id_; }
    std::vector<uint8_t> sign(std::span<const uint8_t> bundle, uint64_t version,
                              uint64_t generation) const;

  private:
    std::shared_ptr<EVP_PKEY> key_;
    std::string key_id_;
};

class TrustedKeys {
  public:
    // An Ed25519 public key (PEM, `openssl pkey -pubout`); several may be trusted at once
    // (rotation: trust the new key, switch sluiced to it, then drop the old one).
    bool add_file(const std::string& path, std::string& error);
    size_t size() const { return keys_.size(); }
    std::vector<std::string> key_ids() const;

    // Checks the envelope; on success `sig` and `inner` (a view into `bytes`) are set.
    // False with why ("unsigned bundle", "unknown key …", "bad signature", "malformed …").
    bool verify(std::span<const uint8_t> bytes, BundleSignature& sig,
                std::span<const uint8_t>& inner, std::string& why) const;

  private:
    std::vector<std::pair<std::string, std::shared_ptr<EVP_PKEY>>> keys_;
};

bool is_signed_bundle(std::span<const uint8_t> bytes);

struct TrustedLoad {
    BundleLoad load;                           // compiled.rules null: refused (errors say why)
    std::optional<BundleSignature> signature;  // set when verified
};
// The one policy for a bundle from outside the process (pushed, or --rules-bundle): with
// trusted keys (non-empty), only a verified bundle of a generation >= `min_generation` is
// read, databases included; without, the envelope (if any) is unwrapped unverified and the
// databases are rebuilt from the sources.
TrustedLoad load_bundle(std::span<const uint8_t> bytes, const TrustedKeys* keys,
                        uint64_t min_generation = 0);

}  // namespace sluice::rules
