#!/usr/bin/env python3
"""The control protocol over TCP with mutual TLS: sluicectl reaches a dataplane and sluiced
remotely with certificates from the trusted CA; a client certificate from another CA, a
client without one, and a server the client does not trust are all refused (and the
dataplane keeps serving); a trusted certificate without a grant has no role; sluiced manages
a dataplane over mutual TLS as the admin the dataplane's config names."""
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

CTL = os.path.join(t.BUILD, "control/sluicectl")
SLUICED = os.path.join(t.BUILD, "control/sluiced")


def make_pki(d):
    t.make_test_pki(d, ["ca", "rogue-ca"], [
        ("server", "ca", "IP:127.0.0.1"), ("client", "ca", "DNS:ops"), ("sluiced", "ca", "DNS:sluiced.fleet"),
        ("nobody", "ca", "DNS:nobody"), ("rogue", "rogue-ca", "DNS:rogue")])


class MutualTls(t.TempDirTest):
    @classmethod
    def p(cls, name):
        return os.path.join(cls.d, name)

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._dir = tempfile.TemporaryDirectory(prefix="sluice-mtls-")
        cls.d = cls._dir.name
        make_pki(cls.d)
        cls.port = 21000 + os.getpid() % 20000
        p = cls.p
        cls.dp = subprocess.Popen(
            [*t.LIVE, "--port", "a=net_null0,no-rx=1", "--port", "b=net_null1,no-rx=1", "--inline", "a:b",
             "--control-listen", f"127.0.0.1:{cls.port}", "--control-cert", p("server.pem"),
             "--control-key", p("server.key"), "--control-ca", p("ca.pem"), "--idle-backoff-us", "1000", "--quiet",
             # Roles: the operator by subject, sluiced by SAN; "nobody" is trusted but granted nothing.
             "--control-grant", "operate=subject:CN=client", "--control-grant", "admin=san:DNS:sluiced.fleet",
             "--", "--no-huge", "-m", "256", "--no-pci", f"--file-prefix=slmtls{os.getpid()}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            if cls.ctl_as("client", "ca").returncode == 0:
                break
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.dp.send_signal(signal.SIGTERM)
        cls.dp.communicate(timeout=30)
        cls._dir.cleanup()

    @classmethod
    def dp_log_tail(cls):
        # The dataplane logs refusals as JSON lines on stderr; read what is there so far.
        import fcntl
        fd = cls.dp.stderr.fileno()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        try:
            cls._log = getattr(cls, "_log", "") + (os.read(fd, 1 << 20) or b"").decode(errors="replace")
        except BlockingIOError:
            cls._log = getattr(cls, "_log", "")
        return cls._log

    @classmethod
    def ctl_as(cls, who, ca, *args, port=None):
        cmd = [CTL, "--host", f"127.0.0.1:{port or cls.port}", "--cert", cls.p(f"{who}.pem"), "--key",
               cls.p(f"{who}.key"), "--ca", cls.p(f"{ca}.pem"), "--json", *(args or ("status",))]
        return subprocess.run(cmd, capture_output=True, text=True)

    def test_trusted_client_in_others_out(self):
        ok = self.ctl_as("client", "ca")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        st = json.loads(ok.stdout)["control"]
        self.assertEqual(st["role"], "dataplane")
        self.assertEqual((st["principal"], st["caller_role"]), ("cert:CN=client", "operate"))
        # A client certificate from another CA.
        bad = self.ctl_as("rogue", "ca")
        self.assertEqual(bad.returncode, 3, bad.stdout)
        self.assertRegex(bad.stderr, r"alert|closed|handshake")
        # No client certificate at all (a plain TLS client).
        ctx = ssl.create_default_context(cafile=self.p("ca.pem"))
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError)):
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    s.sendall(b"SLC1\0\1\0\0\0\0\0\2\0\0\0\0{}")
                    if not s.recv(64):
                        raise ConnectionResetError("closed without an answer")
        # Unreadable or invalid TLS files are bad input (2), not an unreachable peer (3).
        garbage = os.path.join(self.tmp, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        for cert in (garbage, os.path.join(self.tmp, "missing.pem")):
            p = subprocess.run([CTL, "--host", f"127.0.0.1:{self.port}", "--cert", cert, "--key", self.p("client.key"),
                                "--ca", self.p("ca.pem"), "status"], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, (cert, p.stderr))
        # A server the client does not trust.
        distrust = self.ctl_as("client", "rogue-ca")
        self.assertEqual(distrust.returncode, 3)
        self.assertIn("TLS handshake failed", distrust.stderr)
        # Trusted by the CA but granted nothing: every command is forbidden (exit 1, code named).
        nobody = self.ctl_as("nobody", "ca")
        self.assertEqual(nobody.returncode, 1, nobody.stderr)
        self.assertIn("[forbidden]", nobody.stderr)
        self.assertIn("cert:CN=nobody", nobody.stderr)
        # The operator may not push rules (admin only) - refused before the bundle is read.
        rules = os.path.join(self.tmp, "r.rules")
        with open(rules, "w") as f:
            f.write('alert http any any -> any any (msg:"x"; http.uri; content:"/x"; sid:1;)\n')
        op = self.ctl_as("client", "ca", "rules", "push", rules)
        self.assertEqual(op.returncode, 1, op.stderr)
        self.assertRegex(op.stderr, r"forbidden|too_large")
        self.assertIn("refused", self.dp_log_tail())
        # The dataplane kept serving.
        again = self.ctl_as("client", "ca", "blocklist", "add", "ip", "203.0.113.0/24")
        self.assertEqual(again.returncode, 0, again.stderr)
        again = self.ctl_as("client", "ca", "blocklist", "del", "ip", "203.0.113.0/24")
        self.assertEqual(again.returncode, 0, again.stderr)

    def test_sluiced_over_mutual_tls(self):
        state, sock = os.path.join(self.tmp, "state"), os.path.join(self.tmp, "sd.sock")
        cfg = os.path.join(self.tmp, "sluiced.yaml")
        dport = self.port + 1
        with open(cfg, "w") as f:
            f.write(f"listen: 127.0.0.1:{dport}\ncert: {self.p('server.pem')}\nkey: {self.p('server.key')}\n"
                    f"ca: {self.p('ca.pem')}\n"
                    "access:\n  - {role: operate, sans: ['DNS:ops']}\n"
                    "dataplanes:\n"
                    f"  - {{name: remote1, address: 127.0.0.1:{self.port}, cert: {self.p('sluiced.pem')}, "
                    f"key: {self.p('sluiced.key')}, ca: {self.p('ca.pem')}}}\n")
        sd = subprocess.Popen([SLUICED, "--config", cfg, "--state-dir", state, "--socket", sock],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            def fleet():
                p = self.ctl_as("client", "ca", "dataplanes", "list", port=dport)
                return json.loads(p.stdout)["dataplanes"] if p.returncode == 0 else []
            deadline = time.time() + 20
            while time.time() < deadline and not (fleet() and fleet()[0]["up"]):
                time.sleep(0.2)
            self.assertTrue(fleet()[0]["up"], fleet())
            self.assertEqual(fleet()[0]["endpoint"], f"127.0.0.1:{self.port}")
            p = self.ctl_as("client", "ca", "blocklist", "add", "account", "00112233aabbccdd", port=dport)
            self.assertEqual(p.returncode, 0, p.stderr)
            deadline = time.time() + 20
            while time.time() < deadline:
                rows = json.loads(self.ctl_as("client", "ca", "blocklist", "list").stdout)["entries"]
                if rows:
                    break
                time.sleep(0.2)
            self.assertEqual([r["value"] for r in rows], ["00112233aabbccdd"])
            # The daemon refuses an untrusted operator too, and audits a trusted one without a role.
            self.assertEqual(self.ctl_as("rogue", "ca", "status", port=dport).returncode, 3)
            self.assertEqual(self.ctl_as("nobody", "ca", "status", port=dport).returncode, 1)
            with open(os.path.join(state, "audit.log")) as f:
                audit = [json.loads(line) for line in f]
            self.assertIn({"principal": "cert:CN=nobody", "role": "none", "cmd": "status", "code": "forbidden"},
                          [{k: a.get(k) for k in ("principal", "role", "cmd", "code")} for a in audit])
            added = [a for a in audit if a["cmd"] == "lists.add"]
            self.assertEqual([(a["principal"], a["role"]) for a in added], [("cert:CN=client", "operate")])
            p = self.ctl_as("client", "ca", "blocklist", "del", "account", "00112233aabbccdd", port=dport)
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            sd.send_signal(signal.SIGTERM)
            sd.communicate(timeout=30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
