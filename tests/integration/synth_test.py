#!/usr/bin/env python3
"""sluice-synth: the same seed gives the same bytes; tshark and the dataplane both read every
request of the ground truth (TLS decrypted with the key log, and plaintext); the dataplane's
alerts per connection are exactly what the truth expects; TCP and TLS are clean for tshark;
scenario files and bad arguments."""
import hashlib
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

SYNTH = os.path.join(t.BUILD, "tools/synth/sluice-synth")


def synth(out, *args, check=True):
    return t.run([SYNTH, "--out", out, "--quiet", *args], check=check)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def truth(out):
    with open(os.path.join(out, "truth.jsonl")) as f:
        return [json.loads(line) for line in f]


def tshark_requests(out, keylog=True):
    """(client address, port, path) of every request tshark decodes: HTTP/1.1 request lines,
    and the HTTP/2 request HEADERS frames (several may share a packet; h2c is decoded on
    port 80 too)."""
    args = ["tshark", "-r", os.path.join(out, "traffic.pcap"), "-d", "tcp.port==80,http", "-Y",
            "http.request || http2.type == 1", "-T", "json", "--no-duplicate-keys"]
    if keylog:
        args[3:3] = ["-o", "tls.keylog_file:" + os.path.join(out, "keylog.txt")]
    packets = json.loads(t.run(args).stdout or "[]")
    out_rows = []
    for pkt in packets:
        layers = pkt["_source"]["layers"]
        src = layers["ip"]["ip.src"]
        port = layers["tcp"]["tcp.srcport"]
        http = layers.get("http")
        if isinstance(http, dict) and "http.request.uri" in json.dumps(http):
            uri = next((v.get("http.request.uri") for v in http.values()
                        if isinstance(v, dict) and "http.request.uri" in v), "")
            out_rows.append((src, port, uri))
        for f in t.http2_frames(layers.get("http2")):
            if f["http2.type"] != "1":
                continue
            h = f.get("http2.header", [])
            h = h if isinstance(h, list) else [h]
            fields = {x.get("http2.header.name"): x.get("http2.header.value") for x in h}
            if ":method" in fields:
                out_rows.append((src, port, fields.get(":path", "")))
                H2_REQUEST_FIELDS.setdefault(out, []).append(fields)
    return out_rows


# The HTTP/2 request header lists tshark_requests saw, by output directory.
H2_REQUEST_FIELDS = {}


