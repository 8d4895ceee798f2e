#!/usr/bin/env python3
"""QUIC Initial visibility over real captures (tests/data/quic, made by make-quic-captures.sh:
ngtcp2's GnuTLS client against its server, version 1, with and without a Retry). tshark is the
oracle: it opens the Initial packets itself and prints the ClientHello's fields; the expected JA4
(with its `q` transport letter) is computed here from those fields by the published JA4 rules
(tshark 4.0 has no JA4 field), and the JA3 is tshark's own. `quic.action: block` drops the
connections."""
import hashlib
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

QUIC = os.path.join(t.SOURCE, "tests", "data", "quic")
CAPTURES = ["quic-v1-ngtcp2", "quic-retry-ngtcp2"]
FIELDS = ["udp.srcport", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
          "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
          "tls.handshake.sig_hash_alg", "tls.handshake.extensions.supported_version",
          "tls.handshake.ja3"]


def grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def ints(field):
    return [int(x, 0) for x in field.split(",") if x]


def ja4(cipher_f, ext_f, sni, alpn, sig_f, versions_f):
    """JA4 (FoxIO's specification) of a QUIC ClientHello from tshark's fields."""
    ciphers = [c for c in ints(cipher_f) if not grease(c)]
    exts = [e for e in ints(ext_f) if not grease(e)]
    versions = [v for v in ints(versions_f) if not grease(v)]
    version = {0x0304: "13", 0x0303: "12"}[max(versions)]
    first = alpn.split(",")[0] if alpn else ""
    a = "q" + version + ("d" if sni else "i") + f"{min(len(ciphers), 99):02d}" + \
        f"{min(len(exts), 99):02d}" + (first[0] + first[-1] if first else "00")
    b = hashlib.sha256(",".join(f"{c:04x}" for c in sorted(ciphers)).encode()).hexdigest()[:12]
    c_exts = ",".join(f"{e:04x}" for e in sorted(exts) if e not in (0x0000, 0x0010))
    sigs = ",".join(f"{s:04x}" for s in ints(sig_f))
    c = hashlib.sha256((c_exts + ("_" + sigs if sigs else "")).encode()).hexdigest()[:12]
    return f"{a}_{b}_{c}"


def oracle(name, folder=QUIC):
    path = os.path.join(folder, name if "." in name else name + ".pcap")
    out = t.run(["tshark", "-r", path, "-Y", "quic && tls.handshake.type == 1",
                 "-T", "fields", "-E", "separator=|"] + sum((["-e", f] for f in FIELDS), [])).stdout
    hellos = {}
    for line in out.splitlines():
        port, ciphers, exts, sni, alpn, sigs, versions, ja3 = line.split("|")
        hellos[int(port)] = {"sni": sni, "alpn": alpn.split(",")[0], "ja3": ja3,
                             "ja4": ja4(ciphers, exts, sni, alpn, sigs, versions)}
    return hellos


class QuicCaptures(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="sluice-quic-")

    def tearDown(self):
        self.tmp.cleanup()

    def run_capture(self, name, *extra):
        work = os.path.join(self.tmp.name, name)
        os.makedirs(work, exist_ok=True)
        return t.offline(os.path.join(QUIC, name + ".pcap"), work, *extra)

    def test_hellos_match_tshark(self):
        for name in CAPTURES:
            with self.subTest(capture=name):
                want = oracle(name)
                self.assertEqual(len(want), 1)
                summary, eve, _ = self.run_capture(name)
                got = {r["src_port"]: {"sni": r["quic"]["sni"], "alpn": r["quic"]["alpn"],
                                       "ja3": r["quic"]["ja3"]["hash"], "ja4": r["quic"]["ja4"]}
                       for r in eve if r["event_type"] == "quic"}
                self.assertEqual(got, want)
                self.assertTrue(all(r["quic"]["version"] == "1"
                                    for r in eve if r["event_type"] == "quic"))
                q = summary["engine"]["quic"]
                self.assertEqual(q["hellos"], 1)
                self.assertEqual(q["decrypt_failures"], 0)
                if "retry" in name:
                    # The server answered with a Retry and the client sent its hello again,
                    # under keys from the new connection id: still one record per connection.
                    types = t.run(["tshark", "-r", os.path.join(QUIC, name + ".pcap"), "-T",
                                   "fields", "-e", "quic.long.packet_type"]).stdout.split()
                    self.assertIn("3", types)
                    initials = [r for r in eve if r["event_type"] == "quic"]
                    self.assertEqual(len(initials), 1)

    def test_browser_hellos_of_the_ja4_conformance_captures(self):
        """Chrome's QUIC hellos in the JA4 reference captures (../shared/conformance/ja4; their
        expected files leave QUIC out): each connection's SNI and JA3 equal tshark's, its JA4
        the one computed from tshark's fields, for every connection tshark decodes."""
        t.needs_conformance(self)
        checked = 0
        for name in ("tls-handshake.pcapng", "tls-sni.pcapng", "tls3.pcapng"):
            with self.subTest(capture=name):
                want = oracle(name, t.CONFORMANCE)
                work = os.path.join(self.tmp.name, name)
                os.makedirs(work, exist_ok=True)
                summary, eve, _ = t.offline(os.path.join(t.CONFORMANCE, name), work)
                got = {r["src_port"]: {"sni": r["quic"]["sni"], "alpn": r["quic"]["alpn"],
                                       "ja3": r["quic"]["ja3"]["hash"], "ja4": r["quic"]["ja4"]}
                       for r in eve if r["event_type"] == "quic"}
                self.assertGreater(len(want), 0)
                self.assertEqual(got, want)
                self.assertEqual(summary["engine"]["quic"]["decrypt_failures"], 0)
                checked += len(want)
        self.assertGreaterEqual(checked, 40)

    def test_block_drops_quic(self):
        summary, eve, paths = self.run_capture("quic-v1-ngtcp2", "--config", self.block_config())
        self.assertEqual(summary["engine"]["quic"]["blocked"], 1)
        records = [r for r in eve if r["event_type"] == "quic"]
        self.assertEqual([r["quic"]["action"] for r in records], ["blocked"])
        flows = [r for r in eve if r["event_type"] == "flow" and r["proto"] == "UDP"]
        self.assertEqual([f["flow"]["action"] for f in flows], ["drop"])
        # Nothing of the connection reached the output capture.
        self.assertEqual(len(t.read_frames(paths["out"])), 0)

    def block_config(self):
        path = os.path.join(self.tmp.name, "block.yaml")
        with open(path, "w") as f:
            f.write("quic:\n  action: block\n")
        return path


if __name__ == "__main__":
    unittest.main(verbosity=2)
