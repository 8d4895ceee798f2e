#!/usr/bin/env python3
"""A large rule set in the shapes public rule sets use (tools/rulegen/public_rules.py, 30,000
rules) loads rule by rule: every rule either loads or is reported skipped with the keyword it
lacks; the generator's manifest is the oracle for which rules use what. A rule whose keywords
and protocol are all in docs/rules.md's supported table must load; a skipped rule must use
the thing its report names. Then the set runs over a real capture."""
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

GEN = os.path.join(t.SOURCE, "tools/rulegen/public_rules.py")
LLM = os.path.join(t.DATA, "llm", "llm-api.pcap")
N = 30000

# What docs/rules.md says sluice supports, in the generator's vocabulary (keywords as the
# manifest names them, "pcre/X" for a pcre buffer flag).
SUPPORTED_PROTOCOLS = {"tcp", "http", "tls", "udp", "icmp"}
SUPPORTED_KEYWORDS = {
    "http.method", "http.uri", "http.user_agent", "http.host", "http.request_body",
    "http.stat_code", "file.data", "http.header_names", "http_uri", "http_header",
    "tls.sni", "ja3.hash", "startswith", "endswith", "bsize", "isdataat", "threshold", "dotprefix", "flowbits", "byte_test",
    "dsize",  # a packet keyword: its tcp rule is evaluated per packet
    "tls.cert_subject", "tls.cert_issuer", "tls.cert_serial", "tls.cert_fingerprint",
    "tls.version", "ja3s.hash", "itype", "icode",
    "pcre/U", "pcre/H", "pcre/P", "pcre/C", "pcre/I",
}


class PublicShapedRuleSet(t.TempDirTest):
    def test_thirty_thousand_rules_load_rule_by_rule(self):
        rules = os.path.join(self.tmp, "public.rules")
        manifest = os.path.join(self.tmp, "manifest.jsonl")
        t.run([sys.executable, GEN, "--rules", str(N), "--seed", "7", "--out", rules,
               "--manifest", manifest])
        with open(manifest) as f:
            gen = {m["sid"]: m for m in map(json.loads, f)}
        self.assertEqual(len(gen), N)

        p = t.dataplane("--check-rules", "--rules", rules, check=False)
        self.assertEqual(p.returncode, 1, p.stderr[-2000:])
        skipped = {}
        for m in re.finditer(r"^.*: skipped sid (\d+): (.*)$", p.stdout, re.M):
            skipped[int(m.group(1))] = m.group(2)
        loaded = int(re.search(r"^(\d+) rules OK", p.stdout, re.M).group(1))
        summary = re.search(r"^(\d+) rules skipped: (\d+) unsupported \((.*)\), (\d+) malformed$",
                            p.stdout, re.M)
        self.assertIsNotNone(summary, p.stdout[-2000:])
        self.assertEqual(int(summary.group(1)), len(skipped))
        self.assertEqual(loaded + len(skipped), N, "every rule loads or is reported")
        self.assertEqual(int(summary.group(4)), 0, "the generator writes well-formed rules")

        for sid, m in gen.items():
            needs = set(m["keywords"])
            supported = m["proto"] in SUPPORTED_PROTOCOLS and needs <= SUPPORTED_KEYWORDS
            if supported:
                self.assertNotIn(sid, skipped, (m, skipped.get(sid)))
                continue
            self.assertIn(sid, skipped, m)
            why = skipped[sid]
            # The report names something this rule uses and sluice does not have.
            missing = ({f"protocol '{m['proto']}'"} if m["proto"] not in SUPPORTED_PROTOCOLS
                       else set())
            missing |= {f"keyword '{k}'" for k in needs - SUPPORTED_KEYWORDS}
            missing |= {f"pcre flag '{k[5:]}'" for k in needs - SUPPORTED_KEYWORDS
                        if k.startswith("pcre/")}
            self.assertTrue(any(x in why for x in missing), (m, why))
        # Counts per keyword in the summary line add up to the unsupported total.
        counts = [int(c) for c in re.findall(r" (\d+)(?:,|$)", summary.group(3))]
        self.assertEqual(sum(counts), int(summary.group(2)))

        # Strict loading refuses the same set whole.
        strict = t.dataplane("--check-rules", "--strict-rules", "--rules", rules, check=False)
        self.assertEqual(strict.returncode, 2)

        # It runs: the loaded rules over a real capture, in the summary's counts.
        summary_json, _, _ = t.offline(LLM, self.tmp, "--rules", rules)
        self.assertEqual(summary_json["engine"]["rules"]["loaded"], loaded)
        self.assertEqual(summary_json["engine"]["rules"]["skipped"], len(skipped))


if __name__ == "__main__":
    unittest.main()
