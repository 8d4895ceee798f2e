#!/usr/bin/env bash
# The main job: installs what is missing, builds sluice, and runs the dataplane in offline
# mode over the bundled real-client captures (tests/data: plaintext HTTP, and TLS 1.2/1.3
# sessions with their key logs), printing its summary. EVE JSON, the forwarded capture and the
# decrypted streams land in out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup/install-deps.sh
build=$(tools/setup/build.sh release)
out=out/demo
mkdir -p "$out"
rm -rf "$out/eve.json" "$out/traffic.pcap" "$out/forwarded.pcap" "$out/streams"
mkdir -p "$out/streams"
mergecap -F pcap -w "$out/traffic.pcap" tests/data/*.pcap tests/data/tls/*.pcap
cat tests/data/tls/*.keylog > "$out/keys.log"  # test fixtures only: never real secrets
"$build/dataplane/runtime/sluice-dataplane" --pcap "$out/traffic.pcap" --workers 2 --keylog "$out/keys.log" \
  --eve "$out/eve.json" --pcap-out "$out/forwarded.pcap" --dump-streams "$out/streams" \
  --summary-json "$out/summary.json"
echo
echo "EVE records: $(wc -l < "$out/eve.json") in $out/eve.json ($(grep -c '"event_type":"tls"' "$out/eve.json") tls)"
echo "forwarded capture: $out/forwarded.pcap; decrypted and plaintext streams: $out/streams/"
