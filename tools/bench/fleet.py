#!/usr/bin/env python3
"""Fleet benchmark (docs/fleet.md, docs/performance.md): the correlator with evidence shared
through Redis against the same correlator without (sluice-bench-accounts --fleet, interleaved
runs over the same pre-generated observations, the fastest of three each), against a
standalone redis-server and a Redis Cluster of three masters, both started here on loopback
and stopped. Every observation's evidence is published (the queue waits rather than drops), so
the ratio is the whole cost of sharing on a machine where Redis shares the CPUs. Prints a
Markdown table and writes out/bench/fleet.json."""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(ROOT, "tests/support"))
import redis_servers  # noqa: E402


def run(exe, cpu, observations, accounts, seeds):
    cmd = ["taskset", "-c", cpu, exe, "--observations", str(observations), "--accounts", str(accounts),
           "--memory-accounts", "1000", "--fleet", ",".join(seeds)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)["fleet"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--observations", type=int, default=500_000)
    ap.add_argument("--accounts", type=int, default=50_000)
    ap.add_argument("--cpu", default="1", help="pin the benchmark to this CPU (Redis gets the rest)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bench/fleet.json"))
    args = ap.parse_args()
    exe = os.path.join(args.build, "tools/bench/sluice-bench-accounts")
    results = {}
    with redis_servers.Standalone() as s:
        base = int(s.cli("info", "memory").split("used_memory:")[1].split()[0])
        results["standalone"] = run(exe, args.cpu, args.observations, args.accounts, [f"127.0.0.1:{s.port}"])
        used = int(s.cli("info", "memory").split("used_memory:")[1].split()[0]) - base
        keys = int(s.cli("dbsize"))
        # Three runs, each under its own prefix: a third of it is one run's state.
        results["standalone"]["memory"] = {"bytes": used // 3, "keys": keys // 3,
                                           "bytes_per_key": used / max(keys, 1),
                                           "accounts": args.accounts}
    with redis_servers.Cluster(masters=3, replicas=0) as c:
        results["cluster"] = run(exe, args.cpu, args.observations, args.accounts, c.seeds())
    print(f"| Redis | correlator obs/s, fleet off | fleet on | ratio | Redis commands per observation | commands/s | reads |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} ({r['masters']} master{'s' if r['masters'] > 1 else ''}) | {r['off_per_second']:,.0f} | "
              f"{r['on_per_second']:,.0f} | {r['ratio']:.3f} | {r['commands_per_observation']:.2f} | "
              f"{r['commands_per_second']:,.0f} | {r['reads']:,} |")
    m = results["standalone"]["memory"]
    print(f"\nRedis memory for one run ({m['accounts']:,} accounts over the run's windows): "
          f"{m['bytes'] / 2**20:,.1f} MiB in {m['keys']:,} keys ({m['bytes_per_key']:,.0f} B per key)")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
