#!/usr/bin/env python3
"""Packet rules against an independent oracle: `alert ip`, `alert tcp-pkt` and tcp rules with
header keywords (ttl, id, fragbits, ipopts, flags, window, seq, ack, tcp.mss, dsize, sameip,
ipv4.hdr, ipv6.hdr, tcp.hdr, udp.hdr, payload contents), in the Suricata and the Snort 3 dialect, are evaluated on every
packet. The expected alert count of every rule is computed here from tshark's dissection of
each packet (its own IP and TCP fields) over a crafted capture (IP options, the reserved bit,
ECN SYNs, resets, UDP) and captures of real stacks (HTTP over IPv4 and IPv6, TLS 1.3, QUIC),
and must equal sluice's count of `alert` records per signature."""
import collections
import json
import os
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402


# --- a capture of our own: IPv4 options, flag combinations, UDP --------------------------------
def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def _addr(a):
    return bytes(map(int, a.split(".")))


def _ip4(src, dst, proto, payload, ttl, ident, flags, opts=b""):
    ihl = 5 + len(opts) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + len(payload), ident, flags << 13, ttl, proto,
                    0, _addr(src), _addr(dst)) + opts
    return h[:10] + struct.pack("!H", _csum(h)) + h[12:] + payload


def _tcp(src, dst, sport, dport, seq, ack, flags, window, data=b"", topts=b""):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(topts) // 4) << 4, flags, window, 0, 0) + topts
    c = _csum(_addr(src) + _addr(dst) + struct.pack("!BBH", 0, 6, len(h) + len(data)) + h + data)
    return h[:16] + struct.pack("!H", c) + h[18:] + data


def _udp(src, dst, sport, dport, data):
    h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    c = _csum(_addr(src) + _addr(dst) + struct.pack("!BBH", 0, 17, 8 + len(data)) + h + data) or 0xffff
    return h[:6] + struct.pack("!H", c) + data


def _icmp(itype, code, rest):
    h = struct.pack("!BBH", itype, code, 0) + rest
    return h[:2] + struct.pack("!H", _csum(h)) + h[4:]


def write_crafted(path):
    rr = bytes([7, 7, 4, 0, 0, 0, 0, 0])  # record route with one slot, then end of options
    ts = bytes([68, 8, 5, 0, 0, 0, 0, 0])  # timestamp with one slot
    nops = bytes([1, 1, 1, 0])
    mss = lambda v: struct.pack("!BBH", 2, 4, v)  # noqa: E731
    c, s = "10.0.0.1", "10.0.0.2"
    req = b"GET /v1/models HTTP/1.1\r\nHost: api\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    a, b = 1000, 5000
    pkts = [
        _ip4(c, s, 6, _tcp(c, s, 40000, 80, a, 0, 0x02, 64240, topts=mss(1460)), 64, 100, 2, rr),
        _ip4(s, c, 6, _tcp(s, c, 80, 40000, b, a + 1, 0x12, 65160, topts=mss(1400)), 50, 0, 2, ts),
        _ip4(c, s, 6, _tcp(c, s, 40000, 80, a + 1, b + 1, 0x10, 502), 64, 101, 2),
        _ip4(c, s, 6, _tcp(c, s, 40000, 80, a + 1, b + 1, 0x18, 502, req), 64, 102, 2, nops),
        _ip4(s, c, 6, _tcp(s, c, 80, 40000, b + 1, a + 1 + len(req), 0x10, 509), 50, 1, 0),
        _ip4(s, c, 6, _tcp(s, c, 80, 40000, b + 1, a + 1 + len(req), 0x18, 509, resp), 50, 2, 4),  # reserved bit
        _ip4(c, s, 6, _tcp(c, s, 40000, 80, a + 1 + len(req), b + 1 + len(resp), 0x11, 502), 64, 103, 2),
        _ip4(s, c, 6, _tcp(s, c, 80, 40000, b + 1 + len(resp), a + 2 + len(req), 0x11, 509), 50, 3, 0),
        _ip4(c, s, 6, _tcp(c, s, 40000, 80, a + 2 + len(req), b + 2 + len(resp), 0x10, 502), 64, 104, 2),
        _ip4(c, s, 6, _tcp(c, s, 40001, 443, 7000, 0, 0xc2, 29200, topts=mss(1360)), 128, 200, 2),  # ECN SYN
        _ip4(s, c, 6, _tcp(s, c, 443, 40001, 0, 7001, 0x14, 0), 60, 0, 2),
        _ip4(c, s, 17, _udp(c, s, 5353, 53, b"\x12\x34" + b"\0" * 30), 32, 300, 0, nops),
        _ip4(s, c, 17, _udp(s, c, 53, 5353, b"\x12\x34\x81\x80" + b"\0" * 200), 255, 301, 2, ts),
        _ip4("10.0.0.3", "10.0.0.3", 17, _udp("10.0.0.3", "10.0.0.3", 7, 7, b"land"), 64, 302, 2),  # sameip
        _ip4(c, s, 1, _icmp(8, 0, struct.pack("!HH", 0x1234, 7) + b"ping-data"), 64, 400, 2),
        _ip4(s, c, 1, _icmp(0, 0, struct.pack("!HH", 0x1234, 7) + b"ping-data"), 60, 401, 0),
        # Port unreachable, quoting the datagram's IPv4 header and first 8 bytes.
        _ip4(s, c, 1, _icmp(3, 3, b"\0" * 4 + _ip4(c, s, 17, _udp(c, s, 5353, 53, b"x" * 8), 32, 300, 0)[:28]),
             255, 402, 0),
    ]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        for i, p in enumerate(pkts):
            frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + p
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame)


