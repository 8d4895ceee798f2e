#!/usr/bin/env bash
# The main job: installs what is missing, builds sluice, synthesizes a mixed LLM-API scenario
# (customers, look-alikes, a distillation hydra, relays, a signup farm: real TCP and TLS with
# its key log and ground truth), and runs it live: sluiced keeps the desired state (the
# shipped packs and policy are pushed to it with sluicectl), a dataplane bridges two memif
# ports inline, sluice-pktgen replays the scenario through it, an account is blocked from the
# CLI mid-run, and a report prints throughput, enforcement, alerts, the accounts and clusters
# flagged with their reasons, and precision/recall against the ground truth. --offline runs
# the dataplane over the capture file instead. Everything lands in out/demo/.
#   tools/demo.sh [--offline] [--scenario NAME] [--seed N] [--scale X] [--rate PPS]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=mixed seed=1 scale=1 live=1 rate=2500
while [ $# -gt 0 ]; do
  case $1 in
    --offline) live=0; shift ;;
    --rate) rate=$2; shift 2 ;;
    --scenario) scenario=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument $1 (--offline, --scenario, --seed, --scale, --rate)" >&2; exit 2 ;;
  esac
done
tools/setup/install-deps.sh
build=$(tools/setup/build.sh release)
out=out/demo
rm -rf "$out" && mkdir -p "$out"
"$build/tools/synth/sluice-synth" --scenario "$scenario" --seed "$seed" --scale "$scale" --out "$out/synth"
if [ "$live" = 0 ]; then
  "$build/dataplane/runtime/sluice-dataplane" --pcap "$out/synth/traffic.pcap" --workers 2 \
    --keylog "$out/synth/keylog.txt" --eve "$out/eve.json" --pcap-out "$out/forwarded.pcap" \
    --summary-json "$out/summary.json" --quiet
  python3 tools/report.py --truth "$out/synth/truth.jsonl" --eve "$out/eve.json" --summary "$out/summary.json"
  echo "files: $out/synth/{traffic.pcap,keylog.txt,truth.jsonl}, $out/eve.json, $out/summary.json"
  exit 0
fi

# Live: sluiced + a dataplane on memif + sluice-pktgen, two CPUs shared (generator on CPU 0,
# the dataplane's I/O lcore and worker on CPU 1, daemon and correlator threads float).
ctl="$build/control/sluicectl"
eal=(--no-huge --no-pci)
# The replay compresses the scenario's minutes into seconds, so every TLS session of it is
# open at once: give decryption room for all of them.
printf 'tls: {decrypt_sessions: 4096}\nhttp: {sessions: 8192}\n' > "$out/dataplane.yaml"
# The demo's own account secret (a live dataplane refuses the public default key).
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$out/account.secret")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
packets=$(python3 -c "import os,sys; f=open(sys.argv[1],'rb'); f.read(24); n=0
while True:
    h=f.read(16)
    if len(h)<16: break
    import struct; l=struct.unpack('<IIII',h)[2]; f.seek(l,1); n+=1
print(n)" "$out/synth/traffic.pcap")
seconds=$(python3 -c "print(max(1.0, 1.04 * $packets / $rate))")  # one pass (the rate runs a little under)
"$build/control/sluiced" --state-dir "$out/state" --socket "$out/sluiced.sock" \
  --dataplane "edge1=$out/dataplane.sock" 2>"$out/sluiced.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$out/sluiced.sock" ] && break; sleep 0.1; done
echo "sluiced: pushing the shipped packs and policy"
"$ctl" --socket "$out/sluiced.sock" rules push rules/packs --message "demo: shipped packs"
"$ctl" --socket "$out/sluiced.sock" policy push rules/policy/default.yaml
"$build/tools/pktgen/sluice-pktgen" --pcap "$out/synth/traffic.pcap" \
  --tx-port "net_memif0,role=server,id=0,socket=$out/a.sock" \
  --rx-port "net_memif1,role=server,id=0,socket=$out/b.sock" --rate "$rate" --duration "$seconds" \
  --drain 2 --json "$out/pktgen.json" -- "${eal[@]}" -m 512 --file-prefix demo-gen --lcores 0@0 \
  >"$out/pktgen.log" 2>&1 &
gen=$!
pids+=($gen)
sleep 1.5
"$build/dataplane/runtime/sluice-dataplane" --port "a=net_memif0,role=client,id=0,socket=$out/a.sock" \
  --port "b=net_memif1,role=client,id=0,socket=$out/b.sock" --inline a:b --workers 1 \
  --lcores 0@1,1@1 --idle-backoff-us 20 --keylog "$out/synth/keylog.txt" --config "$out/dataplane.yaml" \
  --account-secret-file "$out/account.secret" --control "$out/dataplane.sock" --eve "$out/eve.json" --summary-json "$out/summary.json" \
  --accounts-out "$out/accounts.jsonl" --quiet -- "${eal[@]}" -m 1024 --file-prefix demo-dp \
  >"$out/dataplane.log" 2>&1 &
dp=$!
pids+=($dp)
for _ in $(seq 100); do [ -S "$out/dataplane.sock" ] && break; sleep 0.1; done
sleep "$(python3 -c "print($seconds / 3)")"
# Mid-run: an operator blocks the heavy CI account from the CLI (its id computed from truth).
blocked=$(python3 -c "import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r.get('type')=='account' and r['class']=='ci_heavy': print(r['account']); break" "$out/synth/truth.jsonl")
if [ -n "$blocked" ]; then
  echo "operator: sluicectl blocklist add account $blocked"
  "$ctl" --socket "$out/sluiced.sock" blocklist add account "$blocked" --reason "demo: blocked from the CLI"
fi
wait "$gen" || true
sleep 1
"$ctl" --socket "$out/sluiced.sock" dataplanes list || true
kill -TERM "$dp"; wait "$dp" || true
python3 tools/report.py --truth "$out/synth/truth.jsonl" --eve "$out/eve.json" --summary "$out/summary.json" \
  --pktgen "$out/pktgen.json" ${blocked:+--blocked "$blocked"}
echo "files: $out/synth/, $out/eve.json, $out/summary.json, $out/accounts.jsonl, $out/pktgen.json, $out/state/ (sluiced)"
