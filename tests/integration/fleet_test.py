#!/usr/bin/env python3
"""The fleet on real Redis servers this test starts and stops (a standalone server with an ACL
user, and a cluster of three masters with a replica each; docs/fleet.md):

- routing: the gtest binary sluice-fleet-redis-tests (slots against CLUSTER KEYSLOT, pipelines
  over every master, ASK during a slot migration and MOVED after it, AUTH, an unreachable seed);
- detection across edges: one labelled scenario split into four edge captures by client network
  (tcpdump, so each edge sees a disjoint set of client /24s), four dataplanes sharing the
  cluster with a sync point at the end: pooled keys used from many networks, which no single
  edge flags, are flagged on every edge that sees them; with sharing off they are not; benign
  accounts stay unflagged either way;
- privacy: every key and value in the cluster is scanned for the capture's credentials, their
  hints and the client addresses (none may be there; keys follow the documented model);
- failure: an edge whose Redis is unreachable finishes with exactly its local results and
  counts what it could not publish or read; an edge on the ACL-protected standalone server
  publishes with the password from a file."""
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import sluice_testlib as t  # noqa: E402
import hostile_redis  # noqa: E402
import redis_servers  # noqa: E402

SYNTH = os.path.join(t.BUILD, "tools/synth/sluice-synth")
ROUTING = os.path.join(t.BUILD, "tests/sluice-fleet-redis-tests")
EDGES = 4
SERVER_NET = "10.0.0.0/24"

SCENARIO = """name: fleet-pooled-keys
description: pooled keys over many residential networks, and customers
duration: 300
populations:
  - {class: reseller, accounts: 4, clusters: 4, ips: 36, sessions_per_account: 40,
     requests_per_session: 1, timing: diurnal}
  - {class: benign, accounts: 40}
  - {class: traveller, accounts: 3}
  - {class: office_nat, accounts: 6}
  - {class: hydra, accounts: 48, clusters: 1, ips: 400, sessions_per_account: 1,
     requests_per_session: 1, timing: diurnal}
"""

# Local and fleet-wide versions of one rule, at one threshold: an edge sees about a quarter of
# a pooled key's networks, the fleet all of them. The slow hydra (48 accounts, one flagged
# request each, on 400 exits) shows each edge small template clusters; the fleet counts each
# template's accounts everywhere.
POLICY = """window: 600
clusters: {link_by: [ip, template], template_prompts: flagged}
rules:
  - {name: many-networks, signal: distinct_prefixes, above: 14, min_requests: 10, score: 40,
     reason: "requests from many networks"}
  - {name: fleet-many-networks, signal: fleet.distinct_prefixes, above: 14, min_requests: 10,
     score: 40, reason: "requests from many networks across the fleet"}
  - {name: template-cluster, signal: cluster_size, above: 10, score: 40,
     reason: "in a large cluster of accounts sharing a prompt template"}
  # Accounts that sent one flagged template anywhere in the fleet (a per-template count; a
  # local cluster joins every template its members share, hence its higher threshold).
  - {name: fleet-template, signal: fleet.template_accounts, above: 6, score: 40,
     reason: "its prompt template is sent by many accounts across the fleet"}
actions:
  - {score: 40, action: rate-limit, rate_per_minute: 10}
"""

KEY_RE = re.compile(r"^(?P<prefix>[a-z0-9-]+:)\{(acct:[0-9a-f]{16}\}:(ip|net|asn|ja4|cnt):\d+|"
                    r"tpl:[0-9a-f]{16}\}:\d+|sync:[a-z0-9-]+\}:done)$")


