#!/usr/bin/env bash
# Installs the Debian 12 packages sluice needs, only those missing. Idempotent.
set -euo pipefail

PACKAGES=(
  # build
  g++ meson ninja-build pkg-config clang-format
  # libraries
  dpdk dpdk-dev libdpdk-dev libssl-dev libboost-dev libyaml-cpp-dev nlohmann-json3-dev
  libpcap-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libhyperscan-dev libpcre2-dev zlib1g-dev libsimdjson-dev libsodium-dev libnghttp2-dev libhiredis-dev
  # tests and tools: captures, namespaces, real clients and servers
  tshark tcpdump iproute2 ethtool nftables curl nginx-light python3 procps openssl util-linux gdb
  nghttp2-client python3-h2 python3-httpx
  # the fleet's shared store (tests start their own servers)
  redis-server redis-tools stunnel4
  # packages, units and monitoring: debhelper, lintian, man pages, Prometheus, a real browser
  debhelper help2man lintian logrotate systemd prometheus chromium chromium-driver python3-selenium libjs-chart.js
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "sluice: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
