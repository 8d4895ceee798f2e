#!/usr/bin/env python3
"""Clients that try to crash or stall the control plane, and roles, against a live dataplane
(net_null ports) and sluiced: JSON nested 100000 deep, a client that pipelines requests and
never reads, clients that ask and hang up (SIGPIPE), trickling clients (one deadline per
request, not per byte), more connections than the limits, a thousand bare connects (threads
are reaped), a hung dataplane behind sluiced (the CLI, /metrics and the other dataplane go
on), trickling /metrics scrapes, a TTL that would wrap, and every command as every role
(read, operate, admin, none) over mutual TLS against the table in docs/control-protocol.md,
plus a Unix uid granted read. The oracle for "still serving" is a real sluicectl or scrape
answering within its own timeout."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402
from mtls_test import make_pki  # noqa: E402

CTL = os.path.join(t.BUILD, "control/sluicectl")
SLUICED = os.path.join(t.BUILD, "control/sluiced")
LIMITS = {"max_connections": 48, "max_per_peer": 24, "request_ms": 1500, "idle_ms": 4000, "write_ms": 1500}
NOBODY = 65534


def leaf(d, name, san):
    def ossl(*a):
        subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\n")
    ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
         "-extfile", f"{name}.ext", "-out", f"{name}.pem")


class Hardening(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._dir = tempfile.TemporaryDirectory(prefix="sluice-harden-")
        d = cls.d = cls._dir.name
        os.chmod(d, 0o755)  # nobody must reach the sockets for the uid test
        make_pki(d)
        for role in ("reader", "operator", "admin"):
            leaf(d, role, f"DNS:{role}.ops")
        base = 22000 + os.getpid() % 18000
        cls.dp_tls, cls.dp_metrics, cls.sd_tls, cls.sd_metrics = base, base + 1, base + 2, base + 3
        cls.dp_sock, cls.sd_sock = os.path.join(d, "dp.sock"), os.path.join(d, "sd.sock")
        cls.hung_sock, cls.deaf_sock = os.path.join(d, "hung.sock"), os.path.join(d, "deaf.sock")
        # A "dataplane" that accepts and never answers, and one that never even accepts.
        cls.hung = socket.socket(socket.AF_UNIX)
        cls.hung.bind(cls.hung_sock)
        cls.hung.listen(64)
        cls.hung_conns = []
        threading.Thread(target=cls._accept_forever, daemon=True).start()
        cls.deaf = socket.socket(socket.AF_UNIX)
        cls.deaf.bind(cls.deaf_sock)
        cls.deaf.listen(0)
        roles = ("  access:\n    - {role: read, subjects: ['CN=reader']}\n"
                 "    - {role: operate, sans: ['DNS:operator.ops']}\n"
                 "    - {role: admin, subjects: ['CN=admin']}\n")
        dp_cfg = os.path.join(d, "dp.yaml")
        with open(dp_cfg, "w") as f:
            f.write("control:\n" + roles + "  limits: " + json.dumps(LIMITS) + "\n")
        p = lambda n: os.path.join(d, n)  # noqa: E731
        cls.dp = subprocess.Popen(
            [*t.LIVE, "--config", dp_cfg, "--port", "a=net_null0,no-rx=1", "--port", "b=net_null1,no-rx=1",
             "--inline", "a:b", "--control", cls.dp_sock, "--control-listen", f"127.0.0.1:{cls.dp_tls}",
             "--control-cert", p("server.pem"), "--control-key", p("server.key"), "--control-ca", p("ca.pem"),
             "--control-grant", "read=uid:nobody", "--metrics", f"127.0.0.1:{cls.dp_metrics}",
             "--idle-backoff-us", "1000", "--quiet", "--", "--no-huge", "-m", "256", "--no-pci",
             f"--file-prefix=slhard{os.getpid()}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        cls.state = p("state")
        sd_cfg = p("sd.yaml")
        with open(sd_cfg, "w") as f:
            f.write(f"listen: 127.0.0.1:{cls.sd_tls}\ncert: {p('server.pem')}\nkey: {p('server.key')}\n"
                    f"ca: {p('ca.pem')}\nmetrics: 127.0.0.1:{cls.sd_metrics}\n"
                    + roles.replace("  access:", "access:").replace("\n    ", "\n  ")
                    + "limits: " + json.dumps(LIMITS) + "\n"
                    "fleet_timeouts: {connect_ms: 1000, status_ms: 2000, query_ms: 2000}\n"
                    "dataplanes:\n"
                    f"  - {{name: hung, socket: {cls.hung_sock}}}\n"
                    f"  - {{name: deaf, socket: {cls.deaf_sock}}}\n"
                    f"  - {{name: edge, socket: {cls.dp_sock}}}\n")
        cls.sd = subprocess.Popen([SLUICED, "--config", sd_cfg, "--state-dir", cls.state, "--socket", cls.sd_sock,
                                   "--grant", "read=uid:nobody"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for sock in (cls.dp_sock, cls.sd_sock):
            for _ in range(200):
                if os.path.exists(sock) and cls.ctl(sock, "status").returncode == 0:
                    break
                time.sleep(0.1)
            os.chmod(sock, 0o666)  # let nobody connect: its role, not the file mode, decides

    @classmethod
    def _accept_forever(cls):
        while True:
            try:
                c, _ = cls.hung.accept()
            except OSError:
                return
            cls.hung_conns.append(c)  # held open, never read, never answered

    @classmethod
    def tearDownClass(cls):
        for proc in (cls.sd, cls.dp):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=30)
        cls.hung.close()
        cls.deaf.close()
        cls._dir.cleanup()

    @classmethod
    def ctl(cls, sock, *args, timeout=5, user=None):
        cmd = [CTL, "--socket", sock, "--timeout", str(timeout), "--json", *args]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)

    def alive(self):
        """Both servers up and answering a real client within its timeout."""
        self.assertIsNone(self.dp.poll(), "the dataplane died")
        self.assertIsNone(self.sd.poll(), "sluiced died")
        for sock in (self.dp_sock, self.sd_sock):
            # `busy` is a right answer while the connections a test just dropped are still
            # being served (status takes milliseconds each); it must clear within seconds.
            for _ in range(20):
                p = self.ctl(sock, "status", timeout=3)
                if p.returncode == 0 or "[busy]" not in p.stderr:
                    break
                time.sleep(0.25)
            self.assertEqual(p.returncode, 0, (sock, p.stderr))

    def tls(self, who, port):
        import ssl
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=os.path.join(self.d, "ca.pem"))
        ctx.load_cert_chain(os.path.join(self.d, f"{who}.pem"), os.path.join(self.d, f"{who}.key"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    # --- crashes ---------------------------------------------------------------------------
    def test_nested_json_is_refused_and_the_connection_stays_usable(self):
        depth = 100_000  # ~400 KB of brackets under args
        raw = b'{"id":7,"cmd":"status","args":{"x":' + b"[" * depth + b"]" * depth + b"}}"
        for sock in (self.dp_sock, self.sd_sock):
            with t.unix_connect(sock) as s:
                s.sendall(t.control_frame(None, raw_json=raw))
                answer, _ = t.read_control_frame(s)
                self.assertEqual(answer["code"], "too_large", answer)
                self.assertIn("deeper than 64", answer["error"])
                ok = t.control_request(s, "status", rid=8)
                self.assertTrue(ok["ok"], ok)
                self.assertEqual(ok["id"], 8)
        self.alive()

    def test_clients_that_ask_and_hang_up(self):
        for sock in (self.dp_sock, self.sd_sock):
            for _ in range(50):
                with t.unix_connect(sock) as s:
                    s.sendall(t.control_frame({"id": 1, "cmd": "status", "args": {}}))
        for _ in range(20):  # over TLS too (the same server code, SSL_write instead of send)
            s = self.tls("admin", self.dp_tls)
            s.sendall(t.control_frame({"id": 1, "cmd": "status", "args": {}}))
            s.close()
        self.alive()

    # --- stalls ----------------------------------------------------------------------------
    def test_a_client_that_never_reads_stalls_only_itself(self):
        s = t.unix_connect(self.dp_sock)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = t.control_frame({"id": 1, "cmd": "status", "args": {}})
        s.settimeout(0.2)
        sent = 0
        try:
            for _ in range(5000):
                s.sendall(req)
                sent += 1
        except (socket.timeout, BlockingIOError, BrokenPipeError, ConnectionResetError):
            pass
        self.assertGreater(sent, 20)
        # Meanwhile everyone else is served...
        self.alive()
        # ...and the glutton loses its connection once an answer cannot be written in time.
        time.sleep(LIMITS["write_ms"] / 1000 + 1)
        s.settimeout(5)
        closed = False
        try:
            while s.recv(1 << 20):  # the answers written before the deadline, then EOF
                pass
            closed = True
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False  # still open: the server would be holding a thread for it
        self.assertTrue(closed)
        s.close()

    def test_tricklers_get_one_deadline_per_request(self):
        frame = t.control_frame({"id": 1, "cmd": "status", "args": {}})
        results = {}

        def trickle(i, sock):
            with t.unix_connect(sock) as s:
                try:
                    for b in frame:
                        s.sendall(bytes([b]))
                        time.sleep(0.25)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                answer = t.read_control_frame(s, timeout=10)
                results[(sock, i)] = answer[0]["code"] if answer else "closed"
        threads = [threading.Thread(target=trickle, args=(i, sock))
                   for sock in (self.dp_sock, self.sd_sock) for i in range(16)]
        for th in threads:
            th.start()
        time.sleep(0.5)
        self.alive()  # 32 tricklers hold connections; operators are still served
        for th in threads:
            th.join(timeout=30)
        self.assertEqual(set(results.values()), {"timeout"}, results)

    def test_connection_limits_answer_busy(self):
        held = [t.unix_connect(self.sd_sock) for _ in range(LIMITS["max_per_peer"])]
        try:
            time.sleep(0.3)
            with t.unix_connect(self.sd_sock) as extra:
                answer = t.read_control_frame(extra, timeout=5)
                self.assertEqual(answer[0]["code"], "busy", answer)
        finally:
            for s in held:
                s.close()
        time.sleep(0.5)  # the held connections' threads are reaped
        self.alive()
        with open(os.path.join(self.state, "audit.log")) as f:
            self.assertIn("busy", [json.loads(line).get("code") for line in f])

    def test_a_thousand_connects_leave_no_threads_behind(self):
        before = t.thread_count(self.dp.pid), t.thread_count(self.sd.pid)
        for _ in range(1000):
            socket.create_connection(("127.0.0.1", self.dp_tls), timeout=5).close()
            t.unix_connect(self.sd_sock).close()
        time.sleep(1.0)
        self.alive()
        after = t.thread_count(self.dp.pid), t.thread_count(self.sd.pid)
        # Reaped: no more than a few connection threads (this test's own status calls) remain.
        self.assertLessEqual(after[0], before[0] + 3, (before, after))
        self.assertLessEqual(after[1], before[1] + 3, (before, after))

    def test_a_hung_dataplane_stalls_nobody(self):
        # sluiced's sync thread keeps meeting the hung and the deaf dataplane; the CLI, /metrics
        # and the healthy dataplane's sync are not held behind them.
        for _ in range(3):
            p = self.ctl(self.sd_sock, "dataplanes", "list", timeout=3)
            self.assertEqual(p.returncode, 0, p.stderr)
            body = urllib.request.urlopen(f"http://127.0.0.1:{self.sd_metrics}/metrics", timeout=3).read().decode()
            self.assertIn("sluiced_dataplanes", body)
        fleet = {x["name"]: x for x in json.loads(p.stdout)["dataplanes"]}
        deadline = time.time() + 30
        while time.time() < deadline and not (fleet["edge"]["up"] and "error" in fleet["hung"]):
            time.sleep(0.5)
            fleet = {x["name"]: x for x in json.loads(self.ctl(self.sd_sock, "dataplanes", "list").stdout)["dataplanes"]}
        self.assertTrue(fleet["edge"]["up"], fleet)
        self.assertFalse(fleet["hung"]["up"], fleet)
        self.assertRegex(fleet["hung"]["error"], "timed out")
        # A list change still reaches the healthy dataplane.
        p = self.ctl(self.sd_sock, "blocklist", "add", "ip", "198.51.100.7", "--reason", "hung test")
        self.assertEqual(p.returncode, 0, p.stderr)
        deadline = time.time() + 30
        while time.time() < deadline:
            rows = json.loads(self.ctl(self.dp_sock, "blocklist", "list").stdout)["entries"]
            if any(r["value"].startswith("198.51.100.7") for r in rows):
                break
            time.sleep(0.3)
        self.assertTrue(any(r["value"].startswith("198.51.100.7") for r in rows), rows)
        self.ctl(self.sd_sock, "blocklist", "del", "ip", "198.51.100.7")

    def test_trickling_scrapes_do_not_block_metrics(self):
        conns = []
        for _ in range(6):
            for port in (self.dp_metrics, self.sd_metrics):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"GET /met")
                conns.append(s)
        for port in (self.dp_metrics, self.sd_metrics):
            self.assertEqual(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3).status, 200)
        time.sleep(5.5)  # their request deadline passes: answered 408 and closed
        for s in conns:
            s.settimeout(3)
            self.assertIn(b"408", s.recv(256))
            s.close()

    # --- arguments -------------------------------------------------------------------------
    def test_a_wrapping_ttl_is_refused_everywhere(self):
        p = self.ctl(self.sd_sock, "blocklist", "add", "ip", "192.0.2.1", "--ttl", "18446744073709551615")
        self.assertEqual(p.returncode, 2, p.stderr)
        p = self.ctl(self.sd_sock, "blocklist", "add", "ip", "192.0.2.1", "--ttl", "213503982334601d")
        self.assertEqual(p.returncode, 2, p.stderr)
        for sock in (self.sd_sock, self.dp_sock):
            with t.unix_connect(sock) as s:
                a = t.control_request(s, "lists.add", {"list": "block", "kind": "ip", "value": "192.0.2.1",
                                                       "ttl_s": 2 ** 64 - 1})
                self.assertEqual(a["code"], "bad_request", a)
                a = t.control_request(s, "lists.add", {"list": "block", "kind": "ip", "value": "192.0.2.1",
                                                       "ttl_s": -5})
                self.assertEqual(a["code"], "bad_request", a)
                a = t.control_request(s, "accounts.top", {"n": 2 ** 63})
                self.assertIn(a["code"], ("bad_request",), a)
            rows = json.loads(self.ctl(sock, "blocklist", "list").stdout)["entries"]
            self.assertFalse([r for r in rows if r["value"] == "192.0.2.1"], rows)
        with open(os.path.join(self.state, "audit.log")) as f:
            self.assertFalse([line for line in f if "192.0.2.1" in line and '"accepted"' in line])

    def test_a_dataset_outside_the_directories_is_refused(self):
        # sluiced has no dataset_dirs here: a pushed rule may not make it read any file
        # (an existence oracle, and the contents would be shipped to every dataplane).
        for path in ("/etc/passwd", "../../../../etc/passwd", "/nonexistent/x.lst"):
            rule = ('alert http any any -> any any (msg:"ds"; http.user_agent; '
                    f'dataset:isset,ua,type string,load {path}; sid:9201;)\n')
            with t.unix_connect(self.sd_sock) as s:
                a = t.control_request(s, "rules.push", {"files": [{"name": "pushed.rules", "text": rule}]})
            self.assertEqual(a["code"], "invalid", a)
            self.assertIn("pushed.rules:1:", a["error"])
            self.assertIn("dataset directories", a["error"])
            self.assertNotIn("root:", a["error"])
        audit = os.path.join(self.state, "audit.log")
        if os.path.exists(audit):  # run alone, nothing else has written it yet
            with open(audit) as f:
                self.assertFalse([line for line in f if "9201" in line])

    # --- roles -----------------------------------------------------------------------------
    def role_table(self):
        rows = []
        with open(os.path.join(t.SOURCE, "docs/control-protocol.md")) as f:
            for line in f:
                m = re.match(r"\| `([a-z.]+)` \| (read|operate|admin) \| (both|dataplane|sluiced) \|", line)
                if m:
                    rows.append(m.groups())
        self.assertGreater(len(rows), 20)
        return rows

    def args_for(self, cmd, endpoint):
        with open(os.path.join(t.SOURCE, "rules/policy/default.yaml")) as f:
            policy = f.read()
        rule = 'alert http any any -> any any (msg:"roles"; http.uri; content:"/roles"; sid:9101;)\n'
        return {
            "accounts.top": ({"n": 3}, b""), "accounts.show": ({"id": "0011223344556677"}, b""),
            "clusters.list": ({"n": 3}, b""),
            "lists.show": ({"list": "block"}, b""),
            "lists.add": ({"list": "allow", "kind": "ja4", "value": "t13d1516h2_8daaf6152771_e5627efa2ab1"}, b""),
            "lists.del": ({"list": "allow", "kind": "ja4", "value": "t13d1516h2_8daaf6152771_e5627efa2ab1"}, b""),
            "lists.replace": ({"entries": []}, b""),
            "secrets.push": ({"text": "# nothing secret\n"}, b""),
            "rules.validate": (({"files": [{"name": "r.rules", "text": rule}]}, b"") if endpoint == "sluiced"
                               else ({}, self.bundle)),
            "rules.push": ({"files": [{"name": "r.rules", "text": rule}], "message": "roles"}, b"")
            if endpoint == "sluiced" else ({}, self.bundle),
            "rules.apply": ({}, self.bundle),
            "rules.diff": ({"from": 1, "to": 1}, b""),
            "rules.rollback": ({"version": 1}, b""),
            "policy.validate": ({"text": policy}, b""), "policy.push": ({"text": policy}, b""),
            "policy.apply": ({"text": policy}, b""), "policy.rollback": ({"version": 1}, b""),
        }.get(cmd, ({}, b""))

    def test_each_role_can_do_exactly_what_the_table_says(self):
        bundle = os.path.join(self.d, "roles.bundle")
        rules = os.path.join(self.d, "roles.rules")
        with open(rules, "w") as f:
            f.write('alert http any any -> any any (msg:"roles"; http.uri; content:"/roles"; sid:9101;)\n')
        t.dataplane("--rules", rules, "--write-bundle", bundle)
        with open(bundle, "rb") as f:
            self.bundle = f.read()
        with open(rules) as f:
            rule_text = f.read()
        with open(os.path.join(t.SOURCE, "rules/policy/default.yaml")) as f:
            policy_text = f.read()
        # A first version and policy exist, so diff and rollback have something to act on.
        for cmd, args in (("rules.push", {"files": [{"name": "r.rules", "text": rule_text}]}),
                          ("policy.push", {"text": policy_text})):
            with t.unix_connect(self.sd_sock) as s:
                self.assertTrue(t.control_request(s, cmd, args)["ok"])
        order = {"none": 0, "read": 1, "operate": 2, "admin": 3}
        seen = []
        for who, role in (("nobody", "none"), ("reader", "read"), ("operator", "operate"), ("admin", "admin")):
            for endpoint, port in (("dataplane", self.dp_tls), ("sluiced", self.sd_tls)):
                for cmd, need, answered_by in self.role_table():
                    if answered_by not in ("both", endpoint):
                        continue
                    args, blob = self.args_for(cmd, endpoint)
                    if order[role] < order[need] and blob:
                        continue  # a blob from a caller who may not send one: covered below
                    with self.tls(who, port) as s:
                        # sluiced's secrets.push waits for the hung dataplane's timeout.
                        a = t.control_request(s, cmd, args, blob, timeout=30)
                    seen.append((who, endpoint, cmd))
                    if order[role] >= order[need]:
                        # Allowed: it succeeds (or finds nothing to act on), never forbidden.
                        self.assertTrue(a["ok"] or a["code"] in ("not_found",), (who, endpoint, cmd, a))
                    else:
                        self.assertEqual(a.get("code"), "forbidden", (who, endpoint, cmd, a))
                        self.assertIn(f"needs the {need} role", a["error"])
        self.assertGreater(len(seen), 100)
        # A blob from an operator (key logs: up to 4 MiB) is no rule bundle it may apply, and a
        # reader may send none at all: refused before it is read.
        with self.tls("operator", self.dp_tls) as s:
            a = t.control_request(s, "rules.apply", {}, self.bundle)
            self.assertEqual(a["code"], "forbidden", a)
        with self.tls("reader", self.dp_tls) as s:
            a = t.control_request(s, "rules.apply", {}, self.bundle)
            self.assertEqual(a["code"], "too_large", a)
        # Refusals name the principal and role in sluiced's audit log.
        with open(os.path.join(self.state, "audit.log")) as f:
            audit = [json.loads(line) for line in f]
        self.assertIn(("cert:CN=reader", "read", "lists.add", "forbidden"),
                      [(a.get("principal"), a.get("role"), a.get("cmd"), a.get("code")) for a in audit])
        self.alive()

    def test_a_unix_uid_gets_exactly_its_grant(self):
        for sock in (self.dp_sock, self.sd_sock):
            p = self.ctl(sock, "status", user=NOBODY)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout)["control"]["caller_role"], "read")
            self.assertEqual(json.loads(p.stdout)["control"]["principal"], f"uid:{NOBODY}")
            p = self.ctl(sock, "blocklist", "add", "ip", "192.0.2.9", user=NOBODY)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("[forbidden]", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
