#!/usr/bin/env python3
"""Inspection throughput per worker core on an LLM-API mix (sluice-bench-inspect): the same
frames through the engine with flow tracking and reassembly only (baseline, same
invocation), with the HTTP stage, and with the shipped rule packs; ratios against the
baseline. Also rule compile time for generated sets of 1k and 10k rules. Prints a Markdown
table and writes out/bench/inspect.json."""
import argparse
import json
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--flows", type=int, default=2000)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--cpu", default="1", help="pin to this CPU (taskset)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bench/inspect.json"))
    args = ap.parse_args()
    exe = os.path.join(args.build, "tools/bench/sluice-bench-inspect")
    cmd = ["taskset", "-c", args.cpu, exe, "--flows", str(args.flows), "--passes", str(args.passes)]
    r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    t = r["traffic"]
    print(f"Traffic: {t['flows']} flows, {t['requests']} LLM API requests, {t['frames']} frames, "
          f"{t['bytes'] / 1e6:.1f} MB (avg {t['bytes'] / t['frames']:.0f} B/frame)\n")
    print("| setup | Gbps | Mpps | requests/s | ratio vs baseline | alerts |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, label in (("reassembly_unnormalized", "flow + reassembly, no checksums or overlap retention"),
                        ("reassembly_only", "flow + reassembly (baseline)"),
                        ("http", "+ HTTP stage, LLM extraction"),
                        ("http_rules", "+ shipped packs (Hyperscan)"),
                        ("http_rules_accounts", "+ account observations")):
        x = r[name]
        print(f"| {label} | {x['gbps']:.2f} | {x['mpps']:.2f} | {x['requests_per_s']:.0f} | "
              f"{x['ratio']:.2f} | {x['alerts']} |")
    print(f"\nAccount correlation on vs off (worker side): {r['accounts_vs_rules']:.2f}")
    h2 = r["http2"]
    print(f"\nThe same requests over HTTP/2 (h2c, HPACK), packs on: {h2['http2_requests_per_s']:.0f} "
          f"vs {h2['http1_requests_per_s']:.0f} requests/s over HTTP/1.1 (ratio {h2['ratio']:.2f}); "
          f"alerts {h2['alerts_http2']} vs {h2['alerts_http1']}, LLM requests {h2['llm_http2']} vs "
          f"{h2['llm_http1']}")
    h = r["hostile"]
    print(f"\nOne flow in ten hostile (out-of-window RST, conflicting retransmission, gzip bomb, "
          f"random credentials, half-sent hello), inline normalization on: {h['hostile_gbps']:.2f} "
          f"vs {h['clean_gbps']:.2f} Gbit/s on the clean mix (ratio {h['ratio']:.2f}); alerts "
          f"{h['alerts_hostile']} vs {h['alerts_clean']}")
    print("\n| rules | parse s | compile s | database bytes |")
    print("| --- | --- | --- | --- |")
    for n, c in r["compile"].items():
        print(f"| {n} | {c['parse_seconds']:.3f} | {c['compile_seconds']:.3f} | {c['database_bytes']} |")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(r, f, indent=2)


if __name__ == "__main__":
    main()
