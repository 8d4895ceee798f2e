#!/usr/bin/env python3
"""Account correlation benchmark (sluice-bench-accounts): correlator observations per second
on one core against a per-account request counter (baseline, same invocation), resident
memory for 1M accounts active within one window, and the decision-to-enforcement delay
through the RCU-published table with two worker threads reading it. Prints a Markdown
table and writes out/bench/accounts.json. The worker-side cost (correlation on vs off) is in
tools/bench/inspect.py."""
import argparse
import json
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--observations", type=int, default=2_000_000)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--memory-accounts", type=int, default=1_000_000)
    ap.add_argument("--cpu", default="1", help="pin to this CPU (taskset)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bench/accounts.json"))
    args = ap.parse_args()
    exe = os.path.join(args.build, "tools/bench/sluice-bench-accounts")
    cmd = ["taskset", "-c", args.cpu, exe, "--observations", str(args.observations), "--accounts",
           str(args.accounts), "--memory-accounts", str(args.memory_accounts)]
    r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    t, m, d = r["throughput"], r["memory"], r["delay"]
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| correlator observations/s (1 core, {t['accounts']} accounts, 5% in hydras) | "
          f"{t['per_second']:,.0f} |")
    print(f"| baseline: request counter per account | {t['baseline_per_second']:,.0f} (ratio {t['ratio']:.3f}) |")
    print(f"| memory after {m['accounts']:,} distinct credentials in one window | "
          f"{m['rss_bytes'] / 2**20:,.0f} MiB resident (budget {m['budget_bytes'] / 2**20:,.0f} MiB; "
          f"{m['tracked']:,} of {m['capacity']:,} held, {m['evicted']:,} evicted in "
          f"{m['evictions']} passes; {m['bytes_per_account']:.0f} B per held account, "
          f"sketches {m['sketch_bytes_per_account']} B) |")
    a, f = d["all_workers_us"], d["first_lookup_us"]
    print(f"| decision -> every worker sees it (RCU quiescence), {d['decisions']} decisions | "
          f"p50 {a['p50']} us, p99 {a['p99']} us, max {a['max']} us |")
    print(f"| decision -> first worker lookup finds it | p50 {f['p50']} us, p99 {f['p99']} us |")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(r, fh, indent=2)


if __name__ == "__main__":
    main()