# --- tshark's view of each packet -----------------------------------------------------------------
FIELDS = ["ip.version", "ip.ttl", "ipv6.hlim", "ip.id", "ip.flags.rb", "ip.flags.df", "ip.flags.mf",
          "ip.opt.type", "tcp.flags", "tcp.window_size_value", "tcp.seq_raw", "tcp.ack_raw", "tcp.len",
          "udp.length", "tcp.options.mss_val", "tcp.hdr_len", "tcp.payload", "udp.payload", "icmp.type",
          "icmpv6.type", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ipv6.nxt", "udp.srcport",
          "icmp.code", "icmpv6.code", "icmp.ident", "icmp.seq", "icmpv6.echo.identifier",
          "icmpv6.echo.sequence_number", "ip.len", "ip.hdr_len", "ipv6.plen", "data.data",
          "tcp.stream", "tcp.nxtseq", "tcp.srcport", "tcp.dstport"]


def tshark_packets(pcap):
    out = t.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t", "-E", "aggregator=,",
                 *[x for f in FIELDS for x in ("-e", f)]]).stdout
    pkts = []
    # stream_size: per connection and side, the largest next sequence number so far (tshark's
    # relative numbers start at the SYN: nxtseq counts the SYN, the data and the FIN). The
    # client is the side that sent the SYN without ACK.
    used, client_port = {}, {}
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        tcp, udp = v["tcp.flags"] != "", v["udp.length"] != ""
        icmp = (v["icmp.type"] or v["icmpv6.type"]) != ""
        if not (tcp or udp or icmp):
            continue

        def num(k, base=10):
            return int(v[k].split(",")[0], base) if v[k] else None

        def flag(k):
            return v[k].split(",")[0] in ("1", "True")
        ipv4 = v["ip.version"].split(",")[0] == "4"
        sizes = (None, None)
        if tcp:
            stream, sport = v["tcp.stream"], num("tcp.srcport")
            if num("tcp.flags", 16) & 0x12 == 0x02:
                client_port[stream] = sport
            side = 0 if client_port.get(stream, num("tcp.dstport")) == sport else 1
            key = (stream, side)
            used[key] = max(used.get(key, 0), num("tcp.nxtseq") or 0)
            sizes = (used.get((stream, 0), 0), used.get((stream, 1), 0))
        payload = bytes.fromhex((v["tcp.payload"] or v["udp.payload"]).replace(":", ""))
        if icmp:  # after the 8-byte ICMP header: tshark's data, or the quoted datagram's bytes
            size = (num("ip.len") - num("ip.hdr_len") if ipv4 else num("ipv6.plen")) - 8
            payload = bytes.fromhex(v["data.data"].split(",")[0].replace(":", ""))
            payload = payload if len(payload) == size else None
            dsize = size
        else:
            dsize = num("tcp.len") if tcp else num("udp.length") - 8
        pkts.append({
            "ipv4": ipv4, "tcp": tcp,
            "ttl": num("ip.ttl") if ipv4 else num("ipv6.hlim"),
            "id": num("ip.id", 16) if ipv4 else None,
            "frag": (4 if flag("ip.flags.rb") else 0) | (2 if flag("ip.flags.df") else 0) |
                    (1 if flag("ip.flags.mf") else 0) if ipv4 else 0,
            "opts": [int(x, 0) for x in v["ip.opt.type"].split(",") if x] if ipv4 else [],
            "flags": num("tcp.flags", 16), "window": num("tcp.window_size_value"),
            "seq": num("tcp.seq_raw"), "ack": num("tcp.ack_raw"), "mss": num("tcp.options.mss_val"),
            "hdr_len": num("tcp.hdr_len"),
            "dsize": dsize, "payload": payload, "udp": udp and not icmp, "icmp": icmp,
            "sizes": sizes,
            "itype": num("icmp.type") if ipv4 else num("icmpv6.type"),
            "icode": num("icmp.code") if ipv4 else num("icmpv6.code"),
            "icmp_id": num("icmp.ident") if ipv4 else num("icmpv6.echo.identifier", 16),
            "icmp_seq": num("icmp.seq") if ipv4 else num("icmpv6.echo.sequence_number"),
            "same_ip": (v["ip.src"] == v["ip.dst"]) if ipv4 else (v["ipv6.src"] == v["ipv6.dst"]),
            "v6_next": None if ipv4 else num("ipv6.nxt"), "udp_sport": num("udp.srcport") if udp else None,
        })
    return pkts


