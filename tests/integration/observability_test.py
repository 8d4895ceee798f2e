#!/usr/bin/env python3
"""What an operator watches, checked against a live edge: sluiced and a dataplane bridging two
memif ports while sluice-pktgen replays a synthesized scenario (TLS with its key log).

- The live dashboard (sluiced over HTTPS): headless Chromium (Debian's chromium and
  chromedriver through python3-selenium) signs in with the dashboard token, sees the figures
  change while the replay runs and an operator's block show up among the decisions, then,
  once the replay ended, the page's figures equal what `sluicectl --json` says; a screenshot
  is kept in the build's meson-logs. Mid-run, logrotate rotates the EVE file with the
  packaged stanza and the dataplane reopens it on SIGHUP (whole records in both files). A client certificate granted the read role gets the
  state without a token; one without a grant and a wrong token do not.
- Prometheus (Debian's prometheus) scrapes both, loads the shipped alerting rules (each
  evaluates without error) and answers every PromQL expression of the shipped Grafana
  dashboard with data; `promtool check rules` and `promtool test rules` pass."""
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

# Debian's selenium is installed for Debian's interpreter (the suite may run another python3).
try:
    import selenium  # noqa: F401
except ImportError:
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

CTL = os.path.join(t.BUILD, "control/sluicectl")
SLUICED = os.path.join(t.BUILD, "control/sluiced")
SYNTH = os.path.join(t.BUILD, "tools/synth/sluice-synth")
PKTGEN = os.path.join(t.BUILD, "tools/pktgen/sluice-pktgen")
MONITORING = os.path.join(t.SOURCE, "tools/monitoring")
RATE = 250  # packets/s: the replay lasts about 20 s


def count_packets(pcap):
    import struct
    n = 0
    with open(pcap, "rb") as f:
        f.read(24)
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            f.seek(struct.unpack("<IIII", h)[2], 1)
            n += 1


