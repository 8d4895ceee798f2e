#!/usr/bin/env python3
"""Rules end to end: offline mode over a real capture of LLM API calls (curl against a mock
API) with the shipped packs writes the expected alerts and http records; drop rules stop
flows; both dialects give the same alerts; --check-rules validates; no credential from the
capture reaches any output."""
import base64
import glob
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

LLM = os.path.join(t.DATA, "llm", "llm-api.pcap")
# Which packs' rules the capture's eight requests must raise (see make-llm-captures.sh).
EXPECTED = {2100001, 2100003, 2200001, 2300001, 2100006, 2300002}
# The credentials of make-llm-captures.sh (full values, and their secret middles: hints may
# show a key's prefix and last four characters, nothing else).
SECRETS = ["TESTKEYsluice", "TESTTOKENsluice", "TESTSESSIONsluice",
           "sk-ant-api03-TESTKEYsluice0000000000000000000000000000000000000000",
           "sk-ant-oat01-TESTTOKENsluice000000000000000000", "sk-proj-TESTKEYsluice000000",
           "sk-ant-sid01-TESTSESSIONsluice"]


class DefaultPacks(t.TempDirTest):
    def test_expected_alerts_and_http_records(self):
        summary, eve, paths = t.offline(LLM, self.tmp)
        alerts = [r for r in eve if r["event_type"] == "alert"]
        self.assertEqual({a["alert"]["signature_id"] for a in alerts}, EXPECTED)
        self.assertEqual(len(alerts), len(EXPECTED))
        for a in alerts:
            self.assertEqual(a["alert"]["action"], "allowed")
            self.assertIn(a["alert"]["severity"], (1, 2, 3))
            self.assertTrue(a["alert"]["category"])
            self.assertEqual(a["http"]["hostname"], "10.232.0.2:8090")
            self.assertTrue(a["alert"]["metadata"]["fp_risk"])
            self.assertEqual(a["app_proto"], "http")
        http = [r for r in eve if r["event_type"] == "http"]
        self.assertEqual(len(http), 8)
        llm = [h for h in http if "llm" in h.get("sluice", {})]
        self.assertEqual(len(llm), 6)
        for h in llm:
            self.assertEqual(h["http"]["status"], 200)
            usage = h["sluice"]["llm"]["usage"]
            self.assertGreater(usage["input_tokens"], 0)
            self.assertGreater(usage["output_tokens"], 0)
        models = sorted(h["sluice"]["llm"]["model"] for h in llm)
        self.assertIn("claude-opus-4", models)
        self.assertIn("gpt-4o-mini", models)
        streamed = [h for h in llm if h["sluice"]["llm"]["stream"]]
        self.assertEqual(len(streamed), 1)
        self.assertTrue(streamed[0]["sluice"]["sse"])
        # Alerts flag their flows.
        flows = {r["flow_id"]: r for r in eve if r["event_type"] == "flow"}
        for a in alerts:
            self.assertTrue(flows[a["flow_id"]]["flow"]["alerted"])
        self.assertEqual(summary["engine"]["rules"]["alerts"], len(EXPECTED))
        self.assertEqual(summary["engine"]["http"]["requests"], 8)
        # Requests carry their account: keyed hash and masked hint.
        keyed = [h for h in http if "account" in h]
        self.assertEqual(len(keyed), 8)
        sdk = [h for h in keyed if h["account"]["source"] == "x-api-key"]
        self.assertEqual(len({h["account"]["id"] for h in sdk}), 1)  # one key, one account
        self.assertEqual(sdk[0]["account"]["hint"], "sk-ant-api03-\u20260000")
        for a in alerts:
            self.assertIn("id", a["account"])
        # Credentials in the capture never reach an output.
        for path in (paths["eve"], os.path.join(self.tmp, "summary.json")):
            with open(path) as f:
                text = f.read()
            for s in SECRETS:
                self.assertNotIn(s, text, f"{s} leaked into {path}")

    def test_same_alerts_with_two_workers(self):
        _, eve1, _ = t.offline(LLM, self.tmp)
        _, eve2, _ = t.offline(LLM, self.tmp, workers=2)
        key = lambda r: (r["flow_id"], r["alert"]["signature_id"])  # noqa: E731
        a1 = sorted(key(r) for r in eve1 if r["event_type"] == "alert")
        a2 = sorted(key(r) for r in eve2 if r["event_type"] == "alert")
        self.assertEqual(a1, a2)

    def test_plain_http_captures_raise_nothing(self):
        for pcap in t.data_captures():
            _, eve, _ = t.offline(pcap, self.tmp)
            self.assertEqual([r for r in eve if r["event_type"] == "alert"], [], pcap)


