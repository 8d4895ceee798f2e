#!/usr/bin/env bash
# The main job: installs what is missing, builds sluice, and runs the dataplane in offline
# mode over the bundled real-client captures (tests/data), printing its summary. EVE JSON
# and the forwarded capture land in out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup/install-deps.sh
build=$(tools/setup/build.sh release)
out=out/demo
mkdir -p "$out"
rm -f "$out/eve.json" "$out/traffic.pcap" "$out/forwarded.pcap"
mergecap -F pcap -w "$out/traffic.pcap" tests/data/*.pcap
"$build/dataplane/runtime/sluice-dataplane" --pcap "$out/traffic.pcap" --workers 2 \
  --eve "$out/eve.json" --pcap-out "$out/forwarded.pcap" --summary-json "$out/summary.json"
echo
echo "EVE records: $(wc -l < "$out/eve.json") in $out/eve.json; forwarded capture: $out/forwarded.pcap"
