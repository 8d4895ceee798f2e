#!/usr/bin/env bash
# Configures (once) and builds a build tree. Usage: build.sh release|asan
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:-release}
dir=build/$kind
case $kind in
  release) opts=(--buildtype=release -Dwerror=true) ;;
  asan) opts=(--buildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
              -Dalloc_counting_tests=false) ;;
  *) echo "build.sh: unknown build '$kind' (release, asan)" >&2; exit 2 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir" >/dev/null || { ninja -C "$dir" >&2; exit 1; }
echo "$dir"
