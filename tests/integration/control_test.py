#!/usr/bin/env python3
"""The control endpoint of a live dataplane (net_null ports, no traffic) driven with
sluicectl: status, blocklist/allowlist add/del/list with TTL expiry, policy validate/push
(a bad policy is rejected naming file:line:col and the previous one stays), secrets push,
account queries, bad arguments and exit codes, a garbage frame that does not hurt the
dataplane, concurrent clients."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

CTL = os.path.join(t.BUILD, "control/sluicectl")


class Control(t.TempDirTest):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._dir = tempfile.TemporaryDirectory(prefix="sluice-control-")
        cls.sock = os.path.join(cls._dir.name, "dp.sock")
        cls.summary = os.path.join(cls._dir.name, "summary.json")
        cls.metrics_port = 20000 + os.getpid() % 20000
        cls.dp = subprocess.Popen(
            [*t.LIVE, "--port", "a=net_null0,no-rx=1", "--port", "b=net_null1,no-rx=1", "--inline", "a:b",
             "--control", cls.sock, "--metrics", f"127.0.0.1:{cls.metrics_port}", "--idle-backoff-us", "1000", "--summary-json", cls.summary, "--",
             "--no-huge", "-m", "256", "--no-pci", f"--file-prefix=slctl{os.getpid()}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            if os.path.exists(cls.sock):
                break
            if cls.dp.poll() is not None:
                raise RuntimeError(cls.dp.communicate())
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.dp.send_signal(signal.SIGTERM)
        cls.dp.communicate(timeout=30)
        cls._dir.cleanup()

    def ctl(self, *args, check_rc=0, stdin=None):
        p = subprocess.run([CTL, "--socket", self.sock, *args], capture_output=True, text=True, input=stdin)
        self.assertEqual(p.returncode, check_rc, (args, p.stdout, p.stderr))
        return p

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def test_status(self):
        s = self.ctl_json("status")
        self.assertEqual(s["mode"], "inline")
        self.assertEqual(s["control"]["protocol"], 1)
        self.assertEqual(len(s["policy"]["sha256"]), 64)
        self.assertTrue(s["policy"]["source"].endswith("default.yaml"))
        self.assertGreater(s["engine"]["rules"]["loaded"], 10)
        self.assertEqual(s["engine"]["accounts"]["enforcement"]["mode"], "enforcing")
        self.assertEqual(self.ctl_json("clusters", "list")["clusters"], [])
        stats = self.ctl("stats").stdout
        self.assertRegex(stats, r"engine\.packets +[0-9]+")
        self.assertRegex(stats, r"engine\.accounts\.enforcement\.snapshots +[0-9]+")
        text = self.ctl("status").stdout
        self.assertIn("policy", text)
        self.assertIn("enforcement enforcing", text)

    def test_metrics_and_health(self):
        import urllib.error
        import urllib.request
        base = f"http://127.0.0.1:{self.metrics_port}"
        for _ in range(50):
            try:
                body = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        self.assertIn("# TYPE sluice_packets_total counter", body)
        self.assertIn('sluice_dropped_total{reason="verdict"} 0', body)
        self.assertRegex(body, r"sluice_rules_loaded [1-9]")
        self.assertRegex(body, r"sluice_rules_skipped 0")
        self.assertIn("sluice_enforcement_snapshots_total", body)
        self.assertIn("# TYPE sluice_http2_connections_total counter", body)
        self.assertIn("# TYPE sluice_http_transactions_total counter", body)
        self.assertIn("# TYPE sluice_quic_connections_total counter", body)
        self.assertIn('sluice_answers_total{kind="reset",reason="tls_no_keys"} 0', body)
        for line in body.splitlines():  # every sample line is NAME[{labels}] NUMBER
            if not line.startswith("#"):  # names and labels by Prometheus' exposition grammar
                self.assertRegex(line, r'^[a-zA-Z_:][a-zA-Z0-9_:]*'
                                       r'(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? '
                                       r'-?[0-9.e+]+$')
        r = urllib.request.urlopen(base + "/health", timeout=5)
        self.assertEqual((r.status, r.read()), (200, b"ok\n"))
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "/nope", timeout=5)
        self.assertEqual(e.exception.code, 404)

    def test_lists_with_ttl(self):
        self.ctl("blocklist", "add", "ip", "203.0.113.0/24", "--reason", "scraper net")
        self.ctl("blocklist", "add", "account", "00112233aabbccdd", "--ttl", "2s", "--reason", "abuse")
        self.ctl("blocklist", "add", "ja4", "t13d1516h2_8daaf6152771_e5627efa2ab1")
        self.ctl("allowlist", "add", "ip", "2001:db8::/48", "--reason", "partner")
        rows = self.ctl_json("blocklist", "list")["entries"]
        self.assertEqual({r["value"] for r in rows},
                         {"203.0.113.0/24", "00112233aabbccdd", "t13d1516h2_8daaf6152771_e5627efa2ab1"})
        acct = [r for r in rows if r["kind"] == "account"][0]
        self.assertLessEqual(acct["expires_in_s"], 2)
        self.assertIn("scraper net", self.ctl("blocklist", "list").stdout)
        self.assertEqual(self.ctl_json("allowlist", "list")["entries"][0]["value"], "2001:db8::/48")
        self.assertEqual(self.ctl_json("status")["lists"], {"block": 3, "allow": 1})
        time.sleep(2.5)  # the TTL passes
        rows = self.ctl_json("blocklist", "list")["entries"]
        self.assertNotIn("00112233aabbccdd", {r["value"] for r in rows})
        self.ctl("blocklist", "del", "ip", "203.0.113.0/24")
        self.ctl("blocklist", "del", "ja4", "t13d1516h2_8daaf6152771_e5627efa2ab1")
        self.ctl("allowlist", "del", "ip", "2001:db8::/48")
        self.assertEqual(self.ctl_json("blocklist", "list")["entries"], [])
        # Errors: refused by the dataplane (1) or bad usage (2), each saying what to fix.
        p = self.ctl("blocklist", "del", "ip", "198.51.100.7", check_rc=1)
        self.assertIn("no blocklist entry", p.stderr)
        p = self.ctl("blocklist", "add", "ip", "300.1.2.3", check_rc=1)
        self.assertIn("not an IP address or prefix", p.stderr)
        p = self.ctl("blocklist", "add", "account", "sk-ant-api03-NOTANID", check_rc=1)
        self.assertIn("accounts id --key-stdin", p.stderr)
        p = self.ctl("blocklist", "add", "ip", "10.0.0.1", "--ttl", "soon", check_rc=2)
        self.assertIn("--ttl takes a duration", p.stderr)
        self.ctl("blocklist", "add", "bogus", "x", check_rc=2)

    def test_policy_push_and_rejection(self):
        before = self.ctl_json("status")["policy"]["sha256"]
        bad = os.path.join(self.tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("window: 300\nrules:\n  - {name: r, signal: nonsense, above: 1, score: 1}\n")
        p = self.ctl("policy", "push", bad, check_rc=1)
        self.assertIn(f"{bad}:3:23: unknown signal 'nonsense'", p.stderr)
        self.assertEqual(self.ctl_json("status")["policy"]["sha256"], before)
        good = os.path.join(self.tmp, "good.yaml")
        with open(good, "w") as f:
            f.write("window: 300\nrules:\n  - {name: r, signal: requests, above: 1000, score: 1}\n"
                    "actions:\n  - {score: 1, action: alert}\n")
        v = self.ctl_json("policy", "validate", good)
        self.assertEqual(v["rules"], 1)
        self.assertEqual(self.ctl_json("status")["policy"]["sha256"], before)
        r = self.ctl_json("policy", "push", good)
        s = self.ctl_json("status")["policy"]
        self.assertEqual(s["sha256"], r["sha256"])
        self.assertNotEqual(s["sha256"], before)
        self.assertEqual(s["source"], good)
        # Back to the shipped policy.
        self.ctl("policy", "push", os.path.join(t.SOURCE, "rules/policy/default.yaml"))

    def test_secrets_and_accounts(self):
        keylog = "# a comment\nCLIENT_RANDOM " + "ab" * 32 + " " + "cd" * 48 + "\nnot a key log line\n"
        r = json.loads(self.ctl("--json", "secrets", "push", "-", stdin=keylog).stdout)
        self.assertEqual(r["secrets"], 1)
        self.assertEqual(r["feed_full"], 0)
        self.assertEqual(self.ctl_json("accounts", "top")["accounts"], [])
        p = self.ctl("accounts", "show", "00112233aabbccdd", check_rc=1)
        self.assertIn("no such account", p.stderr)
        # The id of a key, computed locally (the key never reaches the dataplane).
        key = "sk-ant-api03-CONTROLTESTKEY000000000000000000000000000000000"
        out = json.loads(self.ctl("--json", "accounts", "id", "--key-stdin", "--secret-file", t.ACCOUNT_SECRET_FILE,
                                  stdin=key + "\n").stdout)
        self.assertEqual(out["id"], t.account_id(key))
        self.assertEqual(out["hint"], "sk-ant-api03-\u20260000")

    def test_unreachable_garbage_and_concurrency(self):
        p = subprocess.run([CTL, "--socket", os.path.join(self.tmp, "none.sock"), "status"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 3)
        self.assertIn("cannot reach the dataplane", p.stderr)
        # A client speaking garbage is answered and dropped; the dataplane carries on.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.sock)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.settimeout(5)
        data = s.recv(4096)
        s.close()
        self.assertEqual(data[:4], b"SLC1")
        self.assertIn(b"bad_frame", data)
        # Concurrent clients all get answers.
        results = []

        def worker(i):
            p = subprocess.run([CTL, "--socket", self.sock, "--json", "blocklist", "add", "ip", f"198.18.{i}.0/24"],
                               capture_output=True, text=True)
            results.append(p.returncode)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(results, [0] * 8)
        rows = self.ctl_json("blocklist", "list")["entries"]
        self.assertEqual(len([r for r in rows if r["value"].startswith("198.18.")]), 8)
        for i in range(8):
            self.ctl("blocklist", "del", "ip", f"198.18.{i}.0/24")
        self.assertIsNone(self.dp.poll())


if __name__ == "__main__":
    unittest.main(verbosity=2)
