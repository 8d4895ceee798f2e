#!/usr/bin/env python3
"""Blocked and rate-limited requests get an HTTP answer (issue 18, plaintext HTTP/1.1): real
clients (curl, Python's urllib and http.client) in one network namespace talk to a recording
server in another through sluice-dataplane on an af_packet bridge. The server logs every byte
it receives, so the test proves a stopped request never reached it; tcpdump on the client's
interface and tshark (an independent decoder) check every injected segment's checksums and
that its sequence and acknowledgement numbers fit the client's stream; one run drops the first
answer in the client's namespace with nftables to prove the answer is retransmitted."""
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402
in_ns = t.in_ns

SUFFIX = str(os.getpid())
CLI, DP, SRV = f"sla-c{SUFFIX}", f"sla-d{SUFFIX}", f"sla-s{SUFFIX}"
CLI_IP, SRV_IP, PORT = "10.234.0.1", "10.234.0.2", 8090
DENIED = "sk-ant-api03-ANSWERDENIEDKEY0000000000000000000000000"
LIMITED = "sk-ant-api03-ANSWERLIMITEDKEY000000000000000000000000"
CUSTOMER = "sk-ant-api03-ANSWERCUSTOMERKEY00000000000000000000000"
DISTILL = ("Solve the problem below, and output your complete chain of thought verbatim before "
           "the final answer. What is 17 * 23?")


def request_body(marker):
    return json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64,
                       "messages": [{"role": "user", "content": marker}]})


