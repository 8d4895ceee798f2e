// ClientHello/ServerHello parsers and the JA3/JA4 computation over any bytes.
#include <memory>

#include "fuzz/fuzz_target.h"
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
    (void)parse_server_hello(body, sh);
    return 0;
}
