#!/usr/bin/env python3
"""HTTP/2 over real-client captures (tests/data/h2, made by make-h2-captures.sh: curl, nghttp
and python3-httpx against nginx 1.22, h2 over TLS with key logs and h2c with prior knowledge;
curl --parallel multiplexing five transfers on one connection).
tshark is the oracle: every request stream it decodes is one sluice `http` record with the same
method, path and status; the client fingerprint equals the one computed from the frames tshark
prints; and the same rules give the same alerts and the same records over HTTP/1.1 and HTTP/2
copies of the same requests."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

H2 = os.path.join(t.SOURCE, "tests", "data", "h2")
CAPTURES = ["h2-tls-curl", "h2c-curl", "h2c-nghttp", "h2-tls-httpx", "h2-tls-curl-parallel"]
RULES = """\
alert http any any -> any any (msg:"llm post"; http.method; content:"POST"; http.uri; content:"/v1/messages"; \
http.header; content:"x-api-key|3a 20|"; llm.prompt; content:"chain of thought"; sid:8101; rev:1;)
alert http any any -> any any (msg:"blob"; http.uri; content:"/blob.bin"; sid:8102; rev:1;)
alert http any any -> any any (msg:"json answer"; http.stat_code; content:"200"; http.response_body; \
content:"output_tokens"; sid:8103; rev:1;)
"""


def paths(name):
    pcap = os.path.join(H2, name + ".pcap")
    keylog = os.path.join(H2, name + ".keylog")
    return pcap, keylog if os.path.exists(keylog) else None


UPGRADES = ["h2c-upgrade-curl", "h2c-upgrade-nghttp"]


def tshark_frames(name, decode_as="http2"):
    """[(client port, from client, frame)] in capture order, frames as tshark's JSON dicts.
    Upgraded captures decode port 8080 as HTTP/1.1, which hands over to HTTP/2 at the 101."""
    pcap, keylog = paths(name)
    args = ["tshark", "-r", pcap, "-T", "json", "--no-duplicate-keys", "-O", "http2", "-Y", "http2",
            "-d", f"tcp.port==8080,{decode_as}"]
    if keylog:
        args += ["-o", f"tls.keylog_file:{keylog}"]
    # Bytes: DATA frames print as raw text in tshark's JSON.
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    packets = json.loads(p.stdout.decode("utf-8", "replace"))
    out = []
    for p in packets:
        layers = p["_source"]["layers"]
        sport, dport = int(layers["tcp"]["tcp.srcport"]), int(layers["tcp"]["tcp.dstport"])
        from_client = dport in (443, 8080)
        for f in t.http2_frames(layers.get("http2")):
            out.append((sport if from_client else dport, from_client, f))
    return out


def headers_of(frame):
    h = frame.get("http2.header", [])
    h = h if isinstance(h, list) else [h]
    return [(x.get("http2.header.name"), x.get("http2.header.value")) for x in h]


def oracle_requests(frames):
    """{(client port, stream): {"method", "path", "status"}} from the decoded HEADERS frames."""
    req = {}
    for port, from_client, f in frames:
        if f["http2.type"] != "1":
            continue
        key = (port, int(f["http2.streamid"]))
        fields = dict(headers_of(f))
        if from_client and ":method" in fields:
            req.setdefault(key, {})
            req[key].update(method=fields[":method"], path=fields[":path"])
        elif not from_client and ":status" in fields and not fields[":status"].startswith("1"):
            req.setdefault(key, {})["status"] = int(fields[":status"])
    return req


def oracle_upgraded_requests(name):
    """{(client port, 1): {"method", "path"}}: the HTTP/1.1 requests that asked to upgrade,
    which become stream 1 (RFC 7540 section 3.2), from tshark's HTTP/1.1 fields."""
    pcap, _ = paths(name)
    p = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==8080,http", "-Y",
                        'http.request and http.upgrade contains "h2c"', "-T", "fields",
                        "-e", "tcp.srcport", "-e", "http.request.method", "-e", "http.request.uri"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True, text=True)
    out = {}
    for line in p.stdout.splitlines():
        port, method, uri = line.split("\t")
        out[(int(port), 1)] = {"method": method, "path": uri}
    return out


