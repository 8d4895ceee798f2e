#!/usr/bin/env python3
"""TLS rule keywords on real handshakes (tests/data/make-tls-server-captures.sh: openssl
s_server with a CA-signed chain, TLS 1.1, 1.2 with and without a ServerKeyExchange, 1.3, and
resumed sessions; plus the other TLS captures): ja3.string, ja3s.hash, ja3s.string,
tls.cert_subject/issuer/serial/fingerprint, tls.version, ssl_version and ssl_state. Each rule's
alert count must equal what the oracle says of the same sessions: tshark's dissection of the
hellos and certificates, with the certificate fields computed here by Python's ssl module
and hashlib from the DER tshark extracts."""
import glob
import hashlib
import json
import os
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

SERVER = sorted(glob.glob(os.path.join(t.DATA, "tls", "server", "*.pcap")))
OTHERS = [p for p, _ in t.tls_captures()]
# Python's attribute names, as OpenSSL's short names (what sluice prints).
SHORT = {"countryName": "C", "stateOrProvinceName": "ST", "localityName": "L",
         "organizationName": "O", "organizationalUnitName": "OU", "commonName": "CN"}


def cert_fields(der, tmp):
    """Subject, issuer, serial and fingerprint in Suricata's forms, by Python's ssl module."""
    path = os.path.join(tmp, "leaf.pem")
    with open(path, "w") as f:
        f.write(ssl.DER_cert_to_PEM_cert(der))
    c = ssl._ssl._test_decode_cert(path)
    name = lambda rdns: ", ".join(f"{SHORT[k]}={v}" for rdn in rdns for k, v in rdn)  # noqa: E731
    n = int(c["serialNumber"], 16)
    serial = n.to_bytes(n.bit_length() // 8 + 1, "big")  # DER: a leading 00 when the top bit is set
    return {"subject": name(c["subject"]), "issuer": name(c["issuer"]),
            "serial": ":".join(f"{b:02X}" for b in serial),
            "fingerprint": ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())}


def sessions(pcap, tmp):
    """Per TCP stream: the client's JA3 strings (one per ClientHello) and the server's hello
    (JA3S, negotiated version), whether it sent a ServerKeyExchange, and its leaf
    certificate's fields (None when it sent none)."""
    cmd = ["tshark", "-r", pcap, "-Y", "tls.handshake", "-T", "json", "-e", "tcp.stream",
           "-e", "tls.handshake.type", "-e", "tls.handshake.ja3_full", "-e",
           "tls.handshake.ja3s", "-e", "tls.handshake.ja3s_full", "-e", "tls.handshake.version",
           "-e", "tls.handshake.extensions.supported_version", "-e", "tls.handshake.certificate"]
    out = {}
    for pkt in json.loads(t.run(cmd).stdout):
        f = pkt["_source"]["layers"]
        s = out.setdefault(f["tcp.stream"][0], {"ja3": [], "server": None, "keyx": False,
                                                 "cert": None})
        types = f.get("tls.handshake.type", [])
        s["ja3"] += f.get("tls.handshake.ja3_full", [])
        if "2" in types and s["server"] is None:
            hello_versions = f.get("tls.handshake.version", [])
            v = int((f.get("tls.handshake.extensions.supported_version") or hello_versions)[-1], 16)
            s["server"] = {"ja3s": f["tls.handshake.ja3s"][0],
                           "ja3s_full": f["tls.handshake.ja3s_full"][0], "version": v}
        if "12" in types:
            s["keyx"] = True
        if "11" in types and f.get("tls.handshake.certificate"):
            s["cert"] = cert_fields(bytes.fromhex(f["tls.handshake.certificate"][0]
                                                  .replace(":", "")), tmp)
    return list(out.values())


