#!/usr/bin/env python3
"""TLS record decryption throughput per core: sluice's RecordDecryptor (sluice-bench-decrypt)
against `openssl speed -evp ALG -decrypt` for the same AEAD and record size, in the same
invocation. Prints a Markdown table and writes out/bench/decrypt.json."""
import argparse
import json
import os
import re
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def openssl_gbps(alg, size, seconds):
    out = subprocess.run(["openssl", "speed", "-evp", alg, "-decrypt", "-bytes", str(size), "-seconds", str(seconds)],
                         capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.lower().startswith(alg.split("-")[0]) and "k" in l)
    kbps = float(re.findall(r"([\d.]+)k", line)[-1])  # 1000s of bytes per second
    return kbps * 1000 / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--seconds", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bench/decrypt.json"))
    args = ap.parse_args()
    ours = json.loads(subprocess.run([os.path.join(args.build, "tools/bench/sluice-bench-decrypt"), str(args.size),
                                      str(args.seconds)], capture_output=True, text=True, check=True).stdout)
    report = {}
    print(f"| AEAD ({args.size} B records) | sluice GB/s | openssl speed GB/s | ratio |")
    print("| --- | --- | --- | --- |")
    for alg, gbps in ours.items():
        ref = openssl_gbps(alg, args.size, args.seconds)
        report[alg] = {"sluice_gbps": gbps, "openssl_gbps": ref, "ratio": gbps / ref}
        print(f"| {alg} | {gbps:.2f} | {ref:.2f} | {gbps / ref:.2f} |")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
