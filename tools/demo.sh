#!/usr/bin/env bash
# The main job: installs what is missing, builds sluice, synthesizes a mixed LLM-API scenario
# (customers, look-alikes, a distillation hydra, relays, a signup farm: real TCP and TLS with
# its key log and ground truth), runs the dataplane in offline mode over it with the shipped
# rule packs, and prints a report: throughput, alerts by class, and detection against the
# ground truth. Everything lands in out/demo/.
#   tools/demo.sh [--scenario NAME] [--seed N] [--scale X]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=mixed seed=1 scale=1
while [ $# -gt 0 ]; do
  case $1 in
    --scenario) scenario=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument $1 (--scenario, --seed, --scale)" >&2; exit 2 ;;
  esac
done
tools/setup/install-deps.sh
build=$(tools/setup/build.sh release)
out=out/demo
rm -rf "$out" && mkdir -p "$out"
"$build/tools/synth/sluice-synth" --scenario "$scenario" --seed "$seed" --scale "$scale" --out "$out/synth"
"$build/dataplane/runtime/sluice-dataplane" --pcap "$out/synth/traffic.pcap" --workers 2 \
  --keylog "$out/synth/keylog.txt" --eve "$out/eve.json" --pcap-out "$out/forwarded.pcap" \
  --summary-json "$out/summary.json" --quiet
python3 tools/report.py --truth "$out/synth/truth.jsonl" --eve "$out/eve.json" --summary "$out/summary.json"
echo "files: $out/synth/{traffic.pcap,keylog.txt,truth.jsonl}, $out/eve.json, $out/summary.json"
