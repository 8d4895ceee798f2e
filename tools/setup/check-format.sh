#!/usr/bin/env bash
# Fails if any C++ source differs from .clang-format (run clang-format -i to fix).
set -euo pipefail
cd "$(dirname "$0")/../.."
files=$(git ls-files '*.cc' '*.h' 2>/dev/null || find dataplane tools tests rules control -name '*.cc' -o -name '*.h')
clang-format --dry-run --Werror $files
