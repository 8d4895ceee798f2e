// Fuzz targets use the libFuzzer entry point, so the same source runs under libFuzzer
// (clang, -Dfuzzing=libfuzzer) or under sluice's own mutation driver (fuzz_driver.cc).
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
