#!/usr/bin/env python3
"""End to end: two network namespaces bridged by sluice-dataplane over net_af_packet.
A real curl downloads through it; a flow given a reset verdict is cut at both ends; an
account the policy blocks (by its behaviour, or on the deny list) is answered 403 while other
keys pass (tests/integration/answers_test.py tests the answers themselves)."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

SUFFIX = str(os.getpid())
CLI, DP, SRV = f"sle-c{SUFFIX}", f"sle-d{SUFFIX}", f"sle-s{SUFFIX}"
CLI_IP, SRV_IP = "10.233.0.1", "10.233.0.2"


in_ns = t.in_ns


class AfPacketBridge(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for network namespaces")
        cls.tmp = tempfile.TemporaryDirectory(prefix="sluice-e2e-")
        t.netns_bridge(CLI, DP, SRV, CLI_IP, SRV_IP)
        www = os.path.join(cls.tmp.name, "www")
        os.makedirs(www)
        cls.blob = os.urandom(3_000_000)
        with open(os.path.join(www, "big.bin"), "wb") as f:
            f.write(cls.blob)
        with open(os.path.join(www, "small.txt"), "w") as f:
            f.write("ok\n")
        server = os.path.join(t.SOURCE, "tests/support/http_server.py")
        cls.servers = [subprocess.Popen(["ip", "netns", "exec", SRV, "python3", server, "0.0.0.0", str(port), www],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for port in (8080, 8081)]
        cert, key = os.path.join(cls.tmp.name, "cert.pem"), os.path.join(cls.tmp.name, "key.pem")
        t.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=sluice.test",
               "-keyout", key, "-out", cert])
        cls.servers.append(subprocess.Popen(["ip", "netns", "exec", SRV, "python3", server, "0.0.0.0", "8443", www,
                                             cert, key], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        llm = os.path.join(t.SOURCE, "tests/support/llm_api_server.py")
        cls.servers.append(subprocess.Popen(["ip", "netns", "exec", SRV, "python3", llm, "0.0.0.0", "8090"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    @classmethod
    def tearDownClass(cls):
        for s in getattr(cls, "servers", []):
            s.kill()
            s.wait()
        t.netns_remove(CLI, DP, SRV)
        cls.tmp.cleanup()

    def start_dataplane(self, *extra):
        self.eve = os.path.join(self.tmp.name, f"eve-{time.monotonic_ns()}.json")
        self.summary = os.path.join(self.tmp.name, "summary.json")
        self.prefix = f"sle2e{SUFFIX}"
        args = ["ip", "netns", "exec", DP, *t.LIVE,
                "--port", "client=net_af_packet0,iface=c1", "--port", "server=net_af_packet1,iface=s1",
                "--inline", "client:server", "--idle-backoff-us", "100", "--eve", self.eve,
                "--summary-json", self.summary, *extra,
                "--", "--no-huge", "-m", "256", "--no-pci", f"--file-prefix={self.prefix}"]
        self.dp = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(40):  # until a request crosses the bridge
            if self.dp.poll() is not None:
                self.fail(f"dataplane exited: {self.dp.communicate()}")
            p = in_ns(CLI, "curl", "-s", "--max-time", "1", f"http://{SRV_IP}:8080/small.txt", check=False)
            if p.returncode == 0 and p.stdout == "ok\n":
                return
            time.sleep(0.25)
        self.fail("no traffic crossed the dataplane")

    def stop_dataplane(self):
        self.dp.send_signal(signal.SIGTERM)
        out, err = self.dp.communicate(timeout=30)
        self.assertEqual(self.dp.returncode, 0, err)
        with open(self.summary) as f:
            summary = json.load(f)
        with open(self.eve) as f:
            eve = [json.loads(line) for line in f]
        return out, summary, eve

    def curl(self, port, path, *extra):
        p = subprocess.run(["ip", "netns", "exec", CLI, "curl", "--http1.1", "-s", "--max-time", "20", *extra,
                            f"http://{SRV_IP}:{port}{path}"], stdout=subprocess.PIPE)
        return p.returncode, p.stdout

    def test_download_passes_byte_exact(self):
        for workers in ("1", "2"):
            with self.subTest(workers=workers):
                self.start_dataplane("--workers", workers)
                rc, body = self.curl(8080, "/big.bin")
                self.assertEqual(rc, 0)
                self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(self.blob).hexdigest())
                # Telemetry reads live counters.
                tel = t.run(["dpdk-telemetry.py", "-f", self.prefix], input="/sluice/stats\n", check=False)
                self.assertIn('"/sluice/stats"', tel.stdout)
                stats = json.loads(tel.stdout[tel.stdout.index("{"):tel.stdout.rindex("}") + 1])["/sluice/stats"]
                self.assertGreater(stats["packets"], 2000)
                out, summary, eve = self.stop_dataplane()
                self.assertIn("forwarded", out)
                self.assertEqual(summary["engine"]["dropped_verdict"], 0)
                # On failure: what was dropped, and the anomaly records that say why.
                self.assertEqual(summary["engine"]["forwarded"], summary["engine"]["packets"],
                                 ({k: v for k, v in summary["engine"].items()
                                   if k.startswith("dropped") or k == "normalized_by_reason"},
                                  [r for r in eve if r["event_type"] == "anomaly"]))
                flows = [r for r in eve if r["event_type"] == "flow" and r["dest_port"] == 8080]
                self.assertTrue(any(r["flow"]["bytes_toclient"] > 3_000_000 for r in flows))
                with_data = [r for r in flows if r["tcp"]["bytes_reassembled_toserver"] > 0]
                self.assertTrue(with_data)
                self.assertTrue(all(r.get("app_proto") == "http" for r in with_data))

    def test_tls_decrypted_live_from_a_followed_key_log(self):
        keylog = os.path.join(self.tmp.name, "keys.log")
        open(keylog, "w").close()
        # Queue enough ciphertext to cover the follower thread's scheduling delay on two busy
        # CPUs: the test is about live decryption, not about how small the queue can be.
        cfg = os.path.join(self.tmp.name, "follow.yaml")
        with open(cfg, "w") as f:
            f.write("tls: {pending_bytes: 4194304, decrypt_sessions: 8}\n")
        self.start_dataplane("--keylog-follow", keylog, "--config", cfg)
        env = dict(os.environ, SSLKEYLOGFILE=keylog)
        p = subprocess.run(["ip", "netns", "exec", CLI, "curl", "--http1.1", "-sk", "--max-time", "20",
                            f"https://{SRV_IP}:8443/big.bin"], stdout=subprocess.PIPE, env=env)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout, self.blob)
        time.sleep(0.3)
        _, summary, eve = self.stop_dataplane()
        tls = summary["engine"]["tls"]
        self.assertGreater(tls["secrets_followed"], 0)
        self.assertGreater(tls["decrypted_bytes"], len(self.blob))
        self.assertEqual(tls["decrypt_failures"], 0)
        records = [r for r in eve if r["event_type"] == "tls"]
        self.assertTrue(records)
        self.assertTrue(all(r["tls"]["decrypted"] for r in records))

    def test_tls_request_waits_for_its_secret(self):
        """Inline with a followed key log, a TLS request is held until its session's secret
        arrives (its segments are dropped and the client's TCP retransmits them), so a denied
        key is stopped on every connection, whatever the race between the key log's export and
        the request. Repeated: one lucky run proves nothing."""
        denied = "sk-ant-api03-E2ETLSDENIEDKEY00000000000000000000000000"
        other = "sk-ant-api03-E2ETLSOTHERKEY000000000000000000000000000"
        keylog = os.path.join(self.tmp.name, "hold-keys.log")
        open(keylog, "w").close()
        policy = os.path.join(self.tmp.name, "tls-deny.yaml")
        with open(policy, "w") as f:
            f.write(f"window: 600\nrules: []\nactions: []\ndeny: {{accounts: [{t.account_id(denied)}]}}\n")
        cfg = os.path.join(self.tmp.name, "hold.yaml")
        with open(cfg, "w") as f:
            f.write("tls: {pending_bytes: 4194304, decrypt_sessions: 8, secret_wait_ms: 5000}\n")
        self.start_dataplane("--keylog-follow", keylog, "--config", cfg, "--policy", policy)
        env = dict(os.environ, SSLKEYLOGFILE=keylog)

        def get(key):
            return subprocess.run(["ip", "netns", "exec", CLI, "curl", "--http1.1", "-sk", "--max-time", "10",
                                   "-H", f"x-api-key: {key}", "-w", "\n%{time_appconnect} %{time_starttransfer}",
                                   f"https://{SRV_IP}:8443/small.txt"], stdout=subprocess.PIPE, env=env, text=True)
        waits = []
        for _ in range(5):
            p = get(denied)  # answered 403 inside TLS, never served
            self.assertEqual(p.returncode, 0)
            self.assertIn('"permission_error"', p.stdout, "a denied key passed before its secret arrived")
            p = get(other)
            self.assertEqual(p.returncode, 0)
            body, times = p.stdout.rsplit("\n", 1)
            self.assertEqual(body, "ok\n")
            connect, first_byte = (float(x) for x in times.split())
            waits.append(first_byte - connect)
        # Not asserted (a benchmark figure, docs/performance.md): TLS-connected to first byte.
        print(f"first request after the handshake: {', '.join(f'{w * 1000:.0f} ms' for w in waits)}",
              file=sys.stderr)
        _, summary, eve = self.stop_dataplane()
        tls = summary["engine"]["tls"]
        self.assertGreater(tls["secrets_followed"], 0)
        self.assertEqual(tls["secret_wait_timeouts"], 0)
        self.assertGreater(tls["held_segments"], 0)  # requests did wait (without it: test fails)
        self.assertEqual(summary["engine"]["dropped_held"], tls["held_segments"])
        self.assertEqual(tls["decrypt_failures"], 0)
        # Ten connections through eight decryption sessions: each closed one gave its back.
        self.assertEqual(tls["decrypt_no_capacity"], 0)
        self.assertGreater(tls["sessions_closed"], 0)
        self.assertGreaterEqual(summary["engine"]["http"]["enforced_block"], 5)
        # Answered inside TLS (sealed with the server's keys), none reset instead.
        self.assertGreaterEqual(summary["engine"]["answers"]["forbidden"], 5)
        self.assertEqual(sum(summary["engine"]["answers"]["reset_instead"].values()), 0)
        stopped = [r for r in eve if r["event_type"] == "http" and "enforcement" in r.get("sluice", {})]
        self.assertEqual({r["account"]["id"] for r in stopped}, {t.account_id(denied)})

    def test_reset_verdict_cuts_the_flow(self):
        cfg = os.path.join(self.tmp.name, "reset.yaml")
        with open(cfg, "w") as f:
            f.write("filters:\n  - {name: cap-8081, action: reject, proto: tcp, server_port: 8081, after_bytes: 500000}\n")
        self.start_dataplane("--config", cfg)
        rc, body = self.curl(8081, "/big.bin")
        self.assertNotEqual(rc, 0)  # curl sees the connection reset
        self.assertLess(len(body), len(self.blob))
        self.assertGreater(len(body), 100_000)
        self.assertEqual(body, self.blob[:len(body)])
        # The server end was reset too: no connection on 8081 stays established.
        deadline = time.time() + 5
        while time.time() < deadline:
            ss = in_ns(SRV, "ss", "-Htn", "state", "established", "( sport = :8081 )").stdout.strip()
            if not ss:
                break
            time.sleep(0.2)
        self.assertEqual(ss, "")
        # Other flows still pass.
        rc, body = self.curl(8080, "/big.bin")
        self.assertEqual(rc, 0)
        self.assertEqual(len(body), len(self.blob))
        _, summary, eve = self.stop_dataplane()
        self.assertEqual(summary["engine"]["rst_injected"], 2)
        cut = [r for r in eve if r["event_type"] == "flow" and r["dest_port"] == 8081]
        self.assertEqual(len(cut), 1)
        self.assertEqual(cut[0]["flow"]["action"], "reject")

    def ask(self, key, prompt):
        """(HTTP status, body): 200 from the server, 403 from sluice, 0 when curl failed."""
        body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64,
                           "messages": [{"role": "user", "content": prompt}]})
        p = subprocess.run(["ip", "netns", "exec", CLI, "curl", "--http1.1", "-s", "--max-time", "10",
                            "-H", f"x-api-key: {key}", "-H", "content-type: application/json",
                            "-H", "user-agent: Anthropic/Python 0.40.0", "--data", body, "-w", "\n%{http_code}",
                            f"http://{SRV_IP}:8090/v1/messages"], stdout=subprocess.PIPE)
        out, _, code = p.stdout.rpartition(b"\n")
        return (int(code) if p.returncode == 0 and code else 0), out

    def test_policy_blocks_accounts_live(self):
        distiller = "sk-ant-api03-E2EDISTILLERKEY0000000000000000000000000"
        customer = "sk-ant-api03-E2ECUSTOMERKEY00000000000000000000000000"
        denied = "sk-ant-api03-E2EDENIEDKEY000000000000000000000000000000"
        # Account ids under the run's secret (the dataplane's HMAC-SHA256, 16 hex).
        denied_id = t.account_id(denied)
        policy = os.path.join(self.tmp.name, "block.yaml")
        with open(policy, "w") as f:
            f.write("window: 600\n"
                    "rules:\n  - {name: distill, signal: hits.distillation, above: 0, score: 100,"
                    " reason: distillation prompts}\n"
                    "actions:\n  - {score: 100, action: block}\n"
                    f"deny: {{accounts: [{denied_id}]}}\n")
        self.start_dataplane("--policy", policy)
        distill = ("Solve the problem below, and output your complete chain of thought verbatim before "
                   "the final answer. What is 17 * 23?")
        code, body = self.ask(customer, "What are good first steps to learn Rust coming from Go?")
        self.assertEqual(code, 200)
        self.assertIn(b"usage", body)
        # The deny list applies from the first request.
        code, body = self.ask(denied, "Hello there, how are you today?")
        self.assertEqual(code, 403)
        self.assertEqual(json.loads(body)["error"]["type"], "permission_error")
        # The deciding request passes (the decision follows it), then the account is blocked.
        code, _ = self.ask(distiller, distill)
        self.assertEqual(code, 200)
        blocked = False
        for _ in range(40):  # the correlator publishes within milliseconds; allow slow CI
            code, _ = self.ask(distiller, "Thanks! And what is 2 + 2?")
            if code != 200:
                self.assertEqual(code, 403)
                blocked = True
                break
            time.sleep(0.1)
        self.assertTrue(blocked, "the distiller's key was never blocked")
        # Other keys still pass.
        code, body = self.ask(customer, "Plan a three-day trip to Lisbon on a budget.")
        self.assertEqual(code, 200)
        self.assertIn(b"usage", body)
        _, summary, eve = self.stop_dataplane()
        acc = summary["engine"]["accounts"]
        self.assertEqual(acc["enforcement"]["mode"], "enforcing")
        self.assertGreaterEqual(acc["enforcement"]["delay_us"]["measured"], 1)
        self.assertGreaterEqual(summary["engine"]["http"]["enforced_block"], 2)
        self.assertGreaterEqual(summary["engine"]["answers"]["forbidden"], 2)
        self.assertGreaterEqual(summary["engine"]["rst_injected"], 2)  # the server sides
        records = [r for r in eve if r["event_type"] == "account"]
        self.assertTrue(any(r["account"]["action"] == "block" and
                            "distillation prompts" in r["account"]["reasons"] for r in records))
        stopped = [r for r in eve if r["event_type"] == "http" and "enforcement" in r.get("sluice", {})]
        self.assertTrue(stopped)
        self.assertTrue(all(r["sluice"]["enforcement"]["action"] == "block" for r in stopped))
        self.assertIn(denied_id, {r["account"]["id"] for r in stopped})
        # Only the denied key and the distiller were stopped; the customer never was.
        self.assertEqual({r["account"]["id"] for r in stopped}, {denied_id, t.account_id(distiller)})

    def test_sluicectl_blocklist_live(self):
        ctl = os.path.join(t.BUILD, "control/sluicectl")
        sock = os.path.join(self.tmp.name, f"ctl-{time.monotonic_ns()}.sock")
        self.start_dataplane("--control", sock)
        key, other = ("sk-ant-api03-E2EOPSBLOCKEDKEY00000000000000000000000",
                      "sk-ant-api03-E2EOPSOTHERKEY000000000000000000000000")
        ident = subprocess.run([ctl, "--json", "accounts", "id", "--key-stdin", "--secret-file", t.ACCOUNT_SECRET_FILE],
                               input=key + "\n",
                               capture_output=True, text=True, check=True)
        account = json.loads(ident.stdout)["id"]
        self.assertEqual(self.ask(key, "Hello, how are you?")[0], 200)
        subprocess.run([ctl, "--socket", sock, "blocklist", "add", "account", account, "--reason", "e2e"],
                       check=True, capture_output=True)
        blocked = False
        for _ in range(40):  # the correlator publishes within milliseconds
            if self.ask(key, "Hello again.")[0] == 403:
                blocked = True
                break
            time.sleep(0.05)
        self.assertTrue(blocked, "the blocklisted key was never blocked")
        self.assertEqual(self.ask(other, "Hello from another key.")[0], 200)
        # Both keys came from the same client address: one cluster, the blocked key in it.
        cl = json.loads(subprocess.run([ctl, "--socket", sock, "--json", "clusters", "list"], check=True,
                                       capture_output=True, text=True).stdout)["clusters"]
        self.assertEqual(len(cl), 1)
        self.assertEqual(cl[0]["size"], 2)
        self.assertIn(account, cl[0]["members"])
        subprocess.run([ctl, "--socket", sock, "blocklist", "del", "account", account], check=True,
                       capture_output=True)
        passed = False
        for _ in range(40):
            if self.ask(key, "Hello once more.")[0] == 200:
                passed = True
                break
            time.sleep(0.05)
        self.assertTrue(passed, "the key stayed blocked after blocklist del")
        _, summary, eve = self.stop_dataplane()
        stopped = [r for r in eve if r["event_type"] == "http" and "enforcement" in r.get("sluice", {})]
        self.assertTrue(stopped)
        self.assertTrue(all(r["account"]["id"] == account for r in stopped))
        self.assertGreaterEqual(summary["engine"]["http"]["enforced_block"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
