#!/usr/bin/env python3
"""sluice-rulegen: writes a large Suricata rule file in the shapes public rule sets use
(Emerging Threats style: HTTP checkins and user-agents, TLS SNI and certificate rules, JA3,
DNS queries, TCP and UDP payload rules with byte tests, flowbits pairs, pcres with legacy
buffer flags, thresholds, ET metadata, references and standard classtypes), so rule loading
can be measured and tested at the scale operators bring. Nothing here is tuned to what sluice
supports: the shapes and their proportions follow public rule sets, unsupported ones included.

Every rule is generated from a seeded RNG, one sid each; `--manifest` writes one JSON line per
rule (sid, shape, protocol, keywords) for tests that need to know what was generated.

  python3 tools/rulegen/public_rules.py --rules 30000 --seed 1 --out et-like.rules
"""
import argparse
import json
import random
import string

CLASSTYPES = ["trojan-activity", "policy-violation", "bad-unknown", "attempted-recon",
              "web-application-attack", "misc-activity", "command-and-control", "exploit-kit",
              "domain-c2", "coin-mining", "attempted-admin", "successful-recon-limited",
              "unknown", "not-suspicious", "social-engineering", "pup-activity",
              "external-ip-check", "credential-theft", "misc-attack", "shellcode-detect"]
CATEGORIES = ["MALWARE", "INFO", "POLICY", "EXPLOIT", "WEB_SPECIFIC_APPS", "PHISHING", "HUNTING",
              "TROJAN", "USER_AGENTS", "DNS", "MOBILE_MALWARE", "ATTACK_RESPONSE", "SCAN"]
TLDS = ["com", "net", "org", "ru", "top", "xyz", "info", "cn", "io", "site", "online", "club"]


def word(r, lo=4, hi=10):
    return "".join(r.choice(string.ascii_lowercase) for _ in range(r.randint(lo, hi)))


def domain(r):
    return ".".join(word(r) for _ in range(r.randint(1, 2))) + "." + r.choice(TLDS)


def hexbytes(r, n):
    return " ".join(f"{r.randrange(256):02X}" for _ in range(n))


def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace(";", "\\;")


def metadata(r):
    y, m, d = r.randint(2016, 2026), r.randint(1, 12), r.randint(1, 28)
    parts = [f"created_at {y}_{m:02d}_{d:02d}", f"deployment {r.choice(['Perimeter', 'Internal'])}",
             f"signature_severity {r.choice(['Major', 'Minor', 'Informational', 'Critical'])}",
             f"updated_at {y}_{m:02d}_{d:02d}"]
    if r.random() < 0.5:
        parts.insert(0, f"affected_product {r.choice(['Windows_XP_Vista_7_8_10_Server_32_64_Bit', 'Linux', 'Android', 'Any'])}")
    if r.random() < 0.5:
        parts.insert(1, f"attack_target {r.choice(['Client_Endpoint', 'Server', 'Web_Server'])}")
    return "metadata:" + ", ".join(parts) + ";"


# Each shape returns (protocol, header addresses, option text, keywords used).
def http_checkin(r):
    path = "/" + word(r) + r.choice([".php", ".asp", "/", ".jsp", ".aspx", ""])
    kw = ["http.method", "http.uri"]
    o = 'flow:established,to_server; http.method; content:"POST"; http.uri; content:"%s"; ' % esc(path)
    if r.random() < 0.4:
        o += "endswith; "
        kw.append("endswith")
    elif r.random() < 0.3:
        o += "depth:%d; " % len(path)
    if r.random() < 0.5:
        ua = "Mozilla/" + r.choice(["4.0", "5.0"]) + " (" + word(r) + ")"
        o += 'http.user_agent; content:"%s"; ' % esc(ua)
        kw.append("http.user_agent")
        if r.random() < 0.3:
            o += "bsize:%d; " % len(ua)
            kw.append("bsize")
    if r.random() < 0.35:
        o += 'http.header_names; content:!"Referer"; '
        kw.append("http.header_names")
    if r.random() < 0.3:
        o += 'http.request_body; content:"%s="; depth:%d; ' % (word(r), 12)
        kw.append("http.request_body")
    return "http", "$HOME_NET any -> $EXTERNAL_NET any", o, kw


def http_user_agent(r):
    ua = r.choice(["Mozilla/5.0 ", "", "Go-http-client/", "python-requests/", "curl/"]) + word(r, 3, 12)
    o = 'flow:established,to_server; http.user_agent; content:"%s"; ' % esc(ua)
    kw = ["http.user_agent"]
    roll = r.random()
    if roll < 0.35:
        o += "startswith; "
        kw.append("startswith")
    elif roll < 0.55:
        o += "depth:%d; " % len(ua)
    elif roll < 0.7:
        o += "bsize:%d; " % len(ua)
        kw.append("bsize")
    if r.random() < 0.2:
        o += "fast_pattern; "
    if r.random() < 0.3:
        o += "threshold:type limit, track by_src, count 1, seconds %d; " % r.choice([60, 300, 3600])
        kw.append("threshold")
    return "http", "$HOME_NET any -> $EXTERNAL_NET any", o, kw