class TlsKeywords(t.TempDirTest):
    def test_against_tshark(self):
        self.assertEqual(len(SERVER), 5)
        all_sessions = {p: sessions(p, self.tmp) for p in SERVER + OTHERS}
        # The oracle sees what the keywords need: certificates, key exchanges, four versions.
        flat = [s for v in all_sessions.values() for s in v]
        self.assertGreaterEqual(sum(1 for s in flat if s["cert"]), 6)
        self.assertEqual({s["server"]["version"] for s in flat if s["server"]},
                         {0x0302, 0x0303, 0x0304})
        api = next(s["cert"] for s in all_sessions[SERVER[1]] if s["cert"])  # tls12-ecdhe
        ecdhe_ja3s = next(s["server"]["ja3s"] for s in all_sessions[SERVER[1]] if s["server"])
        srv = lambda s: s["server"] or {}  # noqa: E731
        cert = lambda s, k: (s["cert"] or {}).get(k)  # noqa: E731
        cases = [
            (f'ja3s.hash; content:"{ecdhe_ja3s}";', lambda s: srv(s).get("ja3s") == ecdhe_ja3s),
            ('ja3s.string; content:"771,"; startswith; content:",65281"; distance:0;',
             lambda s: srv(s).get("ja3s_full", "").startswith("771,")
             and ",65281" in srv(s)["ja3s_full"][4:]),
            ('ja3.string; content:"771,"; startswith;', None),  # per ClientHello, below
            ('tls.cert_subject; content:"CN=api.example.test"; endswith;',
             lambda s: (cert(s, "subject") or "").endswith("CN=api.example.test")),
            (f'tls.cert_subject; content:"{api["subject"]}"; bsize:{len(api["subject"])};',
             lambda s: cert(s, "subject") == api["subject"]),
            ('tls.cert_issuer; content:"O=Sluice Test CA";',
             lambda s: "O=Sluice Test CA" in (cert(s, "issuer") or "")),
            ('tls.cert_serial; content:"00:9F:1E"; startswith;',
             lambda s: (cert(s, "serial") or "").startswith("00:9F:1E")),
            (f'tls.cert_serial; content:"{api["serial"]}"; bsize:{len(api["serial"])};',
             lambda s: cert(s, "serial") == api["serial"]),
            (f'tls.cert_fingerprint; content:"{api["fingerprint"]}";',
             lambda s: cert(s, "fingerprint") == api["fingerprint"]),
            ('tls.cert_subject; content:"example.test"; tls.version:1.2;',
             lambda s: "example.test" in (cert(s, "subject") or "") and
             srv(s).get("version") == 0x0303),
            ("tls.version:1.1;", lambda s: srv(s).get("version") == 0x0302),
            ("tls.version:1.3;", lambda s: srv(s).get("version") == 0x0304),
            ("tls.version:0x0303;", lambda s: srv(s).get("version") == 0x0303),
            ("ssl_version:tls1.1,tls1.3;", lambda s: srv(s).get("version") in (0x0302, 0x0304)),
            ("ssl_version:!tls1.2;", lambda s: srv(s).get("version") in (0x0302, 0x0304)),
            ("ssl_state:server_keyx;", lambda s: bool(s["server"]) and s["keyx"]),
            ("ssl_state:server_hello|client_hello; tls.version:1.2;",
             lambda s: srv(s).get("version") == 0x0303),
        ]
        rules = os.path.join(self.tmp, "tls.rules")
        with open(rules, "w") as f:
            for i, (body, _) in enumerate(cases):
                f.write(f'alert tls any any -> any any (msg:"t{i}"; {body} sid:{500 + i};)\n')
            f.write('alert tls any any -> any any (msg:"hello"; ssl_state:client_hello; '
                    'sid:600;)\n')
        check = t.dataplane("--check-rules", "--strict-rules", "--rules", rules, check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        totals = {}
        for pcap, ses in all_sessions.items():
            _, eve, _ = t.offline(pcap, self.tmp, "--rules", rules)
            got = t.alert_counts(eve)
            for i, (body, want) in enumerate(cases):
                if want is None:
                    expected = sum(1 for s in ses for j in s["ja3"] if j.startswith("771,"))
                else:
                    expected = sum(1 for s in ses if want(s))
                with self.subTest(pcap=os.path.basename(pcap), rule=body):
                    self.assertEqual(got.get(500 + i, 0), expected)
                totals[i] = totals.get(i, 0) + expected
            with self.subTest(pcap=os.path.basename(pcap), rule="ssl_state:client_hello"):
                self.assertEqual(got.get(600, 0), sum(len(s["ja3"]) for s in ses))
            # Server-side alerts name the server's facts.
            for r in eve:
                if r["event_type"] == "alert" and r["alert"]["signature_id"] == 503:
                    self.assertEqual(r["tls"]["subject"], api["subject"])
                    self.assertEqual(r["direction"], "to_client")
        # Every rule matches some session and misses another.
        sessions_total = sum(1 for s in flat if s["server"])
        for i, (body, _) in enumerate(cases):
            self.assertTrue(0 < totals[i] < sessions_total + 2, (body, totals[i]))


if __name__ == "__main__":
    unittest.main()
