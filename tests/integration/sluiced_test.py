#!/usr/bin/env python3
"""sluiced with a live dataplane (net_null ports): rule-set versions pushed, validated (a bad
rule is refused naming file:line:col and the version in force stays), diffed and rolled back;
policy push and rollback; blocklists with TTL kept durably; the daemon restarted (state
survives) and the dataplane restarted (brought back to the desired state automatically);
the audit log; concurrent CLI use; SIGHUP reloading the fleet."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

CTL = os.path.join(t.BUILD, "control/sluicectl")
SLUICED = os.path.join(t.BUILD, "control/sluiced")


class Sluiced(t.TempDirTest):
    def start_dataplane(self):
        self.dp = subprocess.Popen(
            [*t.LIVE, "--port", "a=net_null0,no-rx=1", "--port", "b=net_null1,no-rx=1", "--inline", "a:b",
             "--control", self.dp_sock, "--idle-backoff-us", "1000", "--quiet", "--",
             "--no-huge", "-m", "256", "--no-pci", f"--file-prefix=slsd{os.getpid()}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.wait_for(lambda: os.path.exists(self.dp_sock) and self.ctl_rc("--socket", self.dp_sock, "status") == 0)

    def stop_dataplane(self):
        self.dp.send_signal(signal.SIGTERM)
        self.dp.communicate(timeout=30)

    def start_daemon(self):
        self.sd = subprocess.Popen([SLUICED, "--config", self.cfg, "--state-dir", self.state, "--socket", self.sd_sock],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.wait_for(lambda: os.path.exists(self.sd_sock) and self.ctl_rc("status") == 0)

    def stop_daemon(self):
        self.sd.send_signal(signal.SIGTERM)
        self.sd.communicate(timeout=30)
        self.assertEqual(self.sd.returncode, 0)

    def wait_for(self, cond, seconds=20):
        t.wait_for(self, cond, seconds)

    def ctl_rc(self, *args):
        return subprocess.run([CTL, "--socket", self.sd_sock, *args] if args[0] != "--socket" else [CTL, *args],
                              capture_output=True).returncode

    def ctl(self, *args, rc=0, sock=None):
        p = subprocess.run([CTL, "--socket", sock or self.sd_sock, *args], capture_output=True, text=True)
        self.assertEqual(p.returncode, rc, (args, p.stdout, p.stderr))
        return p

    def js(self, *args, sock=None):
        return json.loads(self.ctl("--json", *args, sock=sock).stdout)

    def dp_rules_sha(self):
        return self.js("status", sock=self.dp_sock)["engine"]["rules"]["sha256"]

    def skipped_rules(self, bad):
        """A set with a rule sluice cannot load: refused by default at both ends (the version in
        force stays), taken - without that rule - only when the push says so."""
        bundle = os.path.join(self.tmp, "bad.bundle")
        t.dataplane("--write-bundle", bundle, "--rules", bad)  # rule by rule: one skipped
        with open(bundle, "rb") as f:
            blob = f.read()
        for sock in (self.sd_sock, self.dp_sock):
            with t.unix_connect(sock) as s:
                r = t.control_request(s, "rules.validate", {}, blob)
            self.assertEqual(r["code"], "invalid", (sock, r))
            self.assertIn("skipped sid 2: unknown keyword 'contnt'", r["error"])
            with t.unix_connect(sock) as s:
                r = t.control_request(s, "rules.validate", {"allow_skipped": True}, blob)
            self.assertEqual((r["result"]["rules"], r["result"]["skipped"]), (1, 1), (sock, r))
        r = self.js("rules", "push", bad, "--allow-skipped", "--message", "one rule skipped")
        self.assertEqual((r["version"], r["rules"], r["skipped"]), (3, 1, 1))
        self.wait_for(lambda: self.dp_rules_sha() == r["sha256"])
        rules = self.js("status", sock=self.dp_sock)["engine"]["rules"]
        self.assertEqual((rules["loaded"], rules["skipped"]), (1, 1))
        self.assertEqual(rules["skipped_unsupported"], {"contnt": 1})
        self.assertIn("1 loaded, 1 skipped", self.ctl("status", sock=self.dp_sock).stdout)

    def test_daemon_lifecycle(self):
        self.dp_sock = os.path.join(self.tmp, "dp.sock")
        self.sd_sock = os.path.join(self.tmp, "sd.sock")
        self.state = os.path.join(self.tmp, "state")
        self.cfg = os.path.join(self.tmp, "sluiced.yaml")
        self.keylog = os.path.join(self.tmp, "keys.log")
        open(self.keylog, "w").close()
        with open(self.cfg, "w") as f:
            f.write(f"keylog_follow: {self.keylog}\ndataplanes:\n  - {{name: edge1, socket: {self.dp_sock}}}\n")
        self.start_dataplane()
        self.start_daemon()
        try:
            st = self.js("status")
            self.assertEqual(st["control"]["role"], "daemon")
            self.wait_for(lambda: self.js("dataplanes", "list")["dataplanes"][0]["up"])
            # Rule-set versions.
            v = []
            for k, body in enumerate(['alert http any any -> any any (msg:"v1"; http.uri; content:"/a"; sid:7001;)\n',
                                      'alert http any any -> any any (msg:"v2"; http.uri; content:"/b"; sid:7002;)\n'
                                      'alert http any any -> any any (msg:"v2b"; http.uri; content:"/c"; sid:7003;)\n']):
                path = os.path.join(self.tmp, "local.rules")
                with open(path, "w") as f:
                    f.write(body)
                r = self.js("rules", "push", path, "--message", f"change {k + 1}")
                v.append(r)
                self.assertEqual(r["version"], k + 1)
                self.wait_for(lambda: self.dp_rules_sha() == r["sha256"])
            bad = os.path.join(self.tmp, "bad.rules")
            with open(bad, "w") as f:
                f.write('alert http any any -> any any (msg:"x"; http.uri; content:"/x"; sid:1;)\n'
                        'alert http any any -> any any (msg:"y"; http.uri; contnt:"/y"; sid:2;)\n')
            p = self.ctl("rules", "push", bad, rc=2)
            self.assertIn(f"{bad}:2:51: error: unknown keyword 'contnt'", p.stderr)
            self.assertIn("--allow-skipped", p.stderr)
            versions = self.js("rules", "list")["versions"]
            self.assertEqual([x["version"] for x in versions], [1, 2])
            self.assertTrue(versions[1]["in_force"])
            self.assertEqual(self.dp_rules_sha(), v[1]["sha256"])
            diff = self.ctl("rules", "diff", "1", "2").stdout
            self.assertIn('-alert http any any -> any any (msg:"v1"', diff)
            self.assertIn('+alert http any any -> any any (msg:"v2b"', diff)
            self.assertIn("version 1 in force (was 2)", self.ctl("rules", "rollback").stdout)
            self.wait_for(lambda: self.dp_rules_sha() == v[0]["sha256"])
            self.ctl("rules", "rollback", "2")
            self.wait_for(lambda: self.dp_rules_sha() == v[1]["sha256"])
            # Policies.
            pol = os.path.join(t.SOURCE, "rules/policy/default.yaml")
            strict = os.path.join(self.tmp, "strict.yaml")
            with open(strict, "w") as f:
                f.write("window: 300\nrules:\n  - {name: r, signal: requests, above: 500, score: 1}\n"
                        "actions:\n  - {score: 1, action: alert}\n")
            p1 = self.js("policy", "push", pol)
            p2 = self.js("policy", "push", strict)
            self.assertEqual((p1["version"], p2["version"]), (1, 2))
            self.wait_for(lambda: self.js("status", sock=self.dp_sock)["policy"]["sha256"] == p2["sha256"])
            with open(strict, "a") as f:
                f.write("bogus: 1\n")
            self.assertIn("unknown key 'bogus'", self.ctl("policy", "push", strict, rc=1).stderr)
            self.ctl("policy", "rollback")
            self.wait_for(lambda: self.js("status", sock=self.dp_sock)["policy"]["sha256"] == p1["sha256"])
            # Lists, durable, with TTL, reaching the dataplane; concurrent clients.
            results = []

            def add(i):
                results.append(subprocess.run([CTL, "--socket", self.sd_sock, "allowlist", "add", "ip",
                                               f"198.18.{i}.1"], capture_output=True).returncode)
            threads = [threading.Thread(target=add, args=(i,)) for i in range(6)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            self.assertEqual(results, [0] * 6)
            self.wait_for(lambda: len(self.js("allowlist", "list", sock=self.dp_sock)["entries"]) == 6)
            self.ctl("blocklist", "add", "account", "00112233aabbccdd", "--reason", "resold")
            self.ctl("blocklist", "add", "ip", "203.0.113.0/24", "--ttl", "4s")
            added = time.time()
            self.wait_for(lambda: {e["value"] for e in self.js("blocklist", "list", sock=self.dp_sock)["entries"]}
                          == {"00112233aabbccdd", "203.0.113.0/24"})
            time.sleep(max(0.0, added + 4.2 - time.time()))
            self.assertEqual([e["value"] for e in self.js("blocklist", "list")["entries"]], ["00112233aabbccdd"])
            self.assertEqual([e["value"] for e in self.js("blocklist", "list", sock=self.dp_sock)["entries"]],
                             ["00112233aabbccdd"])
            # TLS secrets appended to the followed key log reach the dataplane's workers.
            with open(self.keylog, "a") as f:
                for k in range(2):
                    f.write(f"CLIENT_RANDOM {k:02x}" + "ab" * 31 + " " + "cd" * 48 + "\n")
            self.wait_for(lambda: self.js("status", sock=self.dp_sock)["engine"]["tls"]["secrets_pushed"] >= 2)
            sec = self.js("status")["secrets"]
            self.assertEqual(sec["forwarded"], 2)
            self.assertGreaterEqual(sec["forward_us"]["batches"], 1)
            # The daemon restarts: its state survives.
            self.stop_daemon()
            self.start_daemon()
            desired = self.js("status")["desired"]
            self.assertEqual((desired["rules"], desired["policy"]), (2, 1))
            self.assertGreater(desired["generation"], 0)  # bumped on every change in force
            self.assertEqual(len(self.js("rules", "list")["versions"]), 2)
            self.assertEqual(len(self.js("allowlist", "list")["entries"]), 6)
            # The dataplane restarts (shipped packs, no lists): sluiced brings it back.
            # (It boots with the shipped packs; the daemon may already have pushed by the time it
            # answers, so the proof of the resync is the daemon's count, not the dataplane's
            # first answer.)
            self.stop_dataplane()
            self.start_dataplane()
            self.wait_for(lambda: self.dp_rules_sha() == v[1]["sha256"])
            self.wait_for(lambda: len(self.js("allowlist", "list", sock=self.dp_sock)["entries"]) == 6)
            self.assertEqual(self.js("status", sock=self.dp_sock)["policy"]["sha256"], p1["sha256"])
            self.wait_for(lambda: self.js("dataplanes", "list")["dataplanes"][0]["resyncs"] >= 1)
            # SIGHUP: the fleet grows by a dataplane that is not there.
            with open(self.cfg, "a") as f:
                f.write(f"  - {{name: edge2, socket: {os.path.join(self.tmp, 'nope.sock')}}}\n")
            self.sd.send_signal(signal.SIGHUP)
            self.wait_for(lambda: len(self.js("dataplanes", "list")["dataplanes"]) == 2)
            fleet = {d["name"]: d for d in self.js("dataplanes", "list")["dataplanes"]}
            self.assertTrue(fleet["edge1"]["up"])
            self.assertFalse(fleet["edge2"]["up"])
            self.assertIn("nope.sock", fleet["edge2"]["error"])
            # The audit trail: every change, with the caller's principal and role.
            with open(os.path.join(self.state, "audit.log")) as f:
                audit = [json.loads(line) for line in f]
            self.assertTrue(all(a["outcome"] == "accepted" for a in audit), audit)
            cmds = [a["cmd"] for a in audit]
            self.assertEqual(cmds.count("rules.push"), 2)
            self.assertEqual(cmds.count("rules.rollback"), 2)
            self.assertEqual(cmds.count("policy.push"), 2)
            self.assertEqual(cmds.count("lists.add"), 8)
            self.assertTrue(all(a["principal"] == f"uid:{os.getuid()}" and a["role"] == "admin"
                                for a in audit), audit)
            # No temporary files left behind; versions are complete directories.
            for root, _, files in os.walk(self.state):
                self.assertFalse([f for f in files if f.endswith(".tmp")], root)
            self.assertTrue(os.path.exists(os.path.join(self.state, "rules/000002/bundle.bin")))
            self.skipped_rules(bad)
        finally:
            if self.sd.poll() is None:
                self.stop_daemon()
            if self.dp.poll() is None:
                self.stop_dataplane()


if __name__ == "__main__":
    unittest.main(verbosity=2)