class Observability(unittest.TestCase):
    @classmethod
    def p(cls, name):
        return os.path.join(cls.d, name)

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._dir = tempfile.TemporaryDirectory(prefix="sluice-obs-")
        cls.d = cls._dir.name
        cls.procs = []
        cls.driver = None
        try:
            cls._start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _spawn(cls, args, log):
        p = subprocess.Popen(args, stdout=open(cls.p(log), "w"), stderr=subprocess.STDOUT, cwd=cls.d)
        cls.procs.append(p)
        return p

    @classmethod
    def _start(cls):
        t.make_test_pki(cls.d, ["ca"], [("server", "ca", "IP:127.0.0.1"), ("viewer", "ca", "DNS:viewer"),
                                        ("stranger", "ca", "DNS:stranger")])
        cls.token = "obs-" + os.urandom(24).hex()
        with open(cls.p("token"), "w") as f:
            f.write(cls.token + "\n")
        subprocess.run([SYNTH, "--scenario", "mixed", "--seed", "21", "--scale", "0.5", "--quiet",
                        "--out", cls.p("synth"), *t.SECRET_ARGS], check=True)
        pcap = cls.p("synth/traffic.pcap")
        cls.packets = count_packets(pcap)
        cls.replay_s = cls.packets / RATE
        cls.dash_port, cls.sd_metrics, cls.dp_metrics, cls.prom_port = (t.free_port() for _ in range(4))
        cls.sd_sock, cls.dp_sock = cls.p("sluiced.sock"), cls.p("dp.sock")
        cls._spawn([SLUICED, "--state-dir", cls.p("state"), "--socket", cls.sd_sock,
                    "--dataplane", f"edge1={cls.dp_sock}", "--metrics", f"127.0.0.1:{cls.sd_metrics}",
                    "--dashboard", f"127.0.0.1:{cls.dash_port}", "--dashboard-token-file", cls.p("token"),
                    "--cert", cls.p("server.pem"), "--key", cls.p("server.key"), "--ca", cls.p("ca.pem"),
                    "--grant", "read=san:DNS:viewer"], "sluiced.log")
        for _ in range(100):
            if os.path.exists(cls.sd_sock):
                break
            time.sleep(0.1)
        cls.ctl("rules", "push", os.path.join(t.SOURCE, "rules/packs"), "--message", "observability test")
        cls.ctl("policy", "push", os.path.join(t.SOURCE, "rules/policy/default.yaml"))
        # Prometheus first, so it sees the whole replay.
        with open(cls.p("prometheus.yml"), "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{os.path.join(MONITORING, "sluice-alerts.yml")}]
scrape_configs:
  - job_name: sluice-dataplane
    static_configs: [{{targets: ["127.0.0.1:{cls.dp_metrics}"]}}]
  - job_name: sluiced
    static_configs: [{{targets: ["127.0.0.1:{cls.sd_metrics}"]}}]
""")
        cls._spawn(["prometheus", f"--config.file={cls.p('prometheus.yml')}", f"--storage.tsdb.path={cls.p('tsdb')}",
                    f"--web.listen-address=127.0.0.1:{cls.prom_port}"], "prometheus.log")
        eal = ["--no-huge", "--no-pci"]
        cls.gen = cls._spawn([PKTGEN, "--pcap", pcap,
                              "--tx-port", f"net_memif0,role=server,id=0,socket={cls.p('a.sock')}",
                              "--rx-port", f"net_memif1,role=server,id=0,socket={cls.p('b.sock')}",
                              "--rate", str(RATE), "--duration", str(1.04 * cls.replay_s), "--drain", "2",
                              "--json", cls.p("pktgen.json"), "--", *eal, "-m", "512",
                              f"--file-prefix=obsgen{os.getpid()}", "--lcores", "0@0"], "pktgen.log")
        time.sleep(1.5)
        with open(cls.p("dataplane.yaml"), "w") as f:
            f.write("tls: {decrypt_sessions: 4096}\nhttp: {sessions: 8192}\n")
        cls.dp = cls._spawn([*t.LIVE, "--port", f"a=net_memif0,role=client,id=0,socket={cls.p('a.sock')}",
                             "--port", f"b=net_memif1,role=client,id=0,socket={cls.p('b.sock')}",
                             "--inline", "a:b", "--workers", "1", "--lcores", "0@1,1@1", "--idle-backoff-us", "50",
                             "--keylog", cls.p("synth/keylog.txt"), "--config", cls.p("dataplane.yaml"),
                             "--control", cls.dp_sock, "--metrics", f"127.0.0.1:{cls.dp_metrics}",
                             "--eve", cls.p("eve.json"), "--quiet", "--", *eal, "-m", "1024",
                             f"--file-prefix=obsdp{os.getpid()}"], "dataplane.log")
        for _ in range(100):
            if os.path.exists(cls.dp_sock):
                break
            time.sleep(0.1)
        cls.started = time.time()

    @classmethod
    def tearDownClass(cls):
        if cls.driver is not None:
            cls.driver.quit()
        for p in reversed(cls.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in cls.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get("SLUICE_KEEP_TMP"):
            print("kept", cls.d)
        else:
            cls._dir.cleanup()

    @classmethod
    def ctl(cls, *args):
        p = subprocess.run([CTL, "--socket", cls.sd_sock, *args], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"sluicectl {args}: {p.stdout}{p.stderr}")
        return p.stdout

    @classmethod
    def ctl_json(cls, *args):
        return json.loads(cls.ctl("--json", *args))

    def log_tail(self, name):
        with open(self.p(name)) as f:
            return f.read()[-3000:]

    # --- the live dashboard ----------------------------------------------------------------
    def https(self, path, cert=None, headers=None):
        ctx = ssl.create_default_context(cafile=self.p("ca.pem"))
        if cert:
            ctx.load_cert_chain(self.p(f"{cert}.pem"), self.p(f"{cert}.key"))
        req = urllib.request.Request(f"https://127.0.0.1:{self.dash_port}{path}", headers=headers or {})

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), NoRedirect)
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def figure(self, element_id):
        return float(self.driver.find_element(By.ID, element_id).get_attribute("data-value"))

    def row_ids(self, selector):
        """The data-id of each row: the page re-renders its tables every poll, so a row found
        can be gone by the time it is read; read the table again then."""
        for _ in range(20):
            try:
                return {r.get_attribute("data-id") for r in self.driver.find_elements(By.CSS_SELECTOR, selector)}
            except StaleElementReferenceException:
                time.sleep(0.1)
        self.fail(f"{selector}: the rows kept changing")

    def wait_page(self, cond, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if cond():
                return True
            time.sleep(0.25)
        return False

    def test_1_dashboard_in_a_browser(self):
        o = webdriver.ChromeOptions()
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1100"]:
            o.add_argument(a)
        o.binary_location = "/usr/bin/chromium"
        o.accept_insecure_certs = True  # the test CA is not in Chromium's store
        Observability.driver = d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
        d.set_page_load_timeout(30)
        base = f"https://127.0.0.1:{self.dash_port}"
        d.get(base + "/")
        self.assertTrue(d.current_url.endswith("/login"), d.current_url)  # no session: sign in first
        d.find_element(By.ID, "token").send_keys("not-the-token-" + "x" * 32)
        d.find_element(By.ID, "sign-in").click()
        self.assertIn("/login", d.current_url)
        d.find_element(By.ID, "token").send_keys(self.token)
        d.find_element(By.ID, "sign-in").click()
        self.assertTrue(self.wait_page(lambda: d.current_url == base + "/"), d.current_url)

        # While the replay runs, the figures move.
        self.assertTrue(self.wait_page(lambda: self.figure("fleet-packets") > 0, 30), self.log_tail("sluiced.log"))
        first = self.figure("fleet-packets")
        self.assertLess(time.time() - self.started, self.replay_s - 3, "the replay ended before the page showed it")
        self.assertTrue(self.wait_page(lambda: self.figure("fleet-packets") > first, 10))
        self.assertTrue(self.wait_page(lambda: self.figure("fleet-pps") > 0, 10))
        self.assertEqual(d.find_element(By.ID, "fleet-state").get_attribute("data-up"), "1")

        # logrotate rotates the EVE file mid-run with the shipped stanza (its path and reload
        # pointed at this dataplane): the dataplane reopens on SIGHUP.
        with open(os.path.join(t.SOURCE, "tools/packaging/debian/sluice-dataplane.logrotate")) as f:
            stanza = f.read()
        self.assertIn("/var/log/sluice/*.json", stanza)
        stanza = stanza.replace("/var/log/sluice/*.json", self.p("eve.json")).replace(
            "systemctl reload 'sluice-dataplane@*.service'", f"kill -HUP {self.dp.pid}")
        with open(self.p("logrotate.conf"), "w") as f:
            f.write(stanza)
        p = subprocess.run(["logrotate", "--force", "--state", self.p("logrotate.state"), self.p("logrotate.conf")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(self.p("eve.json.1")), os.listdir(self.d))

        # An operator's block shows among the decisions.
        self.ctl("blocklist", "add", "ip", "203.0.113.77", "--reason", "observability test block")
        self.assertTrue(self.wait_page(lambda: "203.0.113.77" in d.find_element(By.ID, "decisions").text, 10))
        self.assertIn("observability test block", d.find_element(By.ID, "decisions").text)

        # Once the replay ended, the page says what sluicectl says.
        self.gen.wait(timeout=self.replay_s + 60)
        settled = {}

        def stable():
            stats = self.ctl_json("stats")
            if stats["engine"]["packets"] != settled.get("packets"):
                settled["packets"] = stats["engine"]["packets"]
                return False
            return self.figure("fleet-packets") == stats["engine"]["packets"]
        self.assertTrue(self.wait_page(stable, 20))
        stats = self.ctl_json("stats")
        self.assertEqual(self.figure("fleet-packets"), stats["engine"]["packets"])
        self.assertEqual(self.figure("fleet-alerts"), stats["engine"]["rules"]["alerts"])
        self.assertGreater(stats["engine"]["rules"]["alerts"], 0)
        h = stats["engine"]["http"]
        self.assertEqual(self.figure("fleet-enforced"), h.get("enforced_block", 0) + h.get("enforced_rate_limit", 0))
        self.assertEqual(self.figure("fleet-flagged"), stats["engine"]["accounts"]["flagged"])
        # Nothing moves any more: the rate is a delta between two polls, so it reaches 0 one
        # poll after the counters stop (it was read a poll too early once, on a busy machine).
        self.assertTrue(self.wait_page(lambda: self.figure("fleet-pps") == 0, 5),
                        self.figure("fleet-pps"))
        status = self.ctl_json("status")
        versions = d.find_element(By.ID, "versions")
        self.assertEqual(int(versions.get_attribute("data-rules")), status["desired"]["rules"])
        self.assertEqual(int(versions.get_attribute("data-policy")), status["desired"]["policy"])
        top = self.ctl_json("accounts", "top", "-n", "10")["accounts"]
        rows = self.row_ids("#accounts tbody tr")
        self.assertEqual(rows, {a["account"]["id"] for a in top})
        self.assertGreater(len(rows), 0)
        clusters = self.ctl_json("clusters", "list", "-n", "10")["clusters"]
        self.assertEqual(self.row_ids("#clusters tbody tr"), {str(c["id"]) for c in clusters})
        # Both EVE files hold whole records; the reopened one got those written after the
        # rotation.
        def records(path):
            with open(path) as f:
                return [json.loads(line) for line in f]
        before, after = records(self.p("eve.json.1")), records(self.p("eve.json"))
        self.assertGreater(len(before), 0)
        self.assertTrue(self.wait_page(lambda: len(records(self.p("eve.json"))) > 0, 10))
        after = records(self.p("eve.json"))
        self.assertGreater(len(after), 0)
        shot = os.path.join(t.BUILD, "meson-logs", "dashboard.png")
        os.makedirs(os.path.dirname(shot), exist_ok=True)
        d.save_screenshot(shot)
        print("screenshot:", shot)
        severe = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
        self.assertEqual(severe, [])
        d.find_element(By.CSS_SELECTOR, "header form button").click()  # sign out
        self.assertTrue(self.wait_page(lambda: d.current_url.endswith("/login")))
        d.get(base + "/")
        self.assertTrue(d.current_url.endswith("/login"))

    def test_2_dashboard_credentials(self):
        status, body = self.https("/api/state")
        self.assertEqual(status, 401)
        status, body = self.https("/api/state", headers={"Authorization": "Bearer " + self.token})
        self.assertEqual(status, 200)
        self.assertIn("fleet", json.loads(body))
        status, _ = self.https("/api/state", headers={"Authorization": "Bearer " + self.token + "x"})
        self.assertEqual(status, 401)
        status, body = self.https("/api/state", cert="viewer")  # granted read by its SAN
        self.assertEqual(status, 200)
        status, _ = self.https("/api/state", cert="stranger")  # the same CA, no grant
        self.assertEqual(status, 401)
        status, _ = self.https("/", cert="viewer")
        self.assertEqual(status, 200)
        status, _ = self.https("/login")
        self.assertEqual(status, 200)

    # --- Prometheus, the alerting rules and the Grafana dashboard --------------------------
    def prom(self, path, **params):
        url = f"http://127.0.0.1:{self.prom_port}{path}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def test_3_promtool(self):
        rules = os.path.join(MONITORING, "sluice-alerts.yml")
        p = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS", p.stdout)
        p = subprocess.run(["promtool", "test", "rules", "sluice-alerts.test.yml"], capture_output=True, text=True,
                           cwd=MONITORING)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # Every rule has a unit test.
        with open(rules) as f:
            names = set(re.findall(r"- alert: (\w+)", f.read()))
        with open(os.path.join(MONITORING, "sluice-alerts.test.yml")) as f:
            tested = set(re.findall(r"alertname: (\w+)", f.read()))
        self.assertEqual(names - tested, set())

    def test_4_prometheus_answers_every_dashboard_query(self):
        # Both targets up, with the replay's counters.
        def up():
            try:
                r = self.prom("/api/v1/query", query="up")["data"]["result"]
            except OSError:
                return False
            return len(r) == 2 and all(x["value"][1] == "1" for x in r)
        self.assertTrue(self.wait_page(up, 30), self.log_tail("prometheus.log"))
        self.assertTrue(self.wait_page(lambda: self.prom("/api/v1/query", query="sluice_packets_total > 0")
                                       ["data"]["result"], 60))
        time.sleep(3)  # a few samples for rate()
        with open(os.path.join(MONITORING, "sluice-grafana.json")) as f:
            dash = json.load(f)
        exprs = [tgt["expr"] for p in dash["panels"] for tgt in p["targets"]]
        self.assertGreaterEqual(len(exprs), 12)
        empty = []
        for e in exprs:
            q = e.replace("$instance", ".*").replace("$__rate_interval", "30s")
            r = self.prom("/api/v1/query", query=q)
            self.assertEqual(r["status"], "success", (q, r))
            if not r["data"]["result"]:
                empty.append(q)
        self.assertEqual(empty, [])
        # The variable's query too.
        var = dash["templating"]["list"][0]["query"]["query"]
        m = re.match(r"label_values\((\w+), (\w+)\)", var)
        r = self.prom(f"/api/v1/label/{m.group(2)}/values", **{"match[]": m.group(1)})
        self.assertTrue(r["data"])
        # The shipped alerting rules loaded and evaluate without error.
        groups = self.prom("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        self.assertEqual(len(rules), 10)

        def healthy():
            rs = [r for g in self.prom("/api/v1/rules")["data"]["groups"] for r in g["rules"]]
            return all(r.get("health") == "ok" for r in rs)
        self.assertTrue(self.wait_page(healthy, 10),
                        [(r["name"], r.get("health"), r.get("lastError")) for r in rules])


if __name__ == "__main__":
    unittest.main(verbosity=2)
