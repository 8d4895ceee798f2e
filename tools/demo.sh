#!/usr/bin/env bash
# The main job: installs what is missing, builds sluice, and runs the dataplane in offline
# mode over the bundled real-client captures (tests/data: plaintext HTTP, LLM API calls to a
# mock API, and TLS 1.2/1.3 sessions with their key logs) with the shipped rule packs, printing
# its summary and the alerts. EVE JSON, the forwarded capture and the decrypted streams land in
# out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup/install-deps.sh
build=$(tools/setup/build.sh release)
out=out/demo
mkdir -p "$out"
rm -rf "$out/eve.json" "$out/traffic.pcap" "$out/forwarded.pcap" "$out/streams"
mkdir -p "$out/streams"
mergecap -F pcap -w "$out/traffic.pcap" tests/data/*.pcap tests/data/llm/*.pcap tests/data/tls/*.pcap
cat tests/data/tls/*.keylog > "$out/keys.log"  # test fixtures only: never real secrets
"$build/dataplane/runtime/sluice-dataplane" --pcap "$out/traffic.pcap" --workers 2 --keylog "$out/keys.log" \
  --eve "$out/eve.json" --pcap-out "$out/forwarded.pcap" --dump-streams "$out/streams" \
  --summary-json "$out/summary.json"
echo
python3 - "$out/eve.json" <<'PY'
import collections, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
kinds = collections.Counter(r["event_type"] for r in recs)
print(f"EVE records: {len(recs)} in {sys.argv[1]} (" +
      ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")")
alerts = [r for r in recs if r["event_type"] == "alert"]
by_cat = collections.Counter(r["alert"]["category"] for r in alerts)
print("alerts by class: " + (", ".join(f"{c}: {n}" for c, n in by_cat.most_common()) or "none"))
for r in alerts:
    a = r["alert"]
    print(f"  [{a['severity']}] {a['signature_id']} {a['signature']}  "
          f"{r['src_ip']} -> {r.get('http', {}).get('hostname', r['dest_ip'])}"
          f"{r.get('http', {}).get('url', '')}")
llm = [r for r in recs if r["event_type"] == "http" and "llm" in r.get("sluice", {})]
tokens = sum(r["sluice"]["llm"].get("usage", {}).get("output_tokens", 0) for r in llm)
print(f"LLM API requests: {len(llm)} (models: {', '.join(sorted({r['sluice']['llm']['model'] for r in llm}))}); "
      f"output tokens reported: {tokens}")
PY
echo "forwarded capture: $out/forwarded.pcap; decrypted and plaintext streams: $out/streams/"
