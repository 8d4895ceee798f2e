#include "rules/bundle_signature.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace sluice::rules {

namespace {

constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'S', 'B'};
constexpr uint32_t kFormat = 1;
constexpr size_t kSigBytes = 64;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* k) {
    return {k, EVP_PKEY_free};
}

std::string key_id_of(EVP_PKEY* k) {
    uint8_t raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1) return {};
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256(raw, len, d);
    char hex[17];
    for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return {hex, 16};
}

std::shared_ptr<EVP_PKEY> read_pem(const std::string& path, bool is_private, std::string& error) {
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (!f) {
        error = path + ": " + std::strerror(errno);
        return nullptr;
    }
    EVP_PKEY* k = is_private ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr)
                             : PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        if (k) EVP_PKEY_free(k);
        error = path + ": not an Ed25519 " + (is_private ? "private" : "public") +
                " key in PEM (openssl genpkey -algorithm ed25519; openssl pkey -pubout)";
        return nullptr;
    }
    return own(k);
}

void put32(std::vector<uint8_t>& o, uint32_t v) {
    for (int i = 0; i < 4; ++i) o.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put64(std::vector<uint8_t>& o, uint64_t v) {
    for (int i = 0; i < 8; ++i) o.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// The envelope's fields, bounds-checked; `signed_len` is what the signature covers.
struct Envelope {
    BundleSignature sig;
    std::span<const uint8_t> inner, signature;
    size_t signed_len = 0;
};
bool parse(std::span<const uint8_t> b, Envelope& e) {
    size_t p = sizeof kMagic;
    auto u = [&](int bytes, uint64_t& v) {
        if (b.size() - p < static_cast<size_t>(bytes)) return false;
        v = 0;
        for (int i = 0; i < bytes; ++i) v |= uint64_t{b[p + i]} << (8 * i);
        p += bytes;
        return true;
    };
    uint64_t format = 0, n = 0;
    if (!is_signed_bundle(b) || !u(4, format) || format != kFormat || !u(4, n) || n > 64 ||
        b.size() - p < n)
        return false;
    e.sig.key_id.assign(reinterpret_cast<const char*>(b.data() + p), n);
    p += n;
    if (!u(8, e.sig.version) || !u(8, e.sig.generation) || !u(4, n) || b.size() - p < n)
        return false;
    e.inner = b.subspan(p, n);
    p += n;
    if (b.size() - p != kSigBytes) return false;
    e.signed_len = p;
    e.signature = b.subspan(p);
    return true;
}

}  // namespace

bool is_signed_bundle(std::span<const uint8_t> bytes) {
    return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

std::optional<SigningKey> SigningKey::load(const std::string& path, std::string& error) {
    SigningKey k;
    k.key_ = read_pem(path, true, error);
    if (!k.key_) return std::nullopt;
    k.key_id_ = key_id_of(k.key_.get());
    return k;
}

std::vector<uint8_t> SigningKey::sign(std::span<const uint8_t> bundle, uint64_t version,
                                      uint64_t generation) const {
    std::vector<uint8_t> out(kMagic, kMagic + sizeof kMagic);
    put32(out, kFormat);
    put32(out, static_cast<uint32_t>(key_id_.size()));
    out.insert(out.end(), key_id_.begin(), key_id_.end());
    put64(out, version);
    put64(out, generation);
    put32(out, static_cast<uint32_t>(bundle.size()));
    out.insert(out.end(), bundle.begin(), bundle.end());
    uint8_t sig[kSigBytes];
    size_t len = sizeof sig;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &len, out.data(), out.size()) != 1 || len != kSigBytes)
        return {};
    out.insert(out.end(), sig, sig + len);
    return out;
}

bool TrustedKeys::add_file(const std::string& path, std::string& error) {
    auto k = read_pem(path, false, error);
    if (!k) return false;
    keys_.emplace_back(key_id_of(k.get()), std::move(k));
    return true;
}

std::vector<std::string> TrustedKeys::key_ids() const {
    std::vector<std::string> ids;
    for (const auto& [id, k] : keys_) ids.push_back(id);
    return ids;
}

bool TrustedKeys::verify(std::span<const uint8_t> bytes, BundleSignature& sig,
                         std::span<const uint8_t>& inner, std::string& why) const {
    if (!is_signed_bundle(bytes)) {
        why = "unsigned bundle";
        return false;
    }
    Envelope e;
    if (!parse(bytes, e)) {
        why = "malformed signed bundle";
        return false;
    }
    const auto it = std::find_if(keys_.begin(), keys_.end(),
                                 [&](const auto& k) { return k.first == e.sig.key_id; });
    if (it == keys_.end()) {
        why = "signed by unknown key " + e.sig.key_id;
        return false;
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, it->second.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), e.signature.data(), e.signature.size(), bytes.data(),
                         e.signed_len) != 1) {
        why = "bad signature (key " + e.sig.key_id + "): the bundle was altered or forged";
        return false;
    }
    sig = e.sig;
    inner = e.inner;
    return true;
}

TrustedLoad load_bundle(std::span<const uint8_t> bytes, const TrustedKeys* keys,
                        uint64_t min_generation) {
    TrustedLoad out;
    auto refuse = [&](std::string msg) {
        out.load.compiled.errors.push_back({{"bundle", 0, 0}, std::move(msg)});
        return std::move(out);
    };
    if (keys != nullptr && keys->size() > 0) {
        BundleSignature sig;
        std::span<const uint8_t> inner;
        std::string why;
        if (!keys->verify(bytes, sig, inner, why)) {
            std::string ids;
            for (const auto& id : keys->key_ids()) ids += (ids.empty() ? "" : ", ") + id;
            return refuse(why + " (this dataplane trusts only bundles signed by " + ids + ")");
        }
        if (sig.generation < min_generation)
            return refuse("replayed bundle: generation " + std::to_string(sig.generation) +
                          " is older than the " + std::to_string(min_generation) + " in force");
        out.load = read_bundle(inner, DatabaseTrust::Load);
        out.signature = sig;
        return out;
    }
    Envelope e;
    if (is_signed_bundle(bytes)) {
        if (!parse(bytes, e)) return refuse("malformed signed bundle");
        bytes = e.inner;  // no key to check it with: only the sources are used
    }
    out.load = read_bundle(bytes, DatabaseTrust::Rebuild);
    return out;
}

}  // namespace sluice::rules