# Each rule: (sid, Suricata text, Snort 3 text or None, the oracle's predicate on one packet).
def flags_exact(bits, ignore=0):
    return lambda p: p["tcp"] and (p["flags"] & 0xff & ~ignore) == bits


RULES = [
    (1, "alert ip any any -> any any (ttl:<64; sid:1;)", "alert ip any any -> any any (ttl:<64; sid:1;)",
     lambda p: p["ttl"] < 64),
    (2, "alert ip any any -> any any (ttl:64; sid:2;)", "alert ip any any -> any any (ttl:64; sid:2;)",
     lambda p: p["ttl"] == 64),
    (3, "alert tcp-pkt any any -> any any (flags:S; sid:3;)", "alert tcp any any -> any any (flags:S; sid:3;)",
     flags_exact(0x02)),
    (4, "alert tcp-pkt any any -> any any (flags:SA; sid:4;)", "alert tcp any any -> any any (flags:SA; sid:4;)",
     flags_exact(0x12)),
    (5, "alert tcp-pkt any any -> any any (flags:A+; sid:5;)", "alert tcp any any -> any any (flags:+A; sid:5;)",
     lambda p: p["tcp"] and p["flags"] & 0x10 == 0x10),
    (6, "alert tcp-pkt any any -> any any (flags:*FR; sid:6;)", "alert tcp any any -> any any (flags:*FR; sid:6;)",
     lambda p: p["tcp"] and p["flags"] & 0x05 != 0),
    (7, "alert tcp-pkt any any -> any any (flags:!PA; sid:7;)", "alert tcp any any -> any any (flags:!PA; sid:7;)",
     lambda p: p["tcp"] and p["flags"] & 0x18 != 0x18),
    (8, "alert tcp-pkt any any -> any any (flags:S,CE; sid:8;)", "alert tcp any any -> any any (flags:S,CE; sid:8;)",
     flags_exact(0x02, 0xc0)),
    (9, "alert tcp any any -> any any (flags:A; dsize:0; sid:9;)", "alert tcp any any -> any any (flags:A; dsize:0; sid:9;)",
     lambda p: p["tcp"] and (p["flags"] & 0xff) == 0x10 and p["dsize"] == 0),
    (10, "alert tcp any any -> any any (dsize:>100; sid:10;)", "alert tcp any any -> any any (dsize:>100; sid:10;)",
     lambda p: p["tcp"] and p["dsize"] > 100),
    (11, "alert ip any any -> any any (dsize:30<>250; sid:11;)", "alert ip any any -> any any (dsize:30<>250; sid:11;)",
     lambda p: 30 < p["dsize"] < 250),
    (12, "alert tcp-pkt any any -> any any (window:502; sid:12;)", "alert tcp any any -> any any (window:502; sid:12;)",
     lambda p: p["tcp"] and p["window"] == 502),
    (13, "alert tcp-pkt any any -> any any (window:!502; flags:A+; sid:13;)", None,
     lambda p: p["tcp"] and p["window"] != 502 and p["flags"] & 0x10),
    (14, "alert tcp-pkt any any -> any any (seq:1000; sid:14;)", "alert tcp any any -> any any (seq:1000; sid:14;)",
     lambda p: p["tcp"] and p["seq"] == 1000),
    (15, "alert tcp-pkt any any -> any any (ack:5001; sid:15;)", "alert tcp any any -> any any (ack:5001; sid:15;)",
     lambda p: p["tcp"] and p["ack"] == 5001),
    (16, "alert ip any any -> any any (id:100; sid:16;)", "alert ip any any -> any any (id:100; sid:16;)",
     lambda p: p["ipv4"] and p["id"] == 100),
    (17, "alert tcp-pkt any any -> any any (tcp.mss:>=1400; sid:17;)", None,
     lambda p: p["tcp"] and p["mss"] is not None and p["mss"] >= 1400),
    (18, "alert ip any any -> any any (fragbits:D; sid:18;)", "alert ip any any -> any any (fragbits:D; sid:18;)",
     lambda p: p["ipv4"] and p["frag"] == 2),
    (19, "alert ip any any -> any any (fragbits:R+; sid:19;)", "alert ip any any -> any any (fragbits:+R; sid:19;)",
     lambda p: p["ipv4"] and p["frag"] & 4),
    (20, "alert ip any any -> any any (fragbits:!D; sid:20;)", "alert ip any any -> any any (fragbits:!D; sid:20;)",
     lambda p: p["ipv4"] and not p["frag"] & 2),
    (21, "alert ip any any -> any any (ipopts:rr; sid:21;)", "alert ip any any -> any any (ipopts:rr; sid:21;)",
     lambda p: 7 in p["opts"]),
    (22, "alert ip any any -> any any (ipopts:ts; sid:22;)", "alert ip any any -> any any (ipopts:ts; sid:22;)",
     lambda p: 68 in p["opts"]),
    (23, "alert ip any any -> any any (ipopts:nop; sid:23;)", "alert ip any any -> any any (ipopts:nop; sid:23;)",
     lambda p: 1 in p["opts"]),
    (24, "alert ip any any -> any any (ipopts:any; sid:24;)", "alert ip any any -> any any (ipopts:any; sid:24;)",
     lambda p: bool(p["opts"])),
    (25, "alert tcp-pkt any any -> any any (content:\"HTTP/1.1\"; sid:25;)", None,
     lambda p: p["tcp"] and b"HTTP/1.1" in p["payload"]),
    (26, "alert tcp any any -> any any (dsize:>0; content:\"GET \"; depth:4; sid:26;)",
     "alert tcp any any -> any any (dsize:>0; content:\"GET \", depth 4; sid:26;)",
     lambda p: p["tcp"] and p["payload"].startswith(b"GET ")),
    (27, "alert ip any any -> any any (ipv4.hdr; content:\"|40 00|\"; offset:6; depth:2; sid:27;)", None,
     lambda p: p["ipv4"] and p["frag"] == 2),  # DF alone, fragment offset 0
    (28, "alert tcp-pkt any any -> any any (tcp.hdr; content:\"|50 18|\"; offset:12; depth:2; sid:28;)", None,
     lambda p: p["tcp"] and p["hdr_len"] == 20 and (p["flags"] & 0xfff) == 0x018),
    (29, "alert tcp any any -> any any (sid:29;)", "alert tcp any any -> any any (sid:29;)",
     lambda p: p["tcp"]),  # header only: every TCP packet
    (30, "alert ip any any -> any any (sid:30;)", "alert ip any any -> any any (sid:30;)",
     lambda p: True),
    (31, "alert ip any any -> any any (ipv6.hdr; content:\"|06|\"; offset:6; depth:1; sid:31;)", None,
     lambda p: not p["ipv4"] and p["v6_next"] == 6),  # next header TCP, no extension header
    (32, "alert ip any any -> any any (udp.hdr; content:\"|00 35|\"; depth:2; sid:32;)", None,
     lambda p: p["udp_sport"] == 53),
    (33, "alert ip any any -> any any (sameip; sid:33;)", "alert ip any any -> any any (sameip; sid:33;)",
     lambda p: p["same_ip"]),
    (34, "alert icmp any any -> any any (itype:8; sid:34;)", "alert icmp any any -> any any (itype:8; sid:34;)",
     lambda p: p["icmp"] and p["itype"] == 8),
    (35, "alert icmp any any -> any any (itype:>2; icode:3; sid:35;)",
     "alert icmp any any -> any any (itype:>2; icode:3; sid:35;)",
     lambda p: p["icmp"] and p["itype"] > 2 and p["icode"] == 3),
    (36, "alert icmp any any -> any any (icmp_id:4660; icmp_seq:7; sid:36;)",
     "alert icmp any any -> any any (icmp_id:4660; icmp_seq:7; sid:36;)",
     lambda p: p["icmp"] and p["icmp_id"] == 4660 and p["icmp_seq"] == 7),
    (37, "alert icmp any any -> any any (content:\"ping\"; dsize:9; sid:37;)",
     "alert icmp any any -> any any (content:\"ping\"; dsize:9; sid:37;)",
     lambda p: p["icmp"] and p["dsize"] == 9 and b"ping" in (p["payload"] or b"")),
    (38, "alert udp any any -> any any (content:\"|12 34|\"; depth:2; sid:38;)",
     "alert udp any any -> any any (content:\"|12 34|\", depth 2; sid:38;)",
     lambda p: p["udp"] and p["payload"].startswith(b"\x12\x34")),
    (39, "alert udp any any -> any any (sid:39;)", "alert udp any any -> any any (sid:39;)",
     lambda p: p["udp"]),
    (40, "alert ip any any -> any any (icmp_id:4660; sid:40;)", None,
     lambda p: p["icmp"] and p["icmp_id"] == 4660),
    (41, "alert tcp any any -> any any (stream_size:client,>,30; sid:41;)",
     "alert tcp any any -> any any (stream_size:to_server,>,30; sid:41;)",
     lambda p: p["tcp"] and p["sizes"][0] > 30),
    (42, "alert tcp any any -> any any (stream_size:either,=,1; sid:42;)",
     "alert tcp any any -> any any (stream_size:either,=,1; sid:42;)",
     lambda p: p["tcp"] and 1 in p["sizes"]),
    (43, "alert tcp any any -> any any (stream_size:both,>=,2; flags:A+; sid:43;)",
     "alert tcp any any -> any any (stream_size:both,>=,2; flags:+A; sid:43;)",
     lambda p: p["tcp"] and min(p["sizes"]) >= 2 and p["flags"] & 0x10),
    (44, "alert tcp any any -> any any (stream_size:server,<,2; sid:44;)", None,
     lambda p: p["tcp"] and p["sizes"][1] < 2),
]


