#!/usr/bin/env bash
# The whole sluice test suite: installs what is missing, builds the release (-Werror), the
# sanitizer (ASan+UBSan) and the ThreadSanitizer trees, runs every suite in the release tree,
# the unit, fuzz and integration suites under ASan+UBSan - except the three longest integration
# runs (suite 'long': offline, tls-decrypt and tls-fingerprints, 22 minutes under ASan, and the
# pktgen rate test), which run in the release tree only - and the concurrency suite under TSan
# (only its DPDK-free binaries are built there). Suite 'sanitizer-only' (control-hardening:
# hostile control clients) runs under ASan only. Suite 'release-only' (the Debian packages made
# from the release tree, the dashboard in Chromium with Prometheus) runs in the release tree
# only; suite 'slow' (the packages built from source, ~6 min) is not run here.
# Needs root for the namespace end-to-end tests.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup/install-deps.sh || exit 1
tools/setup/build.sh release >/dev/null || exit 1
tools/setup/build.sh asan >/dev/null || exit 1
tools/setup/build.sh tsan >/dev/null || exit 1

status=0
# Sanitizer runs: leak checking is off for the DPDK binary (EAL keeps memory until exit).
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build/asan --print-errorlogs --no-rebuild --logbase sanitizers --suite unit --suite fuzz --suite concurrency || status=1
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build/asan --print-errorlogs --no-rebuild --logbase sanitizers-integration --suite integration --no-suite long --no-suite release-only || status=1
# Any race report fails the run (exit 66); tsan-canary is the positive control (must fail).
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  meson test -C build/tsan --print-errorlogs --no-rebuild --logbase tsan --suite concurrency || status=1
meson test -C build/release --print-errorlogs --no-rebuild --logbase release --no-suite sanitizer-only --no-suite slow || status=1

python3 tools/setup/test_summary.py build/asan/meson-logs/sanitizers.json \
  build/asan/meson-logs/sanitizers-integration.json build/tsan/meson-logs/tsan.json \
  build/release/meson-logs/release.json
exit $status
