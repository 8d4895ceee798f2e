#!/usr/bin/env bash
# Configures (once) and builds a build tree. Usage: build.sh release|asan|tsan
# tsan builds only the DPDK-free concurrency tests (Debian's DPDK is not built for
# ThreadSanitizer, and an uninstrumented library in the same process hides or invents races).
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:-release}
targets=()
dir=build/$kind
case $kind in
  # The packages are made from this tree (tools/packaging/build-debs.sh --prebuilt): prefix
  # /usr and Debian's hardening flags (dpkg-buildflags: stack protector, fortified libc calls,
  # read-only relocations bound at load).
  release) opts=(--buildtype=release -Dwerror=true --prefix=/usr
                 "-Dcpp_args=-fstack-protector-strong -D_FORTIFY_SOURCE=2"
                 "-Dc_args=-fstack-protector-strong -D_FORTIFY_SOURCE=2"
                 "-Dcpp_link_args=-Wl,-z,relro -Wl,-z,now" "-Dc_link_args=-Wl,-z,relro -Wl,-z,now") ;;
  # -g1: line tables only (what sanitizer reports print), a fifth less compile and link time.
  asan) opts=(--buildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
              -Dalloc_counting_tests=false -Dcpp_args=-g1 -Dc_args=-g1) ;;
  tsan) opts=(--buildtype=debug -Dwerror=true -Db_sanitize=thread -Db_lundef=false
              -Dalloc_counting_tests=false)
        targets=(tests/sluice-concurrency-tests tests/tsan-canary) ;;
  *) echo "build.sh: unknown build '$kind' (release, asan, tsan)" >&2; exit 2 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir" "${targets[@]}" >/dev/null || { ninja -C "$dir" "${targets[@]}" >&2; exit 1; }
echo "$dir"
