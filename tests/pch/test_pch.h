// Precompiled once per test binary (meson cpp_pch): the heavy headers nearly every test file
// includes, parsed once instead of once per file. Only third-party and standard headers, so
// editing sluice code never invalidates it. (No include guard: gcc compiles it as a main file.)

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
