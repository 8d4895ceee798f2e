// ClientHello/ServerHello parsers, the JA3/JA4/JA3S computation and the Certificate message
// parser (OpenSSL's DER reader behind it) over any bytes.
#include <memory>

#include "fuzz/fuzz_target.h"
#include "tls/certificate.h"
#include "tls/fingerprint.h"
#include "tls/hello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace sluice::tls;
    static auto fp = std::make_unique<Fingerprints>();
    const std::span<const uint8_t> body(data, size);
    ClientHello ch;
    if (parse_client_hello(body, ch) == ParseStatus::Ok) {
        compute_fingerprints(ch, *fp);
        if (fp->ja4.size() < 36 || fp->ja3_hash.size() != 32) __builtin_trap();
    }
    ServerHello sh;
    if (parse_server_hello(body, sh) == ParseStatus::Ok) {
        static auto sfp = std::make_unique<ServerFingerprint>();
        compute_server_fingerprint(sh, *sfp);
        if (sfp->ja3s_hash.size() != 32) __builtin_trap();
    }
    static auto cert = std::make_unique<CertificateFacts>();
    if (parse_certificate_message(body, *cert) &&
        (cert->chain_length == 0 || cert->fingerprint.size() != 59))
        __builtin_trap();
    return 0;
}