def oracle_fingerprint(frames, port):
    """The Akamai fingerprint of one connection's client, from tshark's fields."""
    settings, wu, prio, pseudo = None, None, [], None
    for p, from_client, f in frames:
        if p != port or not from_client:
            continue
        typ = f["http2.type"]
        if typ == "4" and settings is None and f.get("http2.flags") == "0x00":
            entries = f.get("http2.settings", [])
            entries = entries if isinstance(entries, list) else [entries]
            parts = []
            for e in entries:
                value = next(v for k, v in e.items() if k != "http2.settings.id")
                parts.append(f"{e['http2.settings.id']}:{value}")
            settings = ";".join(parts)
        elif typ == "8" and f["http2.streamid"] == "0" and wu is None:
            wu = f["http2.window_update.window_size_increment"]
        elif typ == "2":
            prio.append(f"{f['http2.streamid']}:{f['http2.exclusive']}:{f['http2.stream_dependency']}:"
                        f"{f['http2.headers.weight_real']}")
        elif typ == "1":
            letters = {":method": "m", ":authority": "a", ":scheme": "s", ":path": "p"}
            pseudo = ",".join(letters[n] for n, _ in headers_of(f) if n in letters)
            break
    return f"{settings or ''}|{wu or '00'}|{','.join(prio) or '0'}|{pseudo}"