def http_legacy(r):
    # Older ET style: content with http_* modifiers and pcre with buffer flags.
    seg = "/" + word(r, 3, 8)
    o = 'flow:established,to_server; content:"%s"; http_uri; ' % esc(seg)
    kw = ["http_uri"]
    if r.random() < 0.5:
        o += 'content:"%s"; nocase; http_header; ' % esc("Host|3a 20|" + word(r))
        kw.append("http_header")
    if r.random() < 0.6:
        flag = r.choice(["U", "U", "U", "H", "P", "I", "C"])
        o += 'pcre:"/\\/%s\\/[a-z0-9]{%d,%d}\\.(?:php|jpg|gif)$/%s"; ' % (word(r, 3, 6), 4, 16, flag)
        kw.append("pcre/" + flag)
    return "tcp", "$HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS", o, kw


def http_host(r):
    d = domain(r)
    roll = r.random()
    kw = ["http.host"]
    if roll < 0.5:
        o = 'flow:established,to_server; http.host; content:"%s"; bsize:%d; fast_pattern; ' % (d, len(d))
        kw.append("bsize")
    elif roll < 0.8:
        o = 'flow:established,to_server; http.host; dotprefix; content:".%s"; endswith; ' % d
        kw += ["dotprefix", "endswith"]
    else:
        o = 'flow:established,to_server; http.host; content:"%s"; nocase; ' % d
    return "http", "$HOME_NET any -> $EXTERNAL_NET any", o, kw


def http_response(r):
    kw = ["http.stat_code", "file.data"]
    o = 'flow:established,to_client; http.stat_code; content:"200"; file.data; content:"%s"; ' % esc(
        r.choice(["<html", "MZ", "PK|03 04|", "{\"cmd\":", "eval("]) + word(r, 2, 5))
    if r.random() < 0.4:
        o += "depth:%d; " % r.randint(16, 64)
    if r.random() < 0.3:
        o += 'content:"%s"; distance:0; ' % esc(word(r))
    return "http", "$EXTERNAL_NET any -> $HOME_NET any", o, kw


def tls_sni(r):
    d = domain(r)
    kw = ["tls.sni"]
    if r.random() < 0.6:
        o = 'flow:established,to_server; tls.sni; content:"%s"; bsize:%d; fast_pattern; ' % (d, len(d))
        kw.append("bsize")
    else:
        o = 'flow:established,to_server; tls.sni; dotprefix; content:".%s"; endswith; fast_pattern; ' % d
        kw += ["dotprefix", "endswith"]
    return "tls", "$HOME_NET any -> $EXTERNAL_NET any", o, kw


def tls_cert(r):
    field = r.choice(["tls.cert_subject", "tls.cert_issuer", "tls.cert_serial", "tls.cert_fingerprint"])
    val = {"tls.cert_subject": "CN=" + domain(r), "tls.cert_issuer": "O=" + word(r).capitalize(),
           "tls.cert_serial": ":".join(f"{r.randrange(256):02X}" for _ in range(8)),
           "tls.cert_fingerprint": ":".join(f"{r.randrange(256):02x}" for _ in range(20))}[field]
    o = 'flow:established,to_client; %s; content:"%s"; ' % (field, val)
    if r.random() < 0.3:
        o += "tls.version:1.2; "
        return "tls", "$EXTERNAL_NET 443 -> $HOME_NET any", o, [field, "tls.version"]
    return "tls", "$EXTERNAL_NET 443 -> $HOME_NET any", o, [field]


def ja3(r):
    h = "".join(r.choice("0123456789abcdef") for _ in range(32))
    if r.random() < 0.2:
        return "tls", "$EXTERNAL_NET any -> $HOME_NET any", 'ja3s.hash; content:"%s"; ' % h, ["ja3s.hash"]
    return "tls", "$HOME_NET any -> $EXTERNAL_NET any", 'ja3.hash; content:"%s"; ' % h, ["ja3.hash"]


def dns_query(r):
    d = domain(r)
    if r.random() < 0.6:
        o = 'dns.query; dotprefix; content:".%s"; nocase; endswith; ' % d
        kw = ["dns.query", "dotprefix", "endswith"]
    else:
        o = 'dns.query; content:"%s"; nocase; bsize:%d; ' % (d, len(d))
        kw = ["dns.query", "bsize"]
    return "dns", "$HOME_NET any -> any any", o, kw


