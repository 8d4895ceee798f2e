#!/usr/bin/env python3
"""Pass-through benchmark: Mpps that one worker core forwards, sluice-dataplane against
dpdk-testpmd io forwarding on the same virtual ports in the same invocation.

  generator (dpdk-testpmd txonly, CPU 0) --memif--> DUT (CPU 1) --> net_null (no rx)

Both DUTs are measured the same way: the out port's opackets read twice through DPDK
telemetry, after a warm-up. sluice runs its full current pipeline (decode, flow table,
reassembly, verdicts) in the run-to-completion (rss) topology with one worker.
Writes JSON (default out/bench/passthrough.json) and prints a table row.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
EAL = ["--no-huge", "-m", "512", "--no-pci"]


def telemetry(prefix, cmd):
    p = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input=cmd + "\n", text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
    m = re.search(r"\{.*\}", p.stdout, re.S)
    return json.loads(m.group(0)) if m else {}


def opackets(prefix, port):
    d = telemetry(prefix, f"/ethdev/stats,{port}")
    return d.get(f"/ethdev/stats", {}).get("opackets")


def measure(dut, args, sock):
    gen = subprocess.Popen(
        ["dpdk-testpmd", f"--lcores=0@{args.gen_cpu},1@{args.gen_cpu}", *EAL, "--file-prefix", "sl-bench-gen",
         f"--vdev=net_memif0,role=server,id=0,socket={sock}", "--",
         "--forward-mode=txonly", "--txonly-multi-flow", f"--txpkts={args.size - 4}", "-a",
         "--stats-period", "1", "--no-lsc-interrupt", "--total-num-mbufs=16384"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    c = args.dut_cpu
    memif = f"net_memif0,role=client,id=0,socket={sock}"
    if dut == "testpmd-io":
        cmd = ["dpdk-testpmd", f"--lcores=0@{c},1@{c}", *EAL, "--file-prefix", "sl-bench-dut",
               f"--vdev={memif}", "--vdev=net_null0,no-rx=1", "--", "--forward-mode=io", "-a",
               "--stats-period", "1", "--no-lsc-interrupt", "--total-num-mbufs=16384"]
    else:
        cmd = [os.path.join(args.build, "dataplane/runtime/sluice-dataplane"), f"--lcores=0@{c}",
               "--topology", "rss", "--workers", "1", "--port", f"in={memif}",
               "--port", "out=net_null0,no-rx=1", "--inline", "in:out", "--mbufs", "16383", "--quiet",
               "--allow-default-account-secret",  # a lab measurement, no real accounts
               "--", *EAL, "--file-prefix", "sl-bench-dut"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(args.warmup)
        a, ta = opackets("sl-bench-dut", 1), time.monotonic()
        time.sleep(args.seconds)
        b, tb = opackets("sl-bench-dut", 1), time.monotonic()
    finally:
        for p in (proc, gen):
            p.send_signal(signal.SIGINT)
        for p in (proc, gen):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    if a is None or b is None:
        raise SystemExit(f"{dut}: could not read telemetry")
    return (b - a) / (tb - ta) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--size", type=int, default=64, help="frame size in bytes")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gen-cpu", type=int, default=0)
    ap.add_argument("--dut-cpu", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bench/passthrough.json"))
    args = ap.parse_args()
    results = {"testpmd-io": [], "sluice": []}
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, "memif.sock")
        for _ in range(args.repeat):
            for dut in results:
                results[dut].append(measure(dut, args, sock))
    # Runs alternate between the two DUTs so drift on a shared VM hits both; report medians.
    best = {k: statistics.median(v) for k, v in results.items()}
    report = {"frame_bytes": args.size, "seconds": args.seconds, "runs_mpps": results, "median_mpps": best,
              "ratio_sluice_to_testpmd": best["sluice"] / best["testpmd-io"],
              "cpus": {"generator": args.gen_cpu, "dut": args.dut_cpu}}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    runs = lambda k: ", ".join(f"{x:.2f}" for x in results[k])
    print(f"| {args.size} B | {best['testpmd-io']:.2f} ({runs('testpmd-io')}) | {best['sluice']:.2f} ({runs('sluice')}) "
          f"| {report['ratio_sluice_to_testpmd']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
