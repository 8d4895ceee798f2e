#!/usr/bin/env python3
"""sluice-pktgen against the dataplane over net_memif (two DPDK processes): a synthesized
capture replayed for several loops arrives whole (every packet sent comes back through the
inline dataplane, latency measured), each loop makes new flows the dataplane parses as new
HTTP requests, and the zero-loss search runs its trials and reports a no-drop rate."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

PKTGEN = os.path.join(t.BUILD, "tools/pktgen/sluice-pktgen")
SYNTH = os.path.join(t.BUILD, "tools/synth/sluice-synth")
EAL = ["--no-huge", "-m", "512", "--no-pci"]


class Pktgen(t.TempDirTest):
    def setUp(self):
        super().setUp()
        self.cap = os.path.join(self.tmp, "synth")
        t.run([SYNTH, "--scenario", "quickstart", "--plaintext", "--seed", "2", "--out", self.cap, "--quiet"])
        with open(os.path.join(self.cap, "truth.jsonl")) as f:
            tr = [json.loads(line) for line in f]
        self.requests = sum(1 for r in tr if r["type"] == "request")
        self.frames = t.capinfos(os.path.join(self.cap, "traffic.pcap"))[0]

    def run_pair(self, pktgen_args, dp_seconds):
        tag = f"{os.getpid()}-{int(time.time() * 1000) % 100000}"
        sa, sb = os.path.join(self.tmp, f"a-{tag}.sock"), os.path.join(self.tmp, f"b-{tag}.sock")
        report = os.path.join(self.tmp, f"pg-{tag}.json")
        summary = os.path.join(self.tmp, f"dp-{tag}.json")
        gen = subprocess.Popen(
            [PKTGEN, "--pcap", os.path.join(self.cap, "traffic.pcap"),
             "--tx-port", f"net_memif0,role=server,id=0,socket={sa}",
             "--rx-port", f"net_memif1,role=server,id=0,socket={sb}", "--json", report, *pktgen_args,
             "--", *EAL, "--file-prefix", f"slpg-{tag}", "--lcores", "0@0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # memif sockets are abstract (no file appears): give the generator's EAL time to create
        # them before the dataplane's memif client connects.
        time.sleep(1.5)
        self.assertIsNone(gen.poll(), "sluice-pktgen exited early")
        dp = t.dataplane(*t.SECRET_ARGS, "--port", f"a=net_memif0,role=client,id=0,socket={sa}",
                         "--port", f"b=net_memif1,role=client,id=0,socket={sb}", "--inline", "a:b",
                         "--workers", "1", "--lcores", "0@1,1@1", "--idle-backoff-us", "20",
                         # Forwarding is under test: the replayed attack traffic would otherwise
                         # (rightly) be blocked by the account policy.
                         "--no-enforce",
                         "--duration", str(dp_seconds), "--summary-json", summary, "--quiet", "--",
                         *EAL, "--file-prefix", f"sldp-{tag}", check=False)
        out, err = gen.communicate(timeout=120)
        self.assertEqual(gen.returncode, 0, err)
        self.assertEqual(dp.returncode, 0, dp.stderr)
        with open(report) as f:
            rep = json.load(f)
        with open(summary) as f:
            summ = json.load(f)
        return rep, summ, out

    def test_replay_loops_arrive_whole_as_new_flows(self):
        # A rate every build keeps up with on two shared CPUs (the ASan build included): this
        # test is about loops arriving whole, capacity is the benchmark's business.
        rep, summ, out = self.run_pair(["--rate", "4000", "--duration", "3"], 8)
        run = rep["run"]
        loops = run["sent"] // self.frames
        self.assertGreaterEqual(loops, 3, run)
        self.assertEqual(run["received"], run["sent"])
        self.assertEqual(run["lost"], 0)
        self.assertGreater(run["latency_us"]["samples"], 100)
        self.assertGreater(run["latency_us"]["p50"], 0)
        self.assertAlmostEqual(run["offered_pps"], 4000, delta=400)
        e = summ["engine"]
        self.assertEqual(e["packets"], run["sent"])
        self.assertEqual(e["forwarded"], run["sent"])
        # Every loop's rewritten addresses are new flows, parsed as new requests (over HTTP/1.1
        # and HTTP/2: the synthesized mix has both).
        self.assertGreaterEqual(e["http"]["transactions"], loops * self.requests)
        self.assertIn("lost 0", out)

    def test_zero_loss_search_reports_ndr(self):
        rep, _, out = self.run_pair(["--search", "--min-rate", "2000", "--max-rate", "20000",
                                     "--trial", "1", "--resolution", "0.05", "--tolerance", "0.001"], 20)
        s = rep["search"]
        self.assertGreaterEqual(len(s["trials"]), 1)
        self.assertGreaterEqual(s["ndr_pps"], 2000)
        for trial in s["trials"]:
            r = trial["result"]
            self.assertGreater(r["sent"], 0)
            if trial["rate_pps"] == s["ndr_pps"]:
                self.assertLessEqual(r["loss_ratio"], 0.001)
        self.assertIn("no-drop rate", out)


if __name__ == "__main__":
    unittest.main()