class PacketRules(t.TempDirTest):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._dir = tempfile.TemporaryDirectory(prefix="sluice-pkt-")
        cls.crafted = os.path.join(cls._dir.name, "crafted.pcap")
        write_crafted(cls.crafted)
        cls.captures = [cls.crafted] + [os.path.join(t.DATA, p) for p in (
            "http-get.pcap", "http-ipv6.pcap", "tls/tls13-aes128gcm.pcap", "quic/quic-v1-ngtcp2.pcap")]

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    def alerts(self, pcap, rules_text, name):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(rules_text)
        work = os.path.join(self.tmp, name + ".d")
        os.makedirs(work, exist_ok=True)
        s, records, _ = t.offline(pcap, work, "--rules", path, "--no-accounts")
        self.assertEqual(s["engine"]["rules"]["skipped"], 0)
        return collections.Counter(r["alert"]["signature_id"] for r in records if r["event_type"] == "alert")

    def check_dialect(self, index, header):
        rules = [(sid, r[index], r[3]) for r in RULES for sid in [r[0]] if r[index] is not None]
        text = header + "".join(text + "\n" for _, text, _ in rules)
        totals = collections.Counter()
        for pcap in self.captures:
            pkts = tshark_packets(pcap)
            self.assertTrue(pkts, pcap)
            want = collections.Counter({sid: sum(1 for p in pkts if pred(p)) for sid, _, pred in rules})
            got = self.alerts(pcap, text, f"d{index}-{os.path.basename(pcap)}.rules")
            for sid, _, _ in rules:
                self.assertEqual(got[sid], want[sid], (os.path.basename(pcap), sid,
                                                       [r[index] for r in RULES if r[0] == sid][0]))
            totals.update(want)
        # Every rule matched something somewhere: no check passes by matching nothing.
        self.assertEqual([sid for sid, _, _ in rules if totals[sid] == 0], [])

    def test_suricata_dialect(self):
        self.check_dialect(1, "")

    def test_snort3_dialect(self):
        self.check_dialect(2, "# sluice-dialect: snort3\n")

    def test_crafted_capture_is_what_tshark_sees(self):
        pkts = tshark_packets(self.crafted)
        self.assertEqual(len(pkts), 17)
        self.assertEqual(sum(1 for p in pkts if p["icmp"]), 3)
        self.assertEqual(sum(1 for p in pkts if p["opts"]), 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
