// QUIC Initial packet protection (RFC 9001 section 5, RFC 9369 section 3.3): keys derived
// from the client's Destination Connection ID and a per-version salt, header protection
// removed with AES-ECB, the payload opened with AES-128-GCM. Anyone on the path can do this -
// it is what lets sluice read the ClientHello of a QUIC connection, never its 1-RTT data.
#pragma once

#include <array>
#include <cstdint>
#include <span>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace sluice::quic {

struct InitialKeys {
    std::array<uint8_t, 16> key{};
    std::array<uint8_t, 12> iv{};
    std::array<uint8_t, 16> hp{};
};

// The client's (or, with client = false, the server's) Initial keys for `version` (1 or 2).
bool derive_initial_keys(uint32_t version, std::span<const uint8_t> dcid, bool client,
                         InitialKeys& out);

// Opens Initial packets. Owns its two cipher contexts (allocated once, reused).
class InitialOpener {
  public:
    InitialOpener();
    ~InitialOpener();
    InitialOpener(const InitialOpener&) = delete;
    InitialOpener& operator=(const InitialOpener&) = delete;

    // `packet` is a writable copy of one whole packet (its header's packet_len bytes) whose
    // packet number starts at `pn_offset`. Header protection is removed in place, then the
    // payload is decrypted in place: `frames` views the plaintext inside `packet`. False when
    // the packet is too short or its tag does not verify (nothing is delivered then).
    bool open(const InitialKeys& k, std::span<uint8_t> packet, size_t pn_offset,
              std::span<const uint8_t>& frames, uint64_t& packet_number);

  private:
    EVP_CIPHER_CTX* ecb_;
    EVP_CIPHER_CTX* gcm_;
};

}  // namespace sluice::quic
