#!/usr/bin/env python3
"""Capacity matrix: sluice-pktgen replays sluice-synth traffic into the dataplane over
net_memif and receives it back; for each packet mix, stage and worker count it records the
throughput the dataplane sustained (flat-out runs; --ndr adds a zero-loss search per cell).
A dpdk-testpmd io forwarder on the same memif pair is the baseline of the same invocation.
Writes out/bench/matrix.json and out/bench/matrix.html (bar chart), and with --update-docs
refreshes the matrix table in docs/performance.md.

Stages: flow (flow tracking + reassembly: no HTTP stage, no rules), http (+ HTTP parsing and
LLM extraction), full (+ the shipped packs; TLS mixes decrypted with the synth key log)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
EAL = ["--no-huge", "-m", "1024", "--no-pci"]


def start_generator(build, pcap, sa, sb, tag, args, gen_cpu):
    return subprocess.Popen(
        [os.path.join(build, "tools/pktgen/sluice-pktgen"), "--pcap", pcap,
         "--tx-port", f"net_memif0,role=server,id=0,socket={sa}",
         "--rx-port", f"net_memif1,role=server,id=0,socket={sb}", *args,
         "--", *EAL, "--file-prefix", f"mx-gen-{tag}", "--lcores", f"0@{gen_cpu}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_generator(gen):
    # memif sockets are abstract (no file to wait for): give the generator's EAL time to
    # create them; the dataplane's memif client would fail on a missing server.
    time.sleep(1.5)
    if gen.poll() is not None:
        raise RuntimeError("sluice-pktgen exited early: " + gen.stderr.read())


def run_cell(a, pcap, keylog, stage, workers, tmp, tag, dut_cpu):
    sa, sb = os.path.join(tmp, f"a{tag}.sock"), os.path.join(tmp, f"b{tag}.sock")
    report = os.path.join(tmp, f"r{tag}.json")
    gen_args = ["--json", report]
    gen_args += (["--search", "--trial", str(a.seconds), "--max-rate", str(a.max_rate)] if a.ndr
                 else ["--rate", "0", "--duration", str(a.seconds)])
    gen = start_generator(a.build, pcap, sa, sb, tag, gen_args, a.gen_cpu)
    wait_generator(gen)
    budget = (a.seconds * 12 if a.ndr else a.seconds) + 6
    if stage == "testpmd":
        dut = subprocess.Popen(
            ["dpdk-testpmd", f"--lcores=0@{dut_cpu},1@{dut_cpu}", *EAL, "--file-prefix", f"mx-dut-{tag}",
             f"--vdev=net_memif0,role=client,id=0,socket={sa}", f"--vdev=net_memif1,role=client,id=0,socket={sb}",
             "--", "--forward-mode=io", "-a", "--stats-period", "0"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        cfg = os.path.join(tmp, f"c{tag}.yaml")
        with open(cfg, "w") as f:
            f.write(f"http: {{enabled: {'false' if stage == 'flow' else 'true'}}}\n"
                    f"rules: {{enabled: {'true' if stage == 'full' else 'false'}}}\n")
        lcores = ",".join([f"0@{dut_cpu}"] + [f"{i + 1}@{dut_cpu}" for i in range(workers)])
        cmd = [os.path.join(a.build, "dataplane/runtime/sluice-dataplane"), "--config", cfg,
               "--port", f"a=net_memif0,role=client,id=0,socket={sa}",
               "--port", f"b=net_memif1,role=client,id=0,socket={sb}", "--inline", "a:b",
               "--workers", str(workers), "--lcores", lcores, "--duration", str(budget), "--quiet",
               "--no-enforce",  # capacity: the replayed attack mix must not be blocked
               "--allow-default-account-secret"]  # a lab measurement, no real accounts
        if stage == "full" and keylog:
            cmd += ["--keylog", keylog]
        dut = subprocess.Popen(cmd + ["--", *EAL, "--file-prefix", f"mx-dut-{tag}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        gen.communicate(timeout=budget + 60)
    finally:
        dut.terminate()
        try:
            dut.wait(timeout=20)
        except subprocess.TimeoutExpired:
            dut.kill()
    with open(report) as f:
        rep = json.load(f)
    if a.ndr:
        s = rep["search"]
        best = next((t["result"] for t in s["trials"] if t["rate_pps"] == s["ndr_pps"]), None)
        return {"ndr_pps": s["ndr_pps"], "gbps": best["received_gbps"] if best else 0.0,
                "mpps": s["ndr_pps"] / 1e6, "loss_ratio": best["loss_ratio"] if best else 1.0}
    r = rep["run"]
    return {"mpps": r["received_pps"] / 1e6, "gbps": r["received_gbps"], "loss_ratio": r["loss_ratio"],
            "offered_mpps": r["offered_pps"] / 1e6, "latency_us": r.get("latency_us")}


def html(results, path):
    rows = [(k, v) for k, v in results["cells"].items()]
    top = max((v["gbps"] for _, v in rows), default=1) or 1
    bars = []
    for i, (k, v) in enumerate(rows):
        w = 500 * v["gbps"] / top
        bars.append(f'<text x="0" y="{i * 24 + 16}" font-size="12">{k}</text>'
                    f'<rect x="260" y="{i * 24 + 4}" width="{w:.1f}" height="16" fill="#4a7"/>'
                    f'<text x="{265 + w:.1f}" y="{i * 24 + 16}" font-size="12">{v["gbps"]:.3f} Gbit/s, '
                    f'{v["mpps"]:.3f} Mpps</text>')
    with open(path, "w") as f:
        f.write(f"<html><body><h3>sluice capacity matrix ({results['when']})</h3>"
                f'<svg width="1000" height="{len(rows) * 24 + 10}" font-family="sans-serif">'
                + "".join(bars) + "</svg><pre>" + json.dumps(results, indent=1) + "</pre></body></html>")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--mixes", default="plaintext,tls", help="comma list: plaintext, tls")
    ap.add_argument("--stages", default="testpmd,flow,http,full")
    ap.add_argument("--workers", default="1,2", help="comma list of worker counts")
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--scale", default="0.5", help="sluice-synth --scale of the mixed scenario")
    ap.add_argument("--ndr", action="store_true", help="zero-loss search per cell instead of flat out")
    ap.add_argument("--max-rate", type=float, default=2e6)
    ap.add_argument("--gen-cpu", default="0")
    ap.add_argument("--dut-cpu", default="1")
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bench"))
    ap.add_argument("--update-docs", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="sluice-matrix-")
    results = {"when": time.strftime("%Y-%m-%d %H:%M"), "mode": "ndr" if a.ndr else "flat-out",
               "seconds": a.seconds, "cells": {}}
    try:
        for mix in a.mixes.split(","):
            d = os.path.join(tmp, mix)
            subprocess.run([os.path.join(a.build, "tools/synth/sluice-synth"), "--scenario", "mixed",
                            "--scale", a.scale, "--seed", "1", "--out", d, "--quiet"]
                           + (["--plaintext"] if mix == "plaintext" else []), check=True)
            pcap, keylog = os.path.join(d, "traffic.pcap"), os.path.join(d, "keylog.txt")
            for stage in a.stages.split(","):
                for w in ([1] if stage == "testpmd" else [int(x) for x in a.workers.split(",")]):
                    key = f"{mix}/{stage}/{w}w"
                    cell = run_cell(a, pcap, keylog if mix == "tls" else None, stage, w, tmp,
                                    f"{len(results['cells'])}-{os.getpid()}", a.dut_cpu)
                    results["cells"][key] = cell
                    print(f"{key:24s} {cell['mpps']:.3f} Mpps {cell['gbps']:.3f} Gbit/s "
                          f"loss {cell['loss_ratio']:.4f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for mix in a.mixes.split(","):
        base = results["cells"].get(f"{mix}/testpmd/1w")
        for k, v in results["cells"].items():
            if base and k.startswith(mix + "/") and base["mpps"] > 0:
                v["ratio_vs_testpmd"] = v["mpps"] / base["mpps"]
    with open(os.path.join(a.out, "matrix.json"), "w") as f:
        json.dump(results, f, indent=2)
    html(results, os.path.join(a.out, "matrix.html"))
    table = ["| mix / stage / workers | Mpps | Gbit/s | loss | vs testpmd |", "| --- | --- | --- | --- | --- |"]
    for k, v in results["cells"].items():
        table.append(f"| {k} | {v['mpps']:.3f} | {v['gbps']:.3f} | {v['loss_ratio']:.4f} | "
                     f"{v.get('ratio_vs_testpmd', 0):.2f} |")
    print("\n".join(table))
    if a.update_docs:
        doc = os.path.join(ROOT, "docs/performance.md")
        with open(doc) as f:
            text = f.read()
        begin, end = "<!-- matrix:begin -->", "<!-- matrix:end -->"
        block = f"{begin}\nMeasured {results['when']} ({results['mode']}, {a.seconds} s per cell):\n\n" \
                + "\n".join(table) + f"\n{end}"
        if begin in text:
            text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text += "\n## Capacity matrix (sluice-pktgen over memif)\n\n`python3 tools/bench/matrix.py " \
                    "--update-docs`\n\n" + block + "\n"
        with open(doc, "w") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main())