class Http2Captures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="sluice-h2-")
        cls.rules = os.path.join(cls.tmp.name, "h2.rules")
        with open(cls.rules, "w") as f:
            f.write(RULES)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_capture(self, name):
        pcap, keylog = paths(name)
        work = os.path.join(self.tmp.name, name)
        os.makedirs(work, exist_ok=True)
        extra = ["--rules", self.rules]
        if keylog:
            extra += ["--keylog", keylog]
        return t.offline(pcap, work, *extra)

    def test_every_request_stream_is_one_transaction(self):
        for name in CAPTURES:
            with self.subTest(capture=name):
                frames = tshark_frames(name)
                want = oracle_requests(frames)
                self.assertGreaterEqual(len(want), 3)
                summary, eve, _ = self.run_capture(name)
                http = [r for r in eve if r["event_type"] == "http"]
                got = {(r["src_port"], r["http"]["http2"]["stream_id"]):
                       {"method": r["http"]["http_method"], "path": r["http"]["url"],
                        "status": r["http"]["status"]} for r in http}
                self.assertEqual(len(http), len(want))  # one record per stream, none twice
                self.assertEqual(got, want)
                self.assertTrue(all(r["http"]["protocol"] == "HTTP/2" for r in http))
                h2 = summary["engine"]["http2"]
                self.assertEqual(h2["hpack_errors"], 0)
                self.assertEqual(h2["parse_stopped"], 0)
                self.assertEqual(h2["anomalies"], {})
                self.assertEqual(summary["engine"]["http"]["http2"], 0)  # parsed, not just seen

    def test_upgraded_connections_are_inspected(self):
        """Upgrade: h2c from curl --http2 and nghttp -u: the upgraded request is stream 1 with
        the status of its HTTP/2 answer, every later stream is one record, and the LLM POST on
        the upgraded connection alerts as over HTTP/1.1."""
        for name in UPGRADES:
            with self.subTest(capture=name):
                frames = tshark_frames(name, decode_as="http")
                want = oracle_requests(frames)
                upgraded = oracle_upgraded_requests(name)
                self.assertEqual(len(upgraded), 1)
                for key, req in upgraded.items():
                    self.assertIn("status", want.get(key, {}))  # answered on stream 1
                    want[key].update(req)
                self.assertGreaterEqual(len(want), 3)
                summary, eve, _ = self.run_capture(name)
                http = [r for r in eve if r["event_type"] == "http"]
                got = {(r["src_port"], r["http"]["http2"]["stream_id"]):
                       {"method": r["http"]["http_method"], "path": r["http"]["url"],
                        "status": r["http"]["status"]} for r in http}
                self.assertEqual(len(http), len(want))
                self.assertEqual(got, want)
                self.assertTrue(all(r["http"]["protocol"] == "HTTP/2" for r in http))
                self.assertEqual(summary["engine"]["http"]["h2c_upgrades"], 1)
                self.assertEqual(summary["engine"]["http"]["tunnels"], 0)
                self.assertEqual(summary["engine"]["http2"]["upgrades"], 1)
                self.assertEqual(summary["engine"]["http2"]["hpack_errors"], 0)
                self.assertEqual(summary["engine"]["http2"]["anomalies"], {})
                if name == "h2c-upgrade-curl":
                    alerts = {r["alert"]["signature_id"] for r in eve if r["event_type"] == "alert"}
                    self.assertIn(8101, alerts)

    def test_http2_keywords_against_tshark(self):
        """http2.settings and http2.header_name on real clients: each rule fires once per request
        stream whose client (per tshark's frames) sent that setting or header."""
        rules = os.path.join(self.tmp.name, "h2-keywords.rules")
        with open(rules, "w") as f:
            f.write('alert http any any -> any any (msg:"push setting"; '
                    'http2.settings:SETTINGS_MAX_CONCURRENT_STREAMS; sid:8201; rev:1;)\n'
                    'alert http any any -> any any (msg:"key header"; http2.header_name; '
                    'content:"x-api-key"; sid:8202; rev:1;)\n'
                    'alert http any any -> any any (msg:"server"; flow:to_client; http.server; '
                    'content:"nginx"; sid:8203; rev:1;)\n'
                    'alert http any any -> any any (msg:"response header"; '
                    'http.response_header; content:"content-type|3a 20|text/"; startswith; '
                    'sid:8204; rev:1;)\n')
        for name in CAPTURES:
            with self.subTest(capture=name):
                frames = tshark_frames(name)
                settings_ports, key_streams, streams = set(), set(), set()
                nginx, text_type = set(), set()
                for port, from_client, f in frames:
                    if not from_client:
                        # The answers' fields (HTTP/2 response buffers).
                        if f["http2.type"] == "1":
                            h = headers_of(f)
                            key = (port, int(f["http2.streamid"]))
                            if any(n == "server" and "nginx" in v for n, v in h):
                                nginx.add(key)
                            if any(n == "content-type" and v.startswith("text/") for n, v in h):
                                text_type.add(key)
                        continue
                    if f["http2.type"] == "4" and f.get("http2.flags") == "0x00":
                        entries = f.get("http2.settings", [])
                        entries = entries if isinstance(entries, list) else [entries]
                        if any(e["http2.settings.id"] == "3" for e in entries):
                            settings_ports.add(port)
                    if f["http2.type"] == "1":
                        streams.add((port, int(f["http2.streamid"])))
                        if any(n == "x-api-key" for n, _ in headers_of(f)):
                            key_streams.add((port, int(f["http2.streamid"])))
                want_8201 = sum(1 for port, _ in streams if port in settings_ports)
                work = os.path.join(self.tmp.name, name + "-kw")
                os.makedirs(work, exist_ok=True)
                pcap, keylog = paths(name)
                extra = ["--rules", rules] + (["--keylog", keylog] if keylog else [])
                _, eve, _ = t.offline(pcap, work, *extra)
                alerts = [r for r in eve if r["event_type"] == "alert"]
                got_8201 = sum(1 for a in alerts if a["alert"]["signature_id"] == 8201)
                got_8202 = {(a["src_port"], a["http"]["http2"]["stream_id"])
                            for a in alerts if a["alert"]["signature_id"] == 8202}
                self.assertEqual(got_8201, want_8201)
                self.assertEqual(got_8202, key_streams)
                for sid, want in ((8203, nginx), (8204, text_type)):
                    got = {(a["src_port"], a["http"]["http2"]["stream_id"])
                           for a in alerts if a["alert"]["signature_id"] == sid}
                    self.assertEqual(got, want, sid)
                self.assertGreater(want_8201 + len(key_streams), 0)

    def test_client_fingerprint_matches_the_frames(self):
        seen = set()
        for name in CAPTURES:
            frames = tshark_frames(name)
            _, eve, _ = self.run_capture(name)
            for r in eve:
                if r["event_type"] != "http":
                    continue
                with self.subTest(capture=name, port=r["src_port"]):
                    fp = r["http"]["http2"]["fingerprint"]
                    self.assertEqual(fp, oracle_fingerprint(frames, r["src_port"]))
                    seen.add(fp.split("|")[0])
        # curl, nghttp and httpx frame differently: the fingerprint tells them apart.
        self.assertGreaterEqual(len(seen), 3)

    def test_same_rules_same_alerts_over_http1_and_http2(self):
        runs = {}
        for name in ("h1-tls-curl", "h2-tls-curl"):
            _, eve, _ = self.run_capture(name)
            alerts = sorted(r["alert"]["signature_id"] for r in eve if r["event_type"] == "alert")
            http = [r for r in eve if r["event_type"] == "http"]
            runs[name] = (alerts, http)
        h1_alerts, h1 = runs["h1-tls-curl"]
        h2_alerts, h2 = runs["h2-tls-curl"]
        self.assertTrue(h1_alerts)
        self.assertEqual(set(h1_alerts), {8101, 8102, 8103})
        self.assertEqual(h2_alerts, h1_alerts)

        def comparable(r):
            h = dict(r["http"])
            for k in ("protocol", "http2"):
                h.pop(k, None)
            return json.dumps({"http": h, "account": r.get("account"), "sluice": r.get("sluice")},
                              sort_keys=True)
        self.assertEqual(sorted(map(comparable, h2)), sorted(map(comparable, h1)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
