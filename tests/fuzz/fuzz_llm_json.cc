// LLM request and usage extraction on arbitrary bytes: the body is an exact-size heap copy
// plus the padding simdjson is promised (and allowed) to read, nothing more.
#include <cstring>
#include <memory>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "http/llm_extract.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace sluice::http;
    static LlmExtractor x(1 << 16, 256);
    if (size > (1 << 16)) return 0;
    const size_t cap = size + kJsonPadding;
    std::unique_ptr<char[]> buf(new char[cap]);
    std::memcpy(buf.get(), data, size);
    std::memset(buf.get() + size, 0, kJsonPadding);
    const LlmRequest r = x.parse_request({buf.get(), cap}, size, "/v1/messages");
    // Views must point into the extractor's buffers and stay within the caps.
    if (r.prompt.size() > 256 || r.system.size() > 256 || r.model.size() > 128) __builtin_trap();
    LlmUsage u;
    x.parse_usage({buf.get(), cap}, size, u);
    return 0;
}