TLS_PORT = 8443
H2C_PORT, H2_TLS_PORT = 8091, 8444  # HTTP/2: prior knowledge, and TLS with ALPN h2
# Every suite sluice decrypts, each through a real curl (OpenSSL 3).
TLS_CASES = [("1.3", "TLS_AES_128_GCM_SHA256"), ("1.3", "TLS_AES_256_GCM_SHA384"),
             ("1.3", "TLS_CHACHA20_POLY1305_SHA256"), ("1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
             ("1.2", "ECDHE-RSA-AES256-GCM-SHA384"), ("1.2", "ECDHE-RSA-CHACHA20-POLY1305")]


class Answers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for network namespaces")
        if subprocess.run(["which", "nft"], capture_output=True).returncode != 0:
            raise unittest.SkipTest("nft is missing (tools/setup/install-deps.sh installs nftables)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="sluice-answers-")
        t.netns_bridge(CLI, DP, SRV, CLI_IP, SRV_IP)
        cls.server_log = os.path.join(cls.tmp.name, "server-received.bin")
        server = os.path.join(t.SOURCE, "tests/support/recording_server.py")
        cls.server = subprocess.Popen(["ip", "netns", "exec", SRV, "python3", server, "0.0.0.0", str(PORT),
                                       cls.server_log], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cert, key = os.path.join(cls.tmp.name, "cert.pem"), os.path.join(cls.tmp.name, "key.pem")
        t.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=sluice.test",
               "-keyout", key, "-out", cert])
        # HTTP/2 servers (python3-h2, Debian's interpreter), plaintext and TLS.
        h2srv = os.path.join(t.SOURCE, "tests/support/recording_h2_server.py")
        cls.h2_log = os.path.join(cls.tmp.name, "server-received-h2.bin")
        cls.h2_servers = [subprocess.Popen(["ip", "netns", "exec", SRV, "/usr/bin/python3", h2srv, "0.0.0.0",
                                            str(port), cls.h2_log, *tls], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
                          for port, tls in ((H2C_PORT, ()), (H2_TLS_PORT, (cert, key)))]
        cls.tls_log = os.path.join(cls.tmp.name, "server-received-tls.bin")
        cls.tls_server = subprocess.Popen(["ip", "netns", "exec", SRV, "python3", server, "0.0.0.0",
                                           str(TLS_PORT), cls.tls_log, cert, key],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The distiller's prompts raise it to a rate limit of one request a minute; the denied
        # key is on the deny list from its first request.
        cls.policy = os.path.join(cls.tmp.name, "policy.yaml")
        with open(cls.policy, "w") as f:
            f.write("window: 600\n"
                    "rules:\n  - {name: distill, signal: hits.distillation, above: 0, score: 100,"
                    " reason: distillation prompts}\n"
                    "actions:\n  - {score: 100, action: rate-limit, rate_per_minute: 1}\n"
                    f"deny: {{accounts: [{t.account_id(DENIED)}]}}\n")

    @classmethod
    def tearDownClass(cls):
        for srv in (getattr(cls, "server", None), getattr(cls, "tls_server", None),
                    *getattr(cls, "h2_servers", [])):
            if srv:
                srv.kill()
                srv.wait()
        t.netns_remove(CLI, DP, SRV)
        cls.tmp.cleanup()

    def setUp(self):
        self.dp = self.dump = None

    def start(self, *extra):
        self.eve = os.path.join(self.tmp.name, f"eve-{time.monotonic_ns()}.json")
        self.summary = os.path.join(self.tmp.name, "summary.json")
        self.pcap = os.path.join(self.tmp.name, f"client-{time.monotonic_ns()}.pcap")
        args = ["ip", "netns", "exec", DP, *t.LIVE,
                "--port", "client=net_af_packet0,iface=c1", "--port", "server=net_af_packet1,iface=s1",
                "--inline", "client:server", "--idle-backoff-us", "100", "--eve", self.eve,
                "--summary-json", self.summary, "--policy", self.policy, *extra,
                "--", "--no-huge", "-m", "256", "--no-pci", f"--file-prefix=slans{SUFFIX}"]
        self.dp = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The client side's own capture: what the client really received (snaplen 262144).
        self.dump = subprocess.Popen(["ip", "netns", "exec", CLI, "tcpdump", "-i", "c0", "-s", "262144", "-U", "--immediate-mode",
                                      "-w", self.pcap, f"tcp port {PORT} or tcp port {TLS_PORT} or tcp port {H2C_PORT} or tcp port {H2_TLS_PORT}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):  # tcpdump has opened its file (and so its socket)
            if os.path.exists(self.pcap) and os.path.getsize(self.pcap) >= 24:
                break
            time.sleep(0.05)
        time.sleep(0.3)
        for _ in range(60):  # until a request crosses the bridge
            if self.dp.poll() is not None:
                self.fail(f"dataplane exited: {self.dp.communicate()}")
            code, _, _ = self.curl(CUSTOMER, "warm-up", timeout=1)
            if code == 200:
                return
            time.sleep(0.25)
        self.fail("no traffic crossed the dataplane")

    def tearDown(self):
        for p in (self.dp, self.dump):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        in_ns(CLI, "nft", "delete", "table", "inet", "sluicetest", check=False)

    def stop(self):
        time.sleep(0.3)  # the last ACKs through the bridge and into the capture
        self.dump.send_signal(signal.SIGINT)
        self.dump.wait(timeout=10)
        self.dp.send_signal(signal.SIGTERM)
        _, err = self.dp.communicate(timeout=30)
        self.assertEqual(self.dp.returncode, 0, err)
        with open(self.summary) as f:
            summary = json.load(f)
        with open(self.eve) as f:
            eve = [json.loads(line) for line in f]
        return summary, eve

    def curl(self, key, marker, timeout=10, path="/v1/messages", tls=(), env=None, url=None, http="--http1.1"):
        """(HTTP status, headers, body); status 0 when curl failed (a reset, a TLS error)."""
        headers = os.path.join(self.tmp.name, "headers.txt")
        if url is None:
            url = f"https://{SRV_IP}:{TLS_PORT}{path}" if tls else f"http://{SRV_IP}:{PORT}{path}"
        p = subprocess.run(["ip", "netns", "exec", CLI, "curl", http, "-sS", "--max-time", str(timeout),
                            *tls,
                            "-D", headers, "-o", "-", "-w", "\n%{http_code}",
                            "-H", f"x-api-key: {key}", "-H", "content-type: application/json",
                            "-H", "user-agent: Anthropic/Python 0.40.0", "--data", request_body(marker), url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.last_curl_error = (p.returncode, p.stderr)
        body, _, code = p.stdout.rpartition("\n")
        if p.returncode != 0:
            code = "0"
        hdrs = {}
        if os.path.exists(headers):
            with open(headers) as f:
                for line in f.read().splitlines()[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        hdrs[k.strip().lower()] = v.strip()
            os.unlink(headers)
        return int(code or 0), hdrs, body

    def received(self):
        with open(self.server_log, "rb") as f:
            return f.read()

    def injected_segments(self):
        """Server-to-client segments in the client's capture, read by tshark: the answers are
        the ones that carry HTTP status 403/429."""
        fields = ["tcp.stream", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags.fin", "tcp.len",
                  "tcp.checksum.status", "ip.checksum.status", "http.response.code", "tcp.analysis.flags",
                  "tcp.analysis.retransmission"]
        p = t.run(["tshark", "-r", self.pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                   "-o", "tcp.analyze_sequence_numbers:TRUE", "-Y", f"tcp.srcport == {PORT}", "-T", "fields",
                   "-E", "separator=|", *sum([["-e", x] for x in fields], [])])
        return [dict(zip(fields, line.split("|"))) for line in p.stdout.splitlines()]

    def test_block_and_rate_limit_are_answered_in_the_apis_format(self):
        self.start()
        # A blocked key: 403 in the Messages API's error format, the request never served.
        code, hdrs, body = self.curl(DENIED, "MARKER-DENIED-1")
        self.assertEqual(code, 403, body)
        err = json.loads(body)
        self.assertEqual(err["type"], "error")
        self.assertEqual(err["error"]["type"], "permission_error")
        request_id = hdrs["request-id"]
        self.assertEqual(err["request_id"], request_id)
        self.assertEqual(hdrs["content-type"], "application/json")
        # Python's urllib on the OpenAI path: the same block in that API's format.
        req = urllib.request.Request(f"http://{SRV_IP}:{PORT}/v1/chat/completions", data=request_body(
            "MARKER-DENIED-2").encode(), headers={"authorization": f"Bearer {DENIED}",
                                                  "content-type": "application/json"})
        script = ("import urllib.request,urllib.error,json,sys\n"
                  f"req=urllib.request.Request({req.full_url!r},data={req.data!r},headers={dict(req.header_items())!r})\n"
                  "try:\n urllib.request.urlopen(req,timeout=10); print(json.dumps({'status':200}))\n"
                  "except urllib.error.HTTPError as e:\n"
                  " print(json.dumps({'status':e.code,'headers':dict(e.headers),'body':json.loads(e.read())}))\n")
        out = json.loads(in_ns(CLI, "python3", "-c", script).stdout)
        self.assertEqual(out["status"], 403)
        self.assertEqual(out["body"]["error"]["code"], "request_blocked")
        self.assertIn("x-request-id", {k.lower() for k in out["headers"]})
        # A customer on the same client still gets the server's answer.
        code, _, body = self.curl(CUSTOMER, "MARKER-CUSTOMER")
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["content"][0]["text"], "fine")
        # The distiller is rate-limited after its prompt: within a few requests it gets 429
        # with retry-after, and urllib's client reads the JSON error.
        self.assertEqual(self.curl(LIMITED, DISTILL)[0], 200)  # the deciding request passes
        limited = None
        for i in range(40):
            code, hdrs, body = self.curl(LIMITED, f"MARKER-LIMITED-{i}")
            if code == 429:
                limited = (hdrs, json.loads(body), f"MARKER-LIMITED-{i}")
                break
            self.assertEqual(code, 200)
            time.sleep(0.05)
        self.assertIsNotNone(limited, "the distiller was never rate-limited")
        hdrs, err, limited_marker = limited
        self.assertEqual(err["error"]["type"], "rate_limit_error")
        self.assertGreaterEqual(int(hdrs["retry-after"]), 1)
        self.assertLessEqual(int(hdrs["retry-after"]), 60)
        # Python's urllib, as an SDK would: the 429 is an HTTPError whose body and retry-after
        # it reads (one request a minute: the bucket is still empty).
        script = ("import urllib.request,urllib.error,json\n"
                  f"r=urllib.request.Request('http://{SRV_IP}:{PORT}/v1/messages',"
                  "data=b'{\"messages\":[{\"role\":\"user\",\"content\":\"MARKER-LIMITED-PY\"}]}',"
                  f"headers={{'x-api-key':{LIMITED!r},'content-type':'application/json'}})\n"
                  "try:\n urllib.request.urlopen(r,timeout=10); print(json.dumps([200]))\n"
                  "except urllib.error.HTTPError as e:\n"
                  " print(json.dumps([e.code,e.headers['retry-after'],json.loads(e.read())]))\n")
        status, retry_after, body = json.loads(in_ns(CLI, "python3", "-c", script).stdout)
        self.assertEqual(status, 429)
        self.assertTrue(1 <= int(retry_after) <= 60)
        self.assertEqual(body["error"]["type"], "rate_limit_error")
        # A second request on a kept-alive connection after a block: the answer closed the
        # connection, so the client opens a new one, and that request is judged on its own.
        script = ("import http.client,json\n"
                  f"c=http.client.HTTPConnection({SRV_IP!r},{PORT},timeout=10)\n"
                  "out=[]\n"
                  "for m in ('MARKER-KEEPALIVE-1','MARKER-KEEPALIVE-2'):\n"
                  f" c.request('POST','/v1/messages',body=json.dumps({{'messages':[{{'role':'user','content':m}}]}}),"
                  f"headers={{'x-api-key':{DENIED!r},'content-type':'application/json'}})\n"
                  " r=c.getresponse(); b=r.read()\n"
                  " out.append([r.status,r.getheader('connection'),r.getheader('request-id')])\n"
                  "print(json.dumps(out))\n")
        keepalive = json.loads(in_ns(CLI, "python3", "-c", script).stdout)
        self.assertEqual([k[0] for k in keepalive], [403, 403])
        self.assertEqual([k[1] for k in keepalive], ["close", "close"])
        self.assertNotEqual(keepalive[0][2], keepalive[1][2])

        summary, eve = self.stop()
        got = self.received()
        self.assertIn(b"MARKER-CUSTOMER", got)
        for marker in (b"MARKER-DENIED-1", b"MARKER-DENIED-2", limited_marker.encode(), b"MARKER-KEEPALIVE",
                       b"MARKER-LIMITED-PY"):
            self.assertNotIn(marker, got, f"{marker} reached the server")
        answers = summary["engine"]["answers"]
        self.assertGreaterEqual(answers["forbidden"], 4)
        self.assertGreaterEqual(answers["rate_limited"], 2)
        self.assertEqual(answers["abandoned"], 0)
        self.assertGreaterEqual(answers["delivered"], 5)
        self.assertEqual(sum(answers["reset_instead"].values()), 0)
        # The request id the client saw names the decision in the EVE record.
        stopped = {r["sluice"]["enforcement"]["request_id"]: r for r in eve
                   if r["event_type"] == "http" and "enforcement" in r.get("sluice", {})}
        self.assertIn(request_id, stopped)
        self.assertEqual(stopped[request_id]["account"]["id"], t.account_id(DENIED))
        self.assertEqual(stopped[request_id]["sluice"]["enforcement"]["answer"],
                         {"kind": "http", "status": 403})
        kinds = [r["sluice"]["enforcement"]["answer"]["status"] for r in stopped.values()]
        self.assertIn(429, kinds)
        # An independent decoder on the client's side: every answer segment has good checksums
        # and sits where the client's stream expected it (no sequence anomaly).
        segs = self.injected_segments()
        answered = [s for s in segs if s["http.response.code"] in ("403", "429")]
        self.assertGreaterEqual(len(answered), 5)
        for s in answered:
            self.assertEqual(s["tcp.checksum.status"], "1", s)  # 1: good (0 bad, 2 unverified)
            self.assertEqual(s["ip.checksum.status"], "1", s)
            self.assertEqual(s["tcp.analysis.flags"], "", s)
            self.assertEqual(s["tcp.flags.fin"], "1", s)

    def test_lost_answer_is_retransmitted(self):
        self.start()
        in_ns(CLI, "nft", "add", "table", "inet", "sluicetest")
        in_ns(CLI, "nft", "add chain inet sluicetest in { type filter hook input priority 0; }")
        # The first segment carrying data and FIN from the server's port: the first answer.
        in_ns(CLI, "nft", f"add rule inet sluicetest in tcp sport {PORT} tcp flags & (fin | psh) == (fin | psh) "
                          "numgen inc mod 1000000 0 counter drop")
        code, hdrs, body = self.curl(DENIED, "MARKER-LOST-1")
        self.assertEqual(code, 403, body)
        rules = in_ns(CLI, "nft", "list", "table", "inet", "sluicetest").stdout
        self.assertIn("counter packets 1 ", rules)  # the first answer was dropped
        summary, _ = self.stop()
        self.assertNotIn(b"MARKER-LOST-1", self.received())
        answers = summary["engine"]["answers"]
        self.assertGreaterEqual(answers["retransmits"], 1)
        self.assertEqual(answers["delivered"], 1)
        answered = [s for s in self.injected_segments() if s["http.response.code"] == "403"]
        self.assertTrue(answered)
        self.assertTrue(all(s["tcp.checksum.status"] == "1" for s in answered))


    def start_decrypting(self, name):
        """Starts the dataplane following a key log the clients write; returns (path, env)."""
        keylog = os.path.join(self.tmp.name, f"{name}-keys.log")
        open(keylog, "w").close()
        cfg = os.path.join(self.tmp.name, f"{name}.yaml")
        with open(cfg, "w") as f:
            f.write("tls: {pending_bytes: 4194304, decrypt_sessions: 8, secret_wait_ms: 5000}\n")
        self.start("--keylog-follow", keylog, "--config", cfg)
        return keylog, dict(os.environ, SSLKEYLOGFILE=keylog)

    def test_tls_answers_are_sealed_as_the_server(self):
        """Inside decrypted TLS the answer is sealed with the server's keys at the record
        sequence number the client expects, followed by close_notify: curl (each suite sluice
        decrypts, TLS 1.2 and 1.3) and Python's ssl read a clean 403, and tshark decrypts the
        injected records with the client's key log as the server's application data."""
        keylog, env = self.start_decrypting("tls")
        for version, suite in TLS_CASES:
            pin = (["--tlsv1.3", "--tls13-ciphers", suite] if version == "1.3"
                   else ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", suite])
            with self.subTest(suite=suite):
                code, hdrs, body = self.curl(DENIED, f"MARKER-TLS-{suite}", tls=["-k", *pin], env=env)
                self.assertEqual(code, 403, self.last_curl_error)  # curl exits 0: no unexpected EOF
                self.assertEqual(json.loads(body)["error"]["type"], "permission_error")
                self.assertTrue(hdrs["request-id"].startswith("req_"))
        code, _, body = self.curl(CUSTOMER, "MARKER-TLS-CUSTOMER", tls=["-k"], env=env)
        self.assertEqual(code, 200, self.last_curl_error)
        # Python's ssl (http.client) over each suite too: TLS 1.2 suites with set_ciphers;
        # Python cannot pick TLS 1.3 suites, so an OpenSSL configuration pins those.
        script = ("import ssl,json,http.client,sys\n"
                  "c=ssl.create_default_context(); c.check_hostname=False; c.verify_mode=ssl.CERT_NONE\n"
                  "if sys.argv[2] == '1.2':\n"
                  " c.set_ciphers(sys.argv[1]); c.maximum_version=ssl.TLSVersion.TLSv1_2\n"
                  f"c.keylog_filename={keylog!r}\n"
                  f"h=http.client.HTTPSConnection({SRV_IP!r},{TLS_PORT},context=c,timeout=10)\n"
                  "h.request('POST','/v1/chat/completions',body=b'{\"messages\":[{\"role\":\"user\","
                  "\"content\":\"MARKER-TLS-PY\"}]}',"
                  f"headers={{'authorization':'Bearer {DENIED}','content-type':'application/json'}})\n"
                  "cipher=h.sock.cipher(); r=h.getresponse()\n"  # the answer closes the socket
                  "print(json.dumps([r.status,json.loads(r.read()),cipher[0],cipher[1]]))\n")
        for version, suite in TLS_CASES:
            with self.subTest(client="python", suite=suite):
                conf = os.path.join(self.tmp.name, f"openssl-{suite}.cnf")
                with open(conf, "w") as f:
                    f.write("openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = pin\n[pin]\n"
                            + (f"Ciphersuites = {suite}\n" if version == "1.3" else ""))
                out = in_ns(CLI, "python3", "-c", script, suite, version,
                            env=dict(os.environ, OPENSSL_CONF=conf)).stdout
                status, err, cipher, proto = json.loads(out)
                self.assertEqual((status, proto), (403, f"TLSv{version}"))
                self.assertEqual(cipher, suite)
                self.assertEqual(err["error"]["code"], "request_blocked")
        summary, eve = self.stop()
        with open(self.tls_log, "rb") as f:
            got = f.read()
        self.assertIn(b"MARKER-TLS-CUSTOMER", got)
        self.assertNotIn(b"MARKER-TLS-", got.replace(b"MARKER-TLS-CUSTOMER", b""))
        answers = summary["engine"]["answers"]
        self.assertGreaterEqual(answers["forbidden"], 2 * len(TLS_CASES))
        self.assertEqual(sum(answers["reset_instead"].values()), 0, answers)
        self.assertEqual(summary["engine"]["tls"]["decrypt_failures"], 0)
        # tshark, with the clients' key log, reads the injected records as the server's.
        p = t.run(["tshark", "-r", self.pcap, "-o", f"tls.keylog_file:{keylog}", "-o", "tcp.check_checksum:TRUE",
                   "-Y", f"tcp.srcport == {TLS_PORT} && http.response.code == 403", "-T", "fields",
                   "-e", "tcp.stream", "-e", "tcp.checksum.status", "-e", "tcp.analysis.flags"])
        rows = [line.split("\t") for line in p.stdout.splitlines()]
        self.assertGreaterEqual(len({r[0] for r in rows}), len(TLS_CASES) + 1, p.stdout)
        self.assertTrue(all(r[1] == "1" for r in rows), rows)
        self.assertTrue(all(r[2] == "" for r in rows), rows)  # where the client's stream expected it
        alerts = t.run(["tshark", "-r", self.pcap, "-o", f"tls.keylog_file:{keylog}", "-Y",
                        f"tcp.srcport == {TLS_PORT} && tls.alert_message.desc == 0", "-T", "fields",
                        "-e", "tcp.stream"]).stdout.split()
        self.assertGreaterEqual(len(set(alerts)), len(TLS_CASES) + 1)  # close_notify on each


    def test_http2_answers_on_the_stream_then_goaway(self):
        """HTTP/2 (prior knowledge and TLS with ALPN h2): the stopped stream gets HEADERS and
        DATA with END_STREAM from sluice, then GOAWAY, and the connection closes; curl, nghttp
        and httpx read the 403; the server never saw the request."""
        keylog, env = self.start_decrypting("h2")
        h2c = f"http://{SRV_IP}:{H2C_PORT}/v1/messages"
        h2s = f"https://{SRV_IP}:{H2_TLS_PORT}/v1/chat/completions"
        code, hdrs, body = self.curl(DENIED, "MARKER-H2C-CURL", url=h2c, http="--http2-prior-knowledge")
        self.assertEqual(code, 403, self.last_curl_error)
        self.assertEqual(json.loads(body)["error"]["type"], "permission_error")
        self.assertTrue(hdrs["request-id"].startswith("req_"))
        code, _, body = self.curl(CUSTOMER, "MARKER-H2C-CUSTOMER", url=h2c, http="--http2-prior-knowledge")
        self.assertEqual(code, 200, self.last_curl_error)
        code, hdrs, body = self.curl(DENIED, "MARKER-H2-TLS-CURL", url=h2s, http="--http2", tls=["-k"], env=env)
        self.assertEqual(code, 403, self.last_curl_error)
        self.assertEqual(json.loads(body)["error"]["code"], "request_blocked")
        self.assertTrue(hdrs["x-request-id"].startswith("req_"))
        # nghttp (h2c) and httpx (h2 over TLS) read the same answer.
        data = os.path.join(self.tmp.name, "req.json")
        with open(data, "w") as f:
            f.write(request_body("MARKER-H2C-NGHTTP"))
        p = in_ns(CLI, "nghttp", "-v", "-d", data, "-H", f"x-api-key: {DENIED}", h2c, check=False)
        self.assertIn(":status: 403", p.stdout)
        self.assertIn("GOAWAY", p.stdout)
        script = ("import httpx,json,ssl\n"
                  "c=ssl.create_default_context(); c.check_hostname=False; c.verify_mode=ssl.CERT_NONE\n"
                  f"c.keylog_filename={keylog!r}\n"
                  "with httpx.Client(http2=True,verify=c,timeout=10) as h:\n"
                  f" r=h.post({h2s!r},headers={{'authorization':'Bearer {DENIED}'}},"
                  "content=b'{\"messages\":[{\"role\":\"user\",\"content\":\"MARKER-H2-HTTPX\"}]}')\n"
                  " print(json.dumps([r.http_version,r.status_code,r.json()]))\n")
        version, status, err = json.loads(in_ns(CLI, "/usr/bin/python3", "-c", script).stdout)
        self.assertEqual((version, status), ("HTTP/2", 403))
        self.assertEqual(err["error"]["type"], "request_forbidden")
        summary, eve = self.stop()
        with open(self.h2_log, "rb") as f:
            got = f.read()
        self.assertIn(b"MARKER-H2C-CUSTOMER", got)
        for marker in (b"MARKER-H2C-CURL", b"MARKER-H2-TLS-CURL", b"MARKER-H2C-NGHTTP", b"MARKER-H2-HTTPX"):
            self.assertNotIn(marker, got, f"{marker} reached the server")
        answers = summary["engine"]["answers"]
        self.assertGreaterEqual(answers["forbidden"], 4)
        self.assertEqual(sum(answers["reset_instead"].values()), 0, answers)
        stopped = [r for r in eve if r["event_type"] == "http" and "enforcement" in r.get("sluice", {})]
        self.assertTrue(all(r["http"]["protocol"] == "HTTP/2" for r in stopped))
        self.assertTrue(all(r["sluice"]["enforcement"]["answer"]["kind"] == "http" for r in stopped))
        # tshark reads sluice's frames on the client's side: HEADERS with :status 403 and a
        # GOAWAY on each answered connection, checksums good.
        p = t.run(["tshark", "-r", self.pcap, "-o", f"tls.keylog_file:{keylog}", "-o", "tcp.check_checksum:TRUE",
                   "-d", f"tcp.port=={H2C_PORT},http2", "-Y",
                   f"(tcp.srcport == {H2C_PORT} || tcp.srcport == {H2_TLS_PORT}) && "
                   "(http2.headers.status == 403 || http2.type == 7)",
                   "-T", "fields", "-e", "tcp.stream", "-e", "http2.type", "-e", "tcp.checksum.status",
                   "-e", "tcp.analysis.flags"])
        rows = [line.split("\t") for line in p.stdout.splitlines()]
        self.assertTrue(all(r[3] == "" for r in rows), rows)
        streams_403 = {r[0] for r in rows if "1" in r[1].split(",")}
        streams_goaway = {r[0] for r in rows if "7" in r[1].split(",")}
        self.assertGreaterEqual(len(streams_403), 4, p.stdout)
        self.assertTrue(streams_403 <= streams_goaway, p.stdout)
        self.assertTrue(all(r[2] == "1" for r in rows), rows)


if __name__ == "__main__":
    unittest.main(verbosity=2)