def _listening(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class FleetBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._dir = tempfile.TemporaryDirectory(prefix="sluice-fleet-")
        d = cls.dir = cls._dir.name
        scenario = os.path.join(d, "scenario.yaml")
        with open(scenario, "w") as f:
            f.write(SCENARIO)
        cls.cap = os.path.join(d, "cap")
        t.run([SYNTH, "--scenario", scenario, "--seed", "17", "--plaintext", "--out", cls.cap, "--quiet"])
        cls.klass = {}
        with open(os.path.join(cls.cap, "truth.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                if r["type"] == "request":
                    cls.klass[r["identity"]] = r["class"]
        # Edge k sees the clients whose third address octet is k modulo 4 (both directions).
        cls.slices = []
        for k in range(EDGES):
            out = os.path.join(d, f"edge{k}.pcap")
            flt = (f"(dst net {SERVER_NET} and ip[14] & 3 = {k}) or "
                   f"(src net {SERVER_NET} and ip[18] & 3 = {k})")
            t.run(["tcpdump", "-r", os.path.join(cls.cap, "traffic.pcap"), "-w", out, flt])
            cls.slices.append(out)
        cls.policy = os.path.join(d, "policy.yaml")
        with open(cls.policy, "w") as f:
            f.write(POLICY)
        # The credentials in the capture, read by tshark (not by sluice), for the privacy scan.
        r = t.run(["tshark", "-r", os.path.join(cls.cap, "traffic.pcap"), "-Y", "http.request",
                   "-T", "fields", "-e", "http.request.line"])
        cls.secrets = set()
        for line in r.stdout.splitlines():
            for part in line.split(","):
                m = re.match(r"(?i)\s*(x-api-key:|authorization: bearer|cookie: [a-z_.-]+=)\s*(\S+?)(\\r\\n|\r\n|$)", part)
                if m:
                    cls.secrets.add(m.group(2))
        cls.cluster = redis_servers.Cluster(masters=3, replicas=1).__enter__()
        cls.standalone = redis_servers.Standalone(user="edge-acl", password="pw-7f3c9a").__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__()
        cls.standalone.__exit__()
        cls._dir.cleanup()

    def edge_cmd(self, k, workdir, fleet=None, extra_yaml=""):
        os.makedirs(workdir, exist_ok=True)
        args = [t.DATAPLANE, "--pcap", self.slices[k], "--eve", os.path.join(workdir, "eve.json"),
                "--summary-json", os.path.join(workdir, "summary.json"), "--quiet",
                "--policy", self.policy, "--accounts-out", os.path.join(workdir, "accounts.jsonl"),
                *t.tso_option(self.slices[k])]
        if fleet is not None or extra_yaml:
            cfg = os.path.join(workdir, "config.yaml")
            with open(cfg, "w") as f:
                if fleet is not None:
                    f.write("fleet:\n" + "".join(f"  {line}\n" for line in fleet))
                f.write(extra_yaml)
            args += ["--config", cfg]
        return args

    def run_edges(self, name, fleet_of=None, edges=range(EDGES), extra_yaml=""):
        """Runs the edges at once (they meet at the sync point); returns per edge (summary,
        {account id: standing})."""
        procs = []
        for k in edges:
            w = os.path.join(self.dir, name, f"edge{k}")
            procs.append((k, w, subprocess.Popen(self.edge_cmd(k, w, fleet_of(k) if fleet_of else None, extra_yaml),
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        out = {}
        for k, w, p in procs:
            so, se = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, f"edge {k}: {se}")
            with open(os.path.join(w, "summary.json")) as f:
                summary = json.load(f)
            standing = {}
            with open(os.path.join(w, "accounts.jsonl")) as f:
                for line in f:
                    a = json.loads(line)
                    standing[a["account"]["id"]] = a["account"]
            out[k] = (summary, standing)
        return out

    def cluster_fleet(self, run, k):
        return ["enabled: true", f"edge: edge-{k}",
                "redis: {seeds: [" + ", ".join(self.cluster.seeds()) + "]}",
                f"key_prefix: \"{run}:\"",
                # An edge sees about a quarter of a key's networks: ask from two (0.1 x 14).
                "read_fraction: 0.1", f"offline_sync: {{run: {run}, edges: {EDGES}, timeout: 60}}"]

    def check_keyspace(self, run):
        keys = self.cluster.keys()
        mine = {k: v for k, v in keys.items() if k.startswith(run + ":")}
        self.assertTrue(mine)
        kinds = set()
        for k in mine:
            m = KEY_RE.match(k)
            self.assertIsNotNone(m, f"unexpected key {k!r}")
            tag = k.split("{")[1].split(":")[0]
            kinds.add(tag if tag != "acct" else k.split("}:")[1].split(":")[0])
        self.assertTrue({"ip", "net", "cnt", "tpl", "sync"} <= kinds, kinds)
        with open(os.path.join(self.cap, "truth.jsonl")) as f:
            truth = [json.loads(x) for x in f]
        addresses = {r["flow"]["src_ip"] for r in truth if r["type"] == "request"}
        hints = {r["key_hint"] for r in truth if r["type"] == "account" and "key_hint" in r}
        self.assertTrue(addresses and hints)
        # Credentials, the start of each (what a hint shows), any key-type prefix or hint
        # ellipsis, and the client addresses.
        needles = set(self.secrets) | {x[:16] for x in self.secrets} | addresses | hints | {"sk-ant", "\u2026", "…"}
        self.assertTrue(self.secrets, "tshark found no credential in the capture")
        blob = "\n".join(f"{k}\t{v}" for k, v in keys.items())
        for n in needles:
            self.assertNotIn(n, blob)

    def eve_lines(self, name, k):
        with open(os.path.join(self.dir, name, f"edge{k}", "eve.json")) as f:
            return f.read().splitlines()


class Fleet(FleetBase):
    def test_routing_against_real_servers(self):
        liars = {mode: hostile_redis.start(mode)
                 for mode in ("bad-slots", "moved-loop", "moved-elsewhere", "truncated")}
        env = dict(os.environ,
                   SLUICE_REDIS_BAD_SLOTS=f"127.0.0.1:{liars['bad-slots'][1]}",
                   SLUICE_REDIS_MOVED_LOOP=f"127.0.0.1:{liars['moved-loop'][1]}",
                   SLUICE_REDIS_MOVED_ELSEWHERE=f"127.0.0.1:{liars['moved-elsewhere'][1]}",
                   SLUICE_REDIS_TRUNCATED=f"127.0.0.1:{liars['truncated'][1]}",
                   SLUICE_REDIS_CLUSTER=",".join(self.cluster.seeds()),
                   SLUICE_REDIS_STANDALONE=f"127.0.0.1:{self.standalone.port}",
                   SLUICE_REDIS_USER="edge-acl", SLUICE_REDIS_PASSWORD="pw-7f3c9a",
                   SLUICE_REDIS_DEAD=f"127.0.0.1:{t.free_port()}")
        try:
            r = subprocess.run([ROUTING, "--gtest_brief=1"], env=env, capture_output=True, text=True, timeout=120)
        finally:
            for server, _ in liars.values():
                server.shutdown()
                server.server_close()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("PASSED", r.stdout)

    def test_campaigns_flagged_on_every_edge_only_with_sharing(self):
        resellers = {i for i, c in self.klass.items() if c == "reseller"}
        hydras = {i for i, c in self.klass.items() if c == "hydra"}
        self.assertEqual(len(resellers), 4)
        self.assertEqual(len(hydras), 48)
        alone = self.run_edges("alone")
        shared = self.run_edges("shared", lambda k: self.cluster_fleet("shared", k))
        seen_on = {i: [k for k in range(EDGES) if i in shared[k][1]] for i in resellers}
        for i, edges in seen_on.items():
            self.assertGreaterEqual(len(edges), 3, f"{i} reaches too few edges to test")
        for k in range(EDGES):
            s_alone, st_alone = alone[k]
            s_shared, st_shared = shared[k]
            self.assertEqual(set(st_alone), set(st_shared))
            for i, a in st_alone.items():
                # No edge alone sees enough of any account to flag it.
                self.assertEqual(a["action"], "pass", f"edge {k} flags {i} ({self.klass.get(i)}) alone")
                self.assertLessEqual(a["signals"]["distinct_prefixes"], 14)
            for i, a in st_shared.items():
                if i in resellers:
                    self.assertEqual(a["action"], "rate-limit", f"edge {k}: pooled key {i}: {a}")
                    self.assertIn("requests from many networks across the fleet", a["reasons"])
                    f = a["signals"]["fleet"]
                    self.assertGreater(f["distinct_prefixes"], 14)
                    # The fleet's view covers this edge's own evidence and more.
                    self.assertGreater(f["distinct_prefixes"], a["signals"]["distinct_prefixes"])
                    self.assertGreaterEqual(f["requests"], a["signals"]["requests"])
                elif i in hydras:
                    # A slow hydra: one flagged request per account, its templates shared by
                    # accounts on every edge.
                    self.assertEqual(a["action"], "rate-limit", f"edge {k}: hydra {i}: {a}")
                    self.assertIn("its prompt template is sent by many accounts across the fleet",
                                  a["reasons"])
                    self.assertGreater(a["signals"]["fleet"]["template_accounts"], 6)
                    self.assertLessEqual(a["cluster"]["size"], 10)
                else:
                    self.assertEqual(a["action"], "pass", f"edge {k}: {self.klass.get(i)} {i}: {a}")
            fl = s_shared["engine"]["fleet"]
            self.assertEqual(fl["sync_timeouts"], 0)
            self.assertEqual(fl["publish_failed"], 0)
            self.assertEqual(fl["read_failed"], 0)
            self.assertGreater(fl["published"], 0)
            self.assertEqual(fl["mode"], "cluster")
            self.assertEqual(fl["masters"], 3)
            self.assertEqual(fl["evidence_dropped"], 0)
        # Records: every flagged pooled key has an account record on its edges' EVE.
        for k in range(EDGES):
            with open(os.path.join(self.dir, "shared", f"edge{k}", "eve.json")) as f:
                recs = [json.loads(x) for x in f if '"event_type":"account"' in x]
            flagged = {r["account"]["id"] for r in recs if r["account"]["action"] == "rate-limit"}
            self.assertEqual(flagged, {i for i in resellers | hydras if i in shared[k][1]})
        self.check_keyspace("shared")

    def test_eve_to_a_redis_list_and_stream(self):
        pw = os.path.join(self.dir, "eve-redis.pass")
        with open(pw, "w") as f:
            f.write("pw-7f3c9a\n")
        # A list on the ACL-protected standalone server: exactly the file's records, in order.
        res = self.run_edges("eve-list", edges=[0], extra_yaml=(
            "eve:\n  redis: {seeds: [127.0.0.1:%d], user: edge-acl, password_file: %s, key: eve-list,"
            " type: list, maxlen: 0, batch: 7}\n" % (self.standalone.port, pw)))
        lines = self.eve_lines("eve-list", 0)
        self.assertGreater(len(lines), 100)
        r = res[0][0]["eve"]["redis"]
        self.assertEqual((r["pushed"], r["dropped"], r["failed"]), (len(lines), 0, 0))
        got = redis_servers.cli(self.standalone.port, "--raw", "lrange", "eve-list", 0, -1,
                                user="edge-acl", password="pw-7f3c9a").split("\n")
        self.assertEqual(got, lines)
        # A stream on the cluster (the fleet's seeds), trimmed to about maxlen.
        res = self.run_edges("eve-stream", lambda k: ["enabled: true", "key_prefix: \"evs:\"",
                                                     "redis: {seeds: [" + ", ".join(self.cluster.seeds()) + "]}"],
                             edges=[0], extra_yaml="eve:\n  redis: {key: eve-stream, type: stream, maxlen: 1000}\n")
        lines = self.eve_lines("eve-stream", 0)
        r = res[0][0]["eve"]["redis"]
        self.assertEqual((r["pushed"], r["failed"]), (len(lines), 0))
        slot_owner = [p for p in self.cluster.masters()
                      if redis_servers.cli(p, "exists", "eve-stream") == "1"]
        self.assertEqual(len(slot_owner), 1)
        xlen = int(redis_servers.cli(slot_owner[0], "xlen", "eve-stream"))
        self.assertLessEqual(len(lines), 1000)  # under maxlen: the stream must hold them all
        self.assertEqual(xlen, len(lines))
        last = redis_servers.cli(slot_owner[0], "--raw", "xrevrange", "eve-stream", "+", "-", "count", 1).split("\n")
        self.assertEqual(last[-2:], ["event", lines[-1]])

    def test_tls_through_stunnel(self):
        """The documented TLS set-up: a local stunnel client (plain in, TLS out, verifying the
        server's chain and name) in front of a stunnel server that terminates TLS before Redis.
        The edge publishes through it; the TLS port refuses plain Redis."""
        d = os.path.join(self.dir, "stunnel")
        os.makedirs(d, exist_ok=True)
        t.make_test_pki(d, ["redis-ca"], [("redis-server", "redis-ca", "DNS:redis.test")])
        tls_port, plain_port = t.free_port(), t.free_port()
        confs = {
            "server.conf": f"foreground = yes\npid =\n[redis-tls]\naccept = 127.0.0.1:{tls_port}\n"
                           f"connect = 127.0.0.1:{self.standalone.port}\ncert = {d}/redis-server.pem\n"
                           f"key = {d}/redis-server.key\n",
            "client.conf": f"foreground = yes\npid =\n[redis]\nclient = yes\naccept = 127.0.0.1:{plain_port}\n"
                           f"connect = 127.0.0.1:{tls_port}\nCAfile = {d}/redis-ca.pem\nverifyChain = yes\n"
                           f"checkHost = redis.test\n",
        }
        procs = []
        try:
            for name, text in confs.items():
                path = os.path.join(d, name)
                with open(path, "w") as f:
                    f.write(text)
                procs.append(subprocess.Popen(["stunnel4", path], stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
            for port in (tls_port, plain_port):
                t.wait_for(self, lambda p=port: _listening(p), seconds=10)
            # Plain Redis on the TLS port gets no answer.
            plain = redis_servers.cli(tls_port, "ping", check=False)
            self.assertNotIn("PONG", plain)
            pw = os.path.join(d, "redis.pass")
            with open(pw, "w") as f:
                f.write("pw-7f3c9a\n")
            res = self.run_edges("tls", lambda k: ["enabled: true", "key_prefix: \"tls:\"",
                                                  f"redis: {{seeds: [127.0.0.1:{plain_port}], user: edge-acl, password_file: {pw}}}"],
                                 edges=[3])
            fl = res[3][0]["engine"]["fleet"]
            self.assertGreater(fl["published"], 0)
            self.assertEqual(fl["publish_failed"], 0)
            self.assertTrue(self.standalone.cli("--scan", "--pattern", "tls:*").split())
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=10)

    def test_live_edge_asks_the_fleet(self):
        """A live edge (a capture replayed through net_pcap) asks about an account as its
        evidence grows and acts on the answer: the other edges' evidence is written into the
        cluster with redis-cli in the documented key model (networks of the capture's windows),
        so the answer does not depend on another process's timing. sluicectl shows the fleet."""
        import signal
        reseller = sorted(i for i, c in self.klass.items() if c == "reseller")[0]
        seed = self.cluster.ports[0]
        # Windows are packet time: a replayed capture keeps its timestamps (a NIC's are now).
        with open(os.path.join(self.cap, "truth.jsonl")) as f:
            ts = [json.loads(x).get("ts_ns") for x in f]
        ts = [x for x in ts if x]
        for w in range(min(ts) // 300_000_000_000, max(ts) // 300_000_000_000 + 2):
            redis_servers.cli(seed, "-c", "pfadd", f"live:{{acct:{reseller}}}:net:{w}",
                              *[f"elsewhere-{n}" for n in range(20)])
            redis_servers.cli(seed, "-c", "hset", f"live:{{acct:{reseller}}}:cnt:{w}", "req", 40, "in", 0, "out", 0)
        w = os.path.join(self.dir, "live")
        os.makedirs(w)
        sock, summary = os.path.join(w, "dp.sock"), os.path.join(w, "summary.json")
        cfg = os.path.join(w, "config.yaml")
        with open(cfg, "w") as f:
            f.write("accounts: {allow_default_secret: true}\n"
                    "fleet: {enabled: true, key_prefix: \"live:\", read_fraction: 0.1, read_interval: 1,"
                    " interval_ms: 20, redis: {seeds: [" + ", ".join(self.cluster.seeds()) + "]}}\n")
        edge = max(range(EDGES), key=lambda k: os.path.getsize(self.slices[k]))
        dp = subprocess.Popen(
            [t.DATAPLANE, "--config", cfg, "--port", f"a=net_pcap0,rx_pcap={self.slices[edge]}",
             "--monitor", "a", "--no-rules", "--policy", self.policy, "--control", sock,
             "--idle-backoff-us", "1000", "--summary-json", summary, "--",
             "--no-huge", "-m", "256", "--no-pci", f"--file-prefix=fleetlive{os.getpid()}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ctl = os.path.join(t.BUILD, "control/sluicectl")
        try:
            def standing():
                p = subprocess.run([ctl, "--socket", sock, "--json", "accounts", "show", reseller],
                                   capture_output=True, text=True)
                return json.loads(p.stdout).get("account", {}) if p.returncode == 0 else {}
            t.wait_for(self, lambda: standing().get("action") == "rate-limit", seconds=60)
            a = standing()
            self.assertIn("requests from many networks across the fleet", a["reasons"])
            self.assertGreaterEqual(a["signals"]["fleet"]["distinct_prefixes"], 20)
            self.assertLess(a["signals"]["distinct_prefixes"], 14)  # alone it would pass
            st = subprocess.run([ctl, "--socket", sock, "status"], capture_output=True, text=True)
            self.assertRegex(st.stdout, r"fleet +connected, cluster \(3 masters\), lag \d+ ms; published [1-9]")
        finally:
            dp.send_signal(signal.SIGTERM)
            out, err = dp.communicate(timeout=60)
        self.assertEqual(dp.returncode, 0, err)
        with open(summary) as f:
            fl = json.load(f)["engine"]["fleet"]
        self.assertGreater(fl["reads"], 0)
        self.assertEqual(fl["read_failed"], 0)

    def test_unreachable_redis_fails_open(self):
        alone = self.run_edges("dead-alone", edges=[1])
        dead = t.free_port()
        res = self.run_edges("dead", lambda k: ["enabled: true", f"redis: {{seeds: [127.0.0.1:{dead}], timeout_ms: 100}}"],
                             edges=[1], extra_yaml="eve:\n  redis: {key: eve}\n")
        s, st = res[1]
        self.assertEqual(st, alone[1][1])
        # EVE to the same dead Redis: every record counted as failed, the file complete.
        r = s["eve"]["redis"]
        self.assertEqual(r["failed"], len(self.eve_lines("dead", 1)))
        self.assertEqual(r["pushed"], 0)
        self.assertEqual(self.eve_lines("dead", 1), self.eve_lines("dead-alone", 1))
        fl = s["engine"]["fleet"]
        self.assertGreater(fl["publish_failed"], 0)
        self.assertEqual(fl["published"], 0)
        self.assertGreater(fl["redis_connect_failures"], 0)
        self.assertFalse(fl["connected"])

    def test_standalone_with_acl_user_and_password_file(self):
        pw = os.path.join(self.dir, "redis.pass")
        with open(pw, "w") as f:
            f.write("pw-7f3c9a\n")
        os.chmod(pw, 0o600)
        res = self.run_edges("acl", lambda k: ["enabled: true", "key_prefix: \"acl:\"",
                                               f"redis: {{seeds: [127.0.0.1:{self.standalone.port}], user: edge-acl, password_file: {pw}}}"],
                             edges=[2])
        fl = res[2][0]["engine"]["fleet"]
        self.assertEqual(fl["mode"], "standalone")
        self.assertGreater(fl["published"], 0)
        self.assertEqual(fl["publish_failed"], 0)
        self.assertTrue(fl["connected"])
        keys = self.standalone.cli("--scan", "--pattern", "acl:*").split()
        self.assertTrue(keys)
        self.assertTrue(all(KEY_RE.match(k) for k in keys), keys[:5])



class FleetFaults(FleetBase):
    """Redis failing under an edge's live traffic (release tree only: suite 'long')."""

    def live_edge(self, name, fleet_yaml, steps):
        """An inline edge (report-only) fed by sluice-pktgen over memif at a fixed rate while
        `steps(fleet)` runs (`fleet()` reads the edge's fleet counters over its control
        socket); returns pktgen's report and the edge's summary."""
        import signal
        import time
        pktgen = os.path.join(t.BUILD, "tools/pktgen/sluice-pktgen")
        ctl = os.path.join(t.BUILD, "control/sluicectl")
        eal = ["--no-huge", "-m", "512", "--no-pci"]
        w = os.path.join(self.dir, name)
        os.makedirs(w)
        sa, sb = os.path.join(w, "a.sock"), os.path.join(w, "b.sock")
        report, summary, sock = (os.path.join(w, n) for n in ("pg.json", "dp.json", "ctl.sock"))
        tag = f"{name}{os.getpid()}"
        cfg = os.path.join(w, "config.yaml")
        with open(cfg, "w") as f:
            f.write(fleet_yaml)
        gen = subprocess.Popen(
            [pktgen, "--pcap", self.slices[0], "--tx-port", f"net_memif0,role=server,id=0,socket={sa}",
             "--rx-port", f"net_memif1,role=server,id=0,socket={sb}", "--json", report,
             "--rate", "400", "--duration", "16", "--", *eal, "--file-prefix", f"g{tag}",
             "--lcores", "0@0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        dp = subprocess.Popen(
            [*t.LIVE, "--config", cfg, "--port", f"a=net_memif0,role=client,id=0,socket={sa}",
             "--port", f"b=net_memif1,role=client,id=0,socket={sb}", "--inline", "a:b",
             "--workers", "1", "--lcores", "0@1,1@1", "--idle-backoff-us", "20", "--no-rules",
             # Report only: the pooled keys get flagged as pktgen rotates their addresses,
             # and a stopped request is not a lost packet.
             "--no-enforce", "--policy", self.policy, "--control", sock, "--summary-json", summary,
             "--duration", "20", "--quiet", "--", *eal, "--file-prefix", f"d{tag}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def fleet():
            p = subprocess.run([ctl, "--socket", sock, "--json", "status"], capture_output=True, text=True)
            return json.loads(p.stdout)["engine"].get("fleet", {}) if p.returncode == 0 else {}
        try:
            steps(fleet)
        finally:
            out, err = gen.communicate(timeout=120)
            dp.send_signal(signal.SIGTERM)
            dp.communicate(timeout=60)
        self.assertEqual(gen.returncode, 0, err)
        with open(report) as f:
            run = json.load(f)["run"]
        with open(summary) as f:
            summ = json.load(f)
        self.assertGreater(run["sent"], 1000)
        self.assertEqual(run["received"], run["sent"], run)  # nothing lost at a fixed rate
        return run, summ

    def test_redis_killed_restarted_and_stalled_under_live_traffic(self):
        """Its Redis killed (SIGKILL), restarted on its port and stalled (DEBUG SLEEP) under an
        edge's live traffic: every packet still crosses, the outage is counted, publishing
        resumes after the restart without a restart of the edge."""
        with redis_servers.Standalone() as r:
            def steps(fleet):
                t.wait_for(self, lambda: fleet().get("published", 0) > 0, seconds=30)
                r.server.kill()  # no goodbye
                t.wait_for(self, lambda: fleet().get("publish_failed", 0) > 0, seconds=30)
                down = fleet()
                self.assertFalse(down["connected"])
                r.server.start()  # the same port, empty
                t.wait_for(self, lambda: fleet().get("published", 0) > down["published"] and fleet()["connected"],
                           seconds=30)
                # A stalled Redis: every call past its deadline counts, packets keep crossing.
                before = fleet()["publish_failed"]
                r.cli("debug", "sleep", "1.5", check=False)
                t.wait_for(self, lambda: fleet().get("publish_failed", 0) > before, seconds=30)
                t.wait_for(self, lambda: fleet().get("connected", False), seconds=30)
                self.assertTrue(r.cli("--scan", "--pattern", "faults:*").split())
            _, summ = self.live_edge("faults", "fleet: {enabled: true, key_prefix: \"faults:\", interval_ms: 50,"
                                     f" redis: {{seeds: [127.0.0.1:{r.port}], timeout_ms: 200}}}}\n", steps)
        fl = summ["engine"]["fleet"]
        self.assertGreater(fl["redis_connect_failures"] + fl["redis_lost"], 0)
        self.assertGreaterEqual(fl["redis_connects"], 2)

    def test_master_fails_over_under_live_traffic(self):
        """A cluster master killed under an edge's live traffic: its replica takes over (the
        cluster's own failover), the edge's router finds the new map and publishing resumes;
        every packet crosses."""
        import time
        with redis_servers.Cluster(masters=3, replicas=1) as c:
            def steps(fleet):
                t.wait_for(self, lambda: fleet().get("published", 0) > 0, seconds=30)
                victim = c.masters()[0]
                for s in c.servers:
                    if s.port == victim:
                        s.kill()
                t.wait_for(self, lambda: fleet().get("publish_failed", 0) > 0, seconds=30)
                down = fleet()
                # The cluster's own failover: the victim marked failed, its replica promoted.
                t.wait_for(self, lambda: victim not in c.masters() and len(c.masters()) == 3, seconds=30)
                c.wait_ok(seconds=30)
                t.wait_for(self, lambda: fleet().get("published", 0) > down["published"]
                           and fleet()["connected"], seconds=30)
                after = fleet()
                time.sleep(1)
                self.assertEqual(fleet()["publish_failed"], after["publish_failed"])  # no more failures
            _, summ = self.live_edge("failover", "fleet: {enabled: true, key_prefix: \"fo:\", interval_ms: 50,"
                                     " redis: {seeds: [" + ", ".join(c.seeds()) + "], timeout_ms: 200}}\n", steps)
        fl = summ["engine"]["fleet"]
        self.assertGreaterEqual(fl["redis_refreshes"], 2)
        self.assertEqual(fl["masters"], 3)



if __name__ == "__main__":
    unittest.main(verbosity=2)
