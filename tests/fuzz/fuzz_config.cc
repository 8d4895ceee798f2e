// The YAML configuration loader: any file gives a config or an error message, nothing else.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "fuzz/fuzz_target.h"
#include "runtime/runtime_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/sluice-fuzz-config-" + std::to_string(getpid()) + ".yaml";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    sluice::RuntimeConfig cfg;
    const std::string err = sluice::load_config_file(path, cfg);
    if (err.empty())
        (void)sluice::validate_config(cfg);
    else if (err.find(path) != 0)
        __builtin_trap();  // every error names the file
    return 0;
}
