#!/usr/bin/env python3
"""JA4 (all four forms) and JA3 on the reference captures: every ClientHello in
../shared/conformance/ja4 must give the expected values; JA3 must equal Wireshark's
tls.handshake.ja3 / ja3_full."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402


def tls_records(pcap, tmp, workers=1):
    _, eve, _ = t.offline(pcap, tmp, workers=workers)
    return [r for r in eve if r["event_type"] == "tls"]


class Ja4Conformance(t.TempDirTest):
    def setUp(self):
        t.needs_conformance(self)
        super().setUp()

    def test_every_expected_fingerprint_matches(self):
        captures = t.conformance_captures()
        self.assertEqual(len(captures), 14)
        total = 0
        for pcap in captures:
            with open(pcap + ".expected.json") as f:
                expected = json.load(f)
            got = tls_records(pcap, self.tmp, workers=2)
            # One record per ClientHello; a flow with a HelloRetryRequest has two, in order.
            by_flow = {}
            for r in got:
                key = (r["src_ip"], str(r["src_port"]), r["dest_ip"], str(r["dest_port"]))
                by_flow.setdefault(key, []).append(r["tls"])
            seen = {}
            for e in expected:
                with self.subTest(pcap=os.path.basename(pcap), flow=(e["srcport"], e["dstport"])):
                    key = (e["src"], e["srcport"], e["dst"], e["dstport"])
                    self.assertIn(key, by_flow, f"no tls record for {key}")
                    n = seen.get(key, 0)
                    seen[key] = n + 1
                    self.assertLess(n, len(by_flow[key]), f"missing ClientHello #{n + 1} of {key}")
                    tls = by_flow[key][n]
                    for form in ("ja4", "ja4_r", "ja4_o", "ja4_ro"):
                        self.assertEqual(tls[form], e[form], form)
                    if e.get("sni"):
                        self.assertEqual(tls.get("sni"), e["sni"])
                    total += 1
        self.assertGreater(total, 50)

    def test_ja3_matches_wireshark(self):
        checked = 0
        for pcap in t.conformance_captures():
            got = tls_records(pcap, self.tmp)
            out = t.run(["tshark", "-r", pcap, "-Y", "tls.handshake.type == 1 && tcp", "-T", "fields",
                         "-e", "tcp.srcport", "-e", "tls.handshake.ja3", "-e", "tls.handshake.ja3_full"]).stdout
            wireshark = {}
            for line in out.splitlines():
                port, ja3, full = (line.split("\t") + ["", ""])[:3]
                if ja3:
                    wireshark.setdefault(int(port), []).append((ja3, full))
            index = {}
            for r in got:
                if r["src_port"] in wireshark:
                    with self.subTest(pcap=os.path.basename(pcap), port=r["src_port"]):
                        n = index.get(r["src_port"], 0)
                        index[r["src_port"]] = n + 1
                        ja3, full = wireshark[r["src_port"]][n]
                        self.assertEqual(r["tls"]["ja3"]["hash"], ja3)
                        self.assertEqual(r["tls"]["ja3"]["string"], full)
                        checked += 1
        self.assertGreater(checked, 30)

    def test_server_hello_version_and_suite(self):
        recs = tls_records(os.path.join(t.CONFORMANCE, "tls12.pcap"), self.tmp)
        self.assertEqual(len(recs), 1)
        self.assertFalse(recs[0]["tls"]["server_hello"])  # the capture holds only the ClientHello
        recs = tls_records(os.path.join(t.CONFORMANCE, "socks-https-example.pcap"), self.tmp)
        self.assertEqual({r["tls"]["version"] for r in recs}, {"TLS 1.0"})
        self.assertTrue(all(r["app_proto"] == "tls" for r in recs))


if __name__ == "__main__":
    unittest.main(verbosity=2)
