#!/usr/bin/env python3
"""Rule-set loading at the scale public rule sets have: `sluice-dataplane --check-rules` (parse,
validate, compile to Hyperscan, in a fresh process each) over sets from
tools/rulegen/public_rules.py of 3,000, 10,000 and 30,000 rules, with the shipped packs as the
baseline in the same run. Reports wall time, peak resident memory (wait4's ru_maxrss), rules
loaded and skipped, and Hyperscan database bytes; best of --repeat runs. Prints a Markdown
table and writes out/bench/rule_load.json.

  python3 tools/bench/rule_load.py [--repeat 3]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def measure(cmd):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    return time.monotonic() - t0, out, err, p.returncode


def run_one(exe, rules):
    # A small wrapper reaps the dataplane with wait4 and reports that one process's peak RSS
    # (RUSAGE_CHILDREN here would be a running maximum over every run).
    wrapper = ("import os,sys,subprocess;p=subprocess.Popen(sys.argv[1:],stdout=subprocess.PIPE,"
               "stderr=subprocess.DEVNULL);o=p.stdout.read();_,s,r=os.wait4(p.pid,0);"
               "sys.stdout.write(o.decode());sys.stderr.write(str(r.ru_maxrss))")
    cmd = [sys.executable, "-c", wrapper, exe, "--check-rules", "--rules", rules]
    wall, out, err, rc = measure(cmd)
    if rc not in (0, 1):
        raise SystemExit(f"{rules}: --check-rules failed ({rc})")
    loaded = int(re.search(r"^(\d+) rules OK", out, re.M).group(1))
    sk = re.search(r"^(\d+) rules? skipped", out, re.M)
    dbb = int(re.search(r"Hyperscan databases, (\d+) bytes", out).group(1))
    comp = float(re.search(r"compiled in ([0-9.]+) s", out).group(1))
    return {"wall_s": wall, "rss_kib": int(err.strip()), "loaded": loaded,
            "skipped": int(sk.group(1)) if sk else 0, "database_bytes": dbb, "compile_s": comp}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bench/rule_load.json"))
    a = ap.parse_args()
    exe = os.path.join(a.build, "dataplane/runtime/sluice-dataplane")
    gen = os.path.join(ROOT, "tools/rulegen/public_rules.py")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"shipped packs (baseline)": os.path.join(ROOT, "rules/packs")}
        for n in (3000, 10000, 30000):
            path = os.path.join(tmp, f"public-{n}.rules")
            subprocess.run([sys.executable, gen, "--rules", str(n), "--seed", str(a.seed), "--out", path],
                           check=True)
            sets[f"public-shaped {n}"] = path
        for _ in range(a.repeat):  # interleaved, so drift hits every set alike
            for name, path in sets.items():
                r = run_one(exe, path)
                best = results.get(name)
                if best is None or r["wall_s"] < best["wall_s"]:
                    results[name] = r
    base = results["shipped packs (baseline)"]
    print("| rule set | loaded | skipped | wall s | compile s | peak RSS MiB | RSS over baseline MiB | database KiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['loaded']} | {r['skipped']} | {r['wall_s']:.2f} | {r['compile_s']:.3f} | "
              f"{r['rss_kib'] / 1024:.1f} | {(r['rss_kib'] - base['rss_kib']) / 1024:.1f} | "
              f"{r['database_bytes'] / 1024:.0f} |")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