class CustomRules(t.TempDirTest):
    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_drop_rule_stops_the_flow(self):
        rules = self.write("drop.rules", 'drop http any any -> any any (msg:"no trace harvesting"; '
                           'llm.prompt; content:"internal reasoning"; nocase; sid:9000001;)\n')
        summary, eve, paths = t.offline(LLM, self.tmp, "--rules", rules)
        alerts = [r for r in eve if r["event_type"] == "alert"]
        self.assertEqual([a["alert"]["signature_id"] for a in alerts], [9000001])
        self.assertEqual(alerts[0]["alert"]["action"], "blocked")
        flow = [r for r in eve if r["event_type"] == "flow" and r["flow_id"] == alerts[0]["flow_id"]]
        self.assertEqual(flow[0]["flow"]["action"], "drop")
        self.assertGreater(summary["engine"]["dropped_verdict"], 0)
        # The dropped flow's response never happened on the output side.
        self.assertLess(summary["pcap_out"]["packets"], summary["input"]["packets"])

    def test_both_dialects_same_alerts(self):
        suricata = self.write("s.rules",
                              'alert http any any -> any any (msg:"a"; http.method; content:"POST"; '
                              'http.uri; content:"/v1/"; depth:4; llm.prompt; content:"rubric"; nocase; '
                              'sid:1;)\n'
                              'alert http any any -> any any (msg:"b"; content:"mailinator"; '
                              'http_client_body; content:"/api/"; http_uri; sid:2;)\n')
        snort = self.write("n.rules",
                           'alert http (msg:"a"; http_method; content:"POST"; http_uri; '
                           'content:"/v1/",depth 4; llm.prompt; content:"rubric",nocase; sid:1;)\n'
                           'alert http (msg:"b"; http_client_body; content:"mailinator"; '
                           'http_uri; content:"/api/"; sid:2;)\n')
        got = {}
        for name, path in (("suricata", suricata), ("snort3", snort)):
            _, eve, _ = t.offline(LLM, self.tmp, "--rules", path)
            got[name] = sorted((r["flow_id"], r["alert"]["signature_id"]) for r in eve
                               if r["event_type"] == "alert")
        self.assertEqual(got["suricata"], got["snort3"])
        self.assertEqual(sorted(s for _, s in got["suricata"]), [1, 2])

    def test_check_rules(self):
        ok = t.dataplane("--check-rules")
        self.assertIn("rules OK", ok.stdout)
        bad = self.write("bad.rules",
                         'alert http any any -> any any (msg:"fine"; http.uri; content:"a"; sid:1;)\n'
                         '\n'
                         'alert http any any -> any any (msg:"broken"; http.uri; content:"a"; '
                         'pcre:"/x/Q"; sid:2;)\n')
        # Rule by rule (the default): the bad rule is reported and skipped, the rest loads.
        p = t.dataplane("--check-rules", "--rules", bad, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"{bad}:3:78: skipped sid 2: pcre flag 'Q' is not supported", p.stdout)
        self.assertIn("1 rule skipped: 1 unsupported (pcre flag Q 1), 0 malformed", p.stdout)
        self.assertIn("1 rules OK", p.stdout)
        summary, eve, _ = t.offline(LLM, self.tmp, "--rules", bad)
        self.assertEqual(summary["engine"]["rules"]["loaded"], 1)
        self.assertEqual(summary["engine"]["rules"]["skipped"], 1)
        self.assertEqual(summary["engine"]["rules"]["skipped_unsupported"], {"pcre flag Q": 1})
        self.assertEqual({r["alert"]["signature_id"] for r in eve if r["event_type"] == "alert"},
                         {1})
        p = t.dataplane("--pcap", LLM, "--rules", bad, "--quiet", "--eve",
                        os.path.join(self.tmp, "e2.json"))
        self.assertIn(f"{bad}:3:78: skipped sid 2", p.stderr)
        # --strict-rules: one bad rule rejects the set, and a rejected set never runs.
        p = t.dataplane("--check-rules", "--strict-rules", "--rules", bad, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{bad}:3:78: error: pcre flag 'Q'", p.stderr)
        self.assertIn("rejected", p.stderr)
        p = t.dataplane("--pcap", LLM, "--strict-rules", "--rules", bad, "--eve",
                        os.path.join(self.tmp, "e.json"), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "e.json")))
        missing = t.dataplane("--check-rules", "--rules", os.path.join(self.tmp, "nope.rules"),
                              check=False)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("cannot read rule file", missing.stderr)

    def test_bundle_gives_the_same_alerts(self):
        bundle = os.path.join(self.tmp, "packs.bundle")
        w = t.dataplane("--write-bundle", bundle)
        self.assertIn("rules,", w.stdout)
        _, direct, _ = t.offline(LLM, self.tmp)
        _, via_bundle, _ = t.offline(LLM, self.tmp, "--rules-bundle", bundle)
        key = lambda r: (r["flow_id"], r["alert"]["signature_id"])  # noqa: E731
        self.assertEqual(sorted(key(r) for r in direct if r["event_type"] == "alert"),
                         sorted(key(r) for r in via_bundle if r["event_type"] == "alert"))
        with open(bundle, "r+b") as f:
            f.truncate(os.path.getsize(bundle) // 2)
        p = t.dataplane("--check-rules", "--rules-bundle", bundle, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("truncated or damaged rule bundle", p.stderr)

    def test_rule_vars_scope_rules(self):
        rules = self.write("v.rules", 'alert http any any -> $API_SERVERS $API_PORTS (msg:"v"; '
                           'http.uri; content:"/v1/messages"; sid:5;)\n')
        _, eve, _ = t.offline(LLM, self.tmp, "--rules", rules, "--rule-var", "API_SERVERS=10.232.0.2",
                              "--rule-var", "API_PORTS=[8090]")
        self.assertEqual(len([r for r in eve if r["event_type"] == "alert"]), 5)
        _, eve, _ = t.offline(LLM, self.tmp, "--rules", rules, "--rule-var",
                              "API_SERVERS=[192.0.2.0/24]")
        self.assertEqual([r for r in eve if r["event_type"] == "alert"], [])
        p = t.dataplane("--check-rules", "--rules", rules, "--rule-var", "API_SERVERS=[bogus",
                        check=False)
        self.assertEqual(p.returncode, 2)


def tshark_requests(pcap):
    """Each HTTP request of a capture as tshark decodes it (the oracle): uri, user-agent and
    header names in order."""
    fields = {"uri": "http.request.uri", "ua": "http.user_agent", "method": "http.request.method",
              "version": "http.request.version", "cl": "http.content_length_header",
              "ct": "http.content_type", "accept": "http.accept", "ae": "http.accept_encoding",
              "referer": "http.referer"}
    cmd = ["tshark", "-r", pcap, "-Y", "http.request", "-T", "json", "-e", "http.request.line"]
    for f in fields.values():
        cmd += ["-e", f]
    reqs = []
    for pkt in json.loads(t.run(cmd).stdout):
        f = pkt["_source"]["layers"]
        r = {k: f[v][0] if v in f else None for k, v in fields.items()}
        r["lines"] = [h.rstrip("\r\n") for h in f.get("http.request.line", [])]
        r["names"] = [h.split(":", 1)[0] for h in r["lines"]]
        reqs.append(r)
    return reqs


def tshark_responses(pcap):
    """Each HTTP response of a capture as tshark decodes it."""
    fields = {"version": "http.response.version", "code": "http.response.code",
              "phrase": "http.response.phrase", "server": "http.server",
              "location": "http.location"}
    cmd = ["tshark", "-r", pcap, "-Y", "http.response", "-T", "json", "-e", "http.response.line"]
    for f in fields.values():
        cmd += ["-e", f]
    out = []
    for p in json.loads(t.run(cmd).stdout):
        f = p["_source"]["layers"]
        r = {k: f[v][0] if v in f else None for k, v in fields.items()}
        r["lines"] = [h.rstrip("\r\n") for h in f.get("http.response.line", [])]
        out.append(r)
    return out


class SuricataKeywords(t.TempDirTest):
    """startswith, endswith, bsize, isdataat, http.header_names and pcre's legacy buffer flags
    on a real capture, each rule's alert count against what tshark says of the same requests."""

    def test_against_tshark(self):
        reqs = tshark_requests(LLM)
        self.assertEqual(len(reqs), 8)

        def relative_room(uri, pat, n):
            # isdataat:n,relative after content pat: some occurrence has n bytes after it.
            at = uri.find(pat)
            while at >= 0:
                if at + len(pat) + n <= len(uri):
                    return True
                at = uri.find(pat, at + 1)
            return False

        cases = [
            ('http.uri; content:"/v1/"; startswith;', lambda r: r["uri"].startswith("/v1/")),
            ('http.uri; content:"/messages"; endswith;', lambda r: r["uri"].endswith("/messages")),
            ('http.uri; content:!"/messages"; endswith;',
             lambda r: not r["uri"].endswith("/messages")),
            ("http.user_agent; bsize:23;", lambda r: len(r["ua"]) == 23),
            ("http.user_agent; bsize:<20;", lambda r: len(r["ua"]) < 20),
            ("http.user_agent; bsize:12<>24;", lambda r: 12 < len(r["ua"]) < 24),
            ('http.uri; content:"/v1/"; isdataat:10,relative;',
             lambda r: relative_room(r["uri"], "/v1/", 10)),
            ('http.uri; content:"/v1/"; isdataat:!9,relative;',
             lambda r: "/v1/" in r["uri"] and not relative_room(r["uri"], "/v1/", 9)),
            ("http.uri; isdataat:20;", lambda r: len(r["uri"]) > 20),
            ('http.header_names; content:"|0d 0a|x-api-key|0d 0a|"; nocase;',
             lambda r: any(n.lower() == "x-api-key" for n in r["names"])),
            ('http.header_names; content:!"|0d 0a|Authorization|0d 0a|";',
             lambda r: "Authorization" not in r["names"]),
            ('http.header_names; content:"|0d 0a|Content-Length|0d 0a 0d 0a|"; endswith;',
             lambda r: r["names"][-1] == "Content-Length"),
            ('pcre:"/^\\/api\\//U";', lambda r: r["uri"].startswith("/api/")),
            ('pcre:"/^\\/v1\\//I";', lambda r: r["uri"].startswith("/v1/")),
            ('pcre:"/^python-/V";', lambda r: (r["ua"] or "").startswith("python-")),
            ('pcre:"/^user-agent\\x3a [a-z]+\\//Hmi";',
             lambda r: r["ua"].split("/")[0].isalpha()),
            ('http.request_line; content:"POST /v1/messages HTTP/1.1"; bsize:26;',
             lambda r: (r["method"], r["uri"], r["version"]) == ("POST", "/v1/messages", "HTTP/1.1")),
            ('http.protocol; content:"HTTP/1.1"; bsize:8;', lambda r: r["version"] == "HTTP/1.1"),
            ('http.start; content:"POST "; startswith; content:"|0d 0a 0d 0a|"; endswith;',
             lambda r: r["method"] == "POST"),
            ('http.content_len; content:"1"; startswith;', lambda r: (r["cl"] or "").startswith("1")),
            ('http.content_type; content:"application/json"; bsize:16;',
             lambda r: r["ct"] == "application/json"),
            ('http.accept; content:"*/*"; bsize:3;', lambda r: r["accept"] == "*/*"),
            ('http.accept_enc; content:"gzip";', lambda r: "gzip" in (r["ae"] or "")),
            ("http.referer; bsize:>0;", lambda r: bool(r["referer"])),
            ('http.uri.raw; content:"/api/"; startswith;', lambda r: r["uri"].startswith("/api/")),
            ('http.header.raw; content:"anthropic-version|3a|";',
             lambda r: "anthropic-version" in r["names"]),
            # Per-line header buffers: one "Name: value" at a time, no line ends.
            ('http.request_header; content:"x-api-key|3a 20|sk-ant-"; startswith;',
             lambda r: any(x.startswith("x-api-key: sk-ant-") for x in r["lines"])),
            ('http.request_header; content:"User-Agent|3a 20|"; startswith; content:"/"; distance:0;',
             lambda r: any(x.startswith("User-Agent: ") and "/" in x[12:] for x in r["lines"])),
            ('http.request_header; content:"json|0d 0a|";', lambda r: False),
            ('http.request_header; bsize:>60;', lambda r: any(len(x) > 60 for x in r["lines"])),
            ('http.request_line; pcrexform:"^[A-Z]+\\s+/(\\w+)/"; content:"v1"; bsize:2;',
             lambda r: r["uri"].startswith("/v1/")),
        ]
        # Response buffers, against tshark's decoding of the answers.
        resps = tshark_responses(LLM)
        self.assertEqual(len(resps), len(reqs))
        resp_cases = [
            ('http.response_line; content:"HTTP/1.1 200 OK"; bsize:15;',
             lambda r: (r["version"], r["code"], r["phrase"]) == ("HTTP/1.1", "200", "OK")),
            ('http.stat_msg; content:"OK"; bsize:2;', lambda r: r["phrase"] == "OK"),
            ('http.server; content:"Python/"; content:"BaseHTTP"; startswith;',
             lambda r: "Python/" in (r["server"] or "") and (r["server"] or "").startswith("BaseHTTP")),
            ('http.location; content:"/";', lambda r: "/" in (r["location"] or "")),
            ('http.stat_msg; bsize:>2;', lambda r: len(r["phrase"] or "") > 2),
            ('http.response_header; content:"Content-Encoding|3a 20|gzip"; bsize:22;',
             lambda r: "Content-Encoding: gzip" in r["lines"]),
            ('http.response_header; content:"Content-Type|3a 20|"; startswith; '
             'content:"json"; endswith;',
             lambda r: any(x.startswith("Content-Type: ") and x.endswith("json")
                           for x in r["lines"])),
        ]
        cases = [(b, w, reqs) for b, w in cases] + [(b, w, resps) for b, w in resp_cases]
        text = "".join(f'alert http any any -> any any (msg:"k{i}"; {body} sid:{100 + i};)\n'
                       for i, (body, _, _) in enumerate(cases))
        rules = os.path.join(self.tmp, "k.rules")
        with open(rules, "w") as f:
            f.write(text)
        check = t.dataplane("--check-rules", "--strict-rules", "--rules", rules, check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        _, eve, _ = t.offline(LLM, self.tmp, "--rules", rules)
        got = t.alert_counts(eve)
        for i, (body, want, msgs) in enumerate(cases):
            expected = sum(1 for r in msgs if want(r))
            self.assertEqual(got.get(100 + i, 0), expected, body)
        # The oracle's answers are not all the same (the rules tell requests apart).
        self.assertGreater(len({got.get(100 + i, 0) for i in range(len(cases))}), 3)


KEYWORDS = os.path.join(t.DATA, "keywords", "payload-keywords.pcap")


def b64_rfc4648(s):
    """Suricata's RFC 4648 mode, on top of Python's decoder: the base64 prefix, a partial last
    group padded; a group that opens with '=' makes the whole decode empty."""
    prefix = re.match(r"[A-Za-z0-9+/=]*", s).group(0)
    groups = [prefix[i:i + 4] for i in range(0, len(prefix), 4)]
    if groups and len(groups[-1]) < 4:
        groups[-1] = groups[-1].ljust(4, "=")
    if any(g[0] == "=" or g[1] == "=" for g in groups):
        return b""
    return b"".join(base64.b64decode(g) for g in groups)


def digits_at(s, at, n):
    """byte_extract/byte_math string,dec: the digits among the n characters at `at`."""
    field = s[at:at + n]
    if len(field) < n:
        return None
    m = re.match(r"[0-9]*", field).group(0)
    return (int(m), len(m)) if m else None


class PayloadKeywords(t.TempDirTest):
    """base64_decode/base64_data, from_base64, xor, byte_extract and byte_math on real curl
    requests (tests/data/make-keyword-captures.sh), each rule's alert count against a
    reference evaluation here over tshark's fields (Python's base64 and regular expressions)."""

    def test_against_tshark(self):
        reqs = tshark_requests(KEYWORDS)
        self.assertEqual(len(reqs), 8)
        cookie = {}
        for pkt in json.loads(t.run(["tshark", "-r", KEYWORDS, "-Y", "http.request", "-T",
                                     "json", "-e", "http.request.uri", "-e",
                                     "http.cookie"]).stdout):
            f = pkt["_source"]["layers"]
            cookie[f["http.request.uri"][0]] = f.get("http.cookie", [None])[0]
        for r in reqs:
            r["cookie"] = cookie[r["uri"]]

        def after_each(s, pat):
            at = s.find(pat)
            while at >= 0:
                yield at + len(pat)
                at = s.find(pat, at + 1)

        def from_base64(s):
            d = b64_rfc4648(s)
            return d if d else s.encode("latin-1")

        def xor1(s):
            return "".join(chr(ord(c) ^ 1) for c in s)

        def len_field(uri, then):
            # content:"/len/"; byte_extract:2,0,n,relative,string,dec; then(uri, end, n)
            for at in after_each(uri, "/len/"):
                got = digits_at(uri, at, 2)
                if got and then(uri, at + got[1], got[0]):
                    return True
            return False

        def end_at(uri, cur, n):
            # content:"/END"; distance:n; within:5 (from the cursor past the digits)
            return any(cur + n <= p and p + 4 <= cur + n + 5 for p in
                       (m.start() for m in re.finditer("/END", uri)))

        cases = [
            ('http.uri; content:"d="; base64_decode:relative; base64_data; content:"role=admin";',
             lambda r: any(b"role=admin" in b64_rfc4648(r["uri"][a:]) for a in
                           after_each(r["uri"], "d="))),
            ('http.uri; content:"d="; base64_decode:relative; base64_data; content:"user=";'
             ' startswith;',
             lambda r: any(b64_rfc4648(r["uri"][a:]).startswith(b"user=") for a in
                           after_each(r["uri"], "d="))),
            ('http.uri; base64_decode:offset 9, bytes 12; base64_data; content:"user";',
             lambda r: len(r["uri"]) > 9 and b"user" in b64_rfc4648(r["uri"][9:21])),
            ('http.cookie; from_base64; content:"admin"; startswith;',
             lambda r: r["cookie"] is not None and from_base64(r["cookie"]).startswith(b"admin")),
            ('http.cookie; from_base64; content:"admin:"; bsize:7;',
             lambda r: r["cookie"] is not None and len(from_base64(r["cookie"])) == 7
             and b"admin:" in from_base64(r["cookie"])),
            ('http.user_agent; xor:"01"; content:"password="; startswith;',
             lambda r: xor1(r["ua"]).startswith("password=")),
            ('http.user_agent; xor:"01"; content:"password"; content:!"=";',
             lambda r: "password" in xor1(r["ua"]) and "=" not in xor1(r["ua"])),
            ('http.user_agent; xor:offset 5,"01"; content:"password=1"; endswith;',
             lambda r: (r["ua"][:5] + xor1(r["ua"][5:])).endswith("password=1")),
            ('http.uri; content:"/len/"; byte_extract:2,0,n,relative,string,dec; content:"/"; '
             'within:1; isdataat:n,relative;',
             lambda r: len_field(r["uri"], lambda u, c, n: u[c:c + 1] == "/" and
                                 len(u) - (c + 1) >= n)),
            ('http.uri; content:"/len/"; byte_extract:2,0,n,relative,string,dec; '
             'content:"/END"; distance:n; within:5;',
             lambda r: len_field(r["uri"], end_at)),
            ('http.uri; content:"/len/"; byte_math:bytes 2, offset 0, oper +, rvalue 2, '
             'result m, relative, string dec; isdataat:!m,relative;',
             lambda r: len_field(r["uri"], lambda u, c, n: len(u) - c < n + 2)),
        ]
        text = "".join(f'alert http any any -> any any (msg:"p{i}"; {body} sid:{300 + i};)\n'
                       for i, (body, _) in enumerate(cases))
        rules = os.path.join(self.tmp, "p.rules")
        with open(rules, "w") as f:
            f.write(text)
        check = t.dataplane("--check-rules", "--strict-rules", "--rules", rules, check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        _, eve, _ = t.offline(KEYWORDS, self.tmp, "--rules", rules)
        got = t.alert_counts(eve)
        for i, (body, want) in enumerate(cases):
            self.assertEqual(got.get(300 + i, 0), sum(1 for r in reqs if want(r)), body)
            # Every rule here matches some request and misses another.
            self.assertTrue(0 < got.get(300 + i, 0) < len(reqs), body)


if __name__ == "__main__":
    unittest.main()