class Synth(t.TempDirTest):
    def out(self, name):
        return os.path.join(self.tmp, name)

    def test_same_seed_same_bytes(self):
        a, b, c = self.out("a"), self.out("b"), self.out("c")
        synth(a, "--scenario", "mixed", "--seed", "7", "--scale", "0.3")
        synth(b, "--scenario", "mixed", "--seed", "7", "--scale", "0.3")
        synth(c, "--scenario", "mixed", "--seed", "8", "--scale", "0.3")
        for f in ("traffic.pcap", "keylog.txt", "truth.jsonl"):
            self.assertEqual(digest(os.path.join(a, f)), digest(os.path.join(b, f)), f)
        self.assertNotEqual(digest(os.path.join(a, "traffic.pcap")),
                            digest(os.path.join(c, "traffic.pcap")))

    def check_scenario(self, scenario, *extra, plaintext=False):
        out = self.out(scenario + ("-plain" if plaintext else ""))
        synth(out, "--scenario", scenario, "--seed", "3", *extra, *(["--plaintext"] if plaintext else []))
        tr = truth(out)
        reqs = [r for r in tr if r["type"] == "request"]
        accounts = {r["account"]: r for r in tr if r["type"] == "account"}
        self.assertGreater(len(reqs), 10)
        for r in reqs:
            self.assertIn(r["account"], accounts)
        # tshark sees every request of the truth, on the right connection.
        seen = sorted((s, int(p)) for s, p, _ in tshark_requests(out, keylog=not plaintext))
        want = sorted((r["flow"]["src_ip"], r["flow"]["src_port"]) for r in reqs)
        self.assertEqual(seen, want)
        # Clean TCP and TLS for tshark: nothing malformed, no expert warnings.
        p = t.run(["tshark", "-r", os.path.join(out, "traffic.pcap"), "-o",
                   "tls.keylog_file:" + os.path.join(out, "keylog.txt"), "-Y",
                   "_ws.malformed || _ws.expert.severity >= warning || tcp.analysis.flags"])
        self.assertEqual(p.stdout.strip(), "")
        # The dataplane reads every request and raises exactly the expected alerts.
        extra_args = [] if plaintext else ["--keylog", os.path.join(out, "keylog.txt")]
        summary, eve, _ = t.offline(os.path.join(out, "traffic.pcap"), self.tmp, *extra_args, workers=2)
        http = [r for r in eve if r["event_type"] == "http"]
        self.assertEqual(sorted((h["src_ip"], h["src_port"]) for h in http), want)
        got, exp = {}, {}
        for a in (r for r in eve if r["event_type"] == "alert"):
            got.setdefault((a["src_ip"], a["src_port"]), set()).add(a["alert"]["signature_id"])
        for r in reqs:
            exp.setdefault((r["flow"]["src_ip"], r["flow"]["src_port"]), set()).update(r["expected_sids"])
        exp = {k: v for k, v in exp.items() if v}
        self.assertEqual(got, exp)
        if not plaintext:
            tls = [r for r in eve if r["event_type"] == "tls"]
            self.assertTrue(tls)
            self.assertTrue(all(r["tls"]["decrypted"] for r in tls))
            self.assertGreaterEqual(len({r["tls"]["ja4"] for r in tls}), 2)
            # Each transaction carries the JA4 of the TLS session it came in, and the truth's
            # TLS profile of the account gives the same JA4 for all its sessions.
            ja4_by_flow = {r["flow_id"]: r["tls"]["ja4"] for r in tls}
            profile = {r["account"]: r["tls_profile"] for r in tr if r["type"] == "account"}
            by_profile = {}
            for h in http:
                self.assertEqual(h["tls"]["ja4"], ja4_by_flow[h["flow_id"]])
                acct = next(r["account"] for r in reqs
                            if (r["flow"]["src_ip"], r["flow"]["src_port"]) == (h["src_ip"], h["src_port"]))
                by_profile.setdefault(profile[acct], set()).add(h["tls"]["ja4"])
            self.assertTrue(all(len(v) == 1 for v in by_profile.values()), by_profile)
        llm = [h for h in http if "llm" in h.get("sluice", {})]
        self.assertTrue(all("usage" in h["sluice"]["llm"] for h in llm))
        # Every request is accounted to the identity the truth says, with the truth's hint.
        ident, seen_ids = {}, {}
        for r in reqs:
            ident.setdefault((r["flow"]["src_ip"], r["flow"]["src_port"]), []).append(r["identity"])
        for h in http:
            seen_ids.setdefault((h["src_ip"], h["src_port"]), []).append(h["account"]["id"])
        self.assertEqual({k: sorted(v) for k, v in seen_ids.items()},
                         {k: sorted(v) for k, v in ident.items()})
        hints = {r["account"]: r["key_hint"] for r in tr if r["type"] == "account"}
        for h in http:
            if h["account"]["source"] != "email_domain":
                self.assertEqual(h["account"]["hint"], hints[h["account"]["id"]])
        # No credential of the traffic reaches any output of the run (read from the capture
        # itself: tshark decrypts the requests with the key log).
        fields = t.run(["tshark", "-r", os.path.join(out, "traffic.pcap"), "-o",
                        "tls.keylog_file:" + os.path.join(out, "keylog.txt"), "-Y", "http.request",
                        "-T", "fields", "-e", "http.request.line"]).stdout
        creds = set()
        for line in fields.replace("\\r\\n", ",").split(","):
            low = line.strip().lower()
            for prefix in ("x-api-key: ", "authorization: bearer ", "cookie: sessionkey="):
                if low.startswith(prefix):
                    creds.add(line.strip()[len(prefix):].strip())
        for fields in H2_REQUEST_FIELDS.get(out, []):  # the HTTP/2 requests' credentials
            for name, value in fields.items():
                low = f"{name}: {value}".lower()
                for prefix in ("x-api-key: ", "authorization: bearer ", "cookie: sessionkey="):
                    if low.startswith(prefix):
                        creds.add(f"{name}: {value}"[len(prefix):].strip())
        self.assertGreaterEqual(len(creds), 5)
        texts = []
        for name in ("eve.json", "summary.json", "out.pcap"):
            if name.endswith(".json"):
                with open(os.path.join(self.tmp, name)) as f:
                    texts.append(f.read())
        for c in creds:
            for text in texts:
                self.assertNotIn(c, text)
        return tr

    def test_quickstart_tls(self):
        self.check_scenario("quickstart")

    def test_mixed_tls(self):
        tr = self.check_scenario("mixed", "--scale", "0.25")
        classes = {r["class"] for r in tr if r["type"] == "account"}
        self.assertEqual(classes, {"benign", "office_nat", "ci_heavy", "traveller", "enterprise",
                                   "hydra", "reseller", "farm"})

    def test_plaintext(self):
        self.check_scenario("farm", "--scale", "0.3", plaintext=True)

    def test_scenario_file_and_errors(self):
        path = os.path.join(self.tmp, "s.yaml")
        with open(path, "w") as f:
            f.write("name: custom\nduration: 30\npopulations:\n"
                    "  - {class: hydra, accounts: 3, sessions_per_account: 2, ips: 2, timing: synchronized}\n"
                    "  - {class: benign, accounts: 2, profile: curl}\n")
        out = self.out("custom")
        synth(out, "--scenario", path)
        tr = truth(out)
        self.assertEqual(sum(1 for r in tr if r["type"] == "account" and r["class"] == "hydra"), 3)
        self.assertTrue(any(r.get("tls_profile") == "curl" for r in tr if r["type"] == "account"))
        with open(path, "w") as f:
            f.write("populations:\n  - {class: wizard}\n")
        p = synth(self.out("bad"), "--scenario", path, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{path}:2:", p.stderr)
        self.assertIn("unknown class 'wizard'", p.stderr)
        p = synth(self.out("bad2"), "--scenario", "nope", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown scenario", p.stderr)
        p = t.run([SYNTH, "--scenario", "quickstart"], check=False)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()