def tcp_payload(r):
    port = r.choice(["445", "139", "3389", "$HTTP_PORTS", "any", "[1024:]", "21", "25"])
    o = 'flow:established,to_server; content:"|%s|"; offset:%d; depth:%d; ' % (
        hexbytes(r, 4), r.choice([0, 2, 4]), 4 + r.choice([0, 2, 4]))
    kw = []
    if r.random() < 0.5:
        o += "byte_test:%d,%s,%d,%d,relative; " % (r.choice([1, 2, 4]), r.choice([">", "<", "&", "="]),
                                                   r.randint(1, 4096), r.randint(0, 8))
        kw.append("byte_test")
    if r.random() < 0.3:
        o += 'content:"%s"; distance:%d; within:%d; ' % (esc(word(r)), r.randint(0, 8), 40)
    if r.random() < 0.2:
        o += "isdataat:%d,relative; " % r.randint(10, 200)
        kw.append("isdataat")
    if r.random() < 0.25:
        o += "dsize:>%d; " % r.randint(10, 500)
        kw.append("dsize")
    return "tcp", "$EXTERNAL_NET any -> $HOME_NET " + port, o, kw


def udp_payload(r):
    o = 'content:"|%s|"; depth:%d; ' % (hexbytes(r, 3), 3 + r.randint(0, 4))
    return "udp", "$HOME_NET any -> $EXTERNAL_NET %d" % r.choice([53, 123, 1900, 5060, 11211]), o, []


def icmp(r):
    return "icmp", "$EXTERNAL_NET any -> $HOME_NET any", "itype:8; icode:0; dsize:>800; ", ["itype", "icode", "dsize"]


def flowbits_pair(r, sid):
    # Two rules: the first sets a bit and stays silent, the second alerts on its follow-up.
    bit = "ET." + word(r, 5, 12)
    a = ('flow:established,to_server; http.uri; content:"/%s"; flowbits:set,%s; flowbits:noalert; '
         % (word(r), bit))
    b = ('flow:established,to_client; flowbits:isset,%s; file.data; content:"%s"; '
         % (bit, esc(word(r))))
    return [("http", "$HOME_NET any -> $EXTERNAL_NET any", a, ["http.uri", "flowbits"]),
            ("http", "$EXTERNAL_NET any -> $HOME_NET any", b, ["flowbits", "file.data"])]


def llm_api(r):
    # A minority in public sets today, sluice's own domain: prompts and models.
    o = 'flow:established,to_server; http.method; content:"POST"; http.uri; content:"/v1/"; startswith; '
    o += 'http.request_body; content:"%s"; nocase; ' % esc(r.choice(["system prompt", "ignore previous", "reasoning", "chain of thought"]))
    return "http", "$HOME_NET any -> $EXTERNAL_NET any", o, ["http.method", "http.uri", "startswith", "http.request_body"]


# (weight, shape); weights follow the mix of an ET Open snapshot: HTTP and DNS/TLS domain rules
# dominate, payload rules with byte tests and non-TCP protocols are a steady minority.
SHAPES = [(16, http_checkin), (10, http_user_agent), (9, http_legacy), (12, http_host),
          (6, http_response), (12, tls_sni), (4, tls_cert), (3, ja3), (14, dns_query),
          (6, tcp_payload), (3, udp_payload), (1, icmp), (3, "flowbits"), (1, llm_api)]


def generate(n, seed):
    r = random.Random(seed)
    shapes = [s for w, s in SHAPES for _ in range(w)]
    sid = 2_800_000
    out, manifest = [], []
    while len(out) < n:
        shape = r.choice(shapes)
        rules = flowbits_pair(r, sid) if shape == "flowbits" else [shape(r)]
        if len(out) + len(rules) > n:
            continue
        for proto, header, opts, kw in rules:
            sid += 1
            cat = r.choice(CATEGORIES)
            msg = "ET %s %s %s" % (cat, word(r).capitalize(), r.choice(["CnC Checkin", "Activity", "Observed", "Domain in DNS Lookup", "Request", "Response", "Download"]))
            action = "alert" if r.random() < 0.97 else "drop"
            ref = "reference:url,%s/%s; " % (domain(r), word(r)) if r.random() < 0.4 else ""
            text = '%s %s %s (msg:"%s"; %s%sclasstype:%s; sid:%d; rev:%d; %s)' % (
                action, proto, header, msg, opts, ref, r.choice(CLASSTYPES), sid, r.randint(1, 9),
                metadata(r))
            out.append(text)
            manifest.append({"sid": sid, "shape": (shape if isinstance(shape, str) else shape.__name__),
                             "proto": proto, "keywords": kw})
    return out, manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=int, default=30000, help="how many rules (default 30000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="the rule file to write")
    ap.add_argument("--manifest", help="also write one JSON line per rule here")
    a = ap.parse_args()
    if a.rules < 1:
        ap.error("--rules must be at least 1")
    rules, manifest = generate(a.rules, a.seed)
    with open(a.out, "w") as f:
        f.write("# Generated by tools/rulegen/public_rules.py --rules %d --seed %d\n" % (a.rules, a.seed))
        f.write("# sluice-dialect: suricata\n")
        f.write("\n".join(rules) + "\n")
    if a.manifest:
        with open(a.manifest, "w") as f:
            for m in manifest:
                f.write(json.dumps(m) + "\n")


if __name__ == "__main__":
    main()
