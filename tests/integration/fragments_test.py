#!/usr/bin/env python3
"""IP fragments: dropped and counted by default (never forwarded uninspected); with
`fragments: reassemble` (offline and monitor mode) DPDK's ip_frag library rebuilds the
datagrams before inspection, IPv4 and IPv6."""
import json
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

MAC = bytes.fromhex("020000000002020000000001")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_fragments(src, dst, proto, payload, size, ident):
    out = []
    for off in range(0, len(payload), size):
        chunk = payload[off:off + size]
        more = 0x2000 if off + size < len(payload) else 0
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident, more | (off // 8), 64, proto, 0,
                          bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        out.append(MAC + b"\x08\x00" + hdr + chunk)
    return out


def ipv6_fragments(src, dst, proto, payload, size, ident):
    import ipaddress
    out = []
    for off in range(0, len(payload), size):
        chunk = payload[off:off + size]
        more = 1 if off + size < len(payload) else 0
        frag = struct.pack("!BBHI", proto, 0, off | more, ident)
        hdr = struct.pack("!IHBB16s16s", 0x60000000, len(frag) + len(chunk), 44, 64,
                          ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
        out.append(MAC + b"\x86\xdd" + hdr + frag + chunk)
    return out


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, seq, flags, data):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + data


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000, i * 1000, len(fr), len(fr)))
            f.write(fr)


class Fragments(t.TempDirTest):
    def setUp(self):
        super().setUp()
        self.body = bytes(range(256)) * 16  # 4096 bytes
        frames = []
        frames += ipv4_fragments("10.9.0.1", "10.9.0.2", 17, udp(5000, 53, self.body), 1480, 7)        # 3
        frames += ipv6_fragments("2001:db8::1", "2001:db8::2", 17, udp(5001, 53, self.body), 1448, 9)  # 3
        frames.append(MAC + b"\x08\x00" + ipv4_fragments("10.9.0.1", "10.9.0.2", 6, tcp(40000, 80, 99, 0x02, b""), 1480, 10)[0][14:])
        request = b"GET /fragmented HTTP/1.1\r\n" + b"X-Pad: " + b"p" * 3000 + b"\r\n\r\n"
        frames += ipv4_fragments("10.9.0.1", "10.9.0.2", 6, tcp(40000, 80, 100, 0x18, request), 1480, 11)  # 3
        self.request = request
        self.n_frag = 3 + 3 + 3
        self.pcap = os.path.join(self.tmp, "frag.pcap")
        write_pcap(self.pcap, frames)

    def test_dropped_and_counted_by_default(self):
        s, eve, paths = t.offline(self.pcap, self.tmp)
        self.assertEqual(s["engine"]["dropped_fragment"], self.n_frag)
        self.assertEqual(len(t.read_frames(paths["out"])), 1)  # only the unfragmented SYN
        self.assertFalse([r for r in eve if r["event_type"] == "flow" and r["proto"] == "UDP"])

    def test_reassembled_before_inspection(self):
        cfg = os.path.join(self.tmp, "frag.yaml")
        with open(cfg, "w") as f:
            f.write("fragments: reassemble\n")
        s, eve, _ = t.offline(self.pcap, self.tmp, "--config", cfg)
        io = s["lcores"][0]["counters"]
        self.assertEqual(io["fragments_in"], self.n_frag)
        self.assertEqual(io["fragments_reassembled"], 3)
        self.assertEqual(s["engine"]["dropped_fragment"], 0)
        udp_flows = [r for r in eve if r["event_type"] == "flow" and r["proto"] == "UDP"]
        self.assertEqual(len(udp_flows), 2)
        self.assertTrue(all(r["flow"]["pkts_toserver"] == 1 for r in udp_flows))
        d = os.path.join(self.tmp, "streams")
        files = t.dump_streams(self.pcap, d, "--config", cfg)
        c2s = [v for k, v in files.items() if k.endswith(".c2s")]
        self.assertEqual(c2s, [self.request])
        tcp_flow = next(r for r in eve if r["event_type"] == "flow" and r["proto"] == "TCP")
        self.assertEqual(tcp_flow["app_proto"], "http")

    def test_reassembly_refused_inline(self):
        cfg = os.path.join(self.tmp, "bad.yaml")
        with open(cfg, "w") as f:
            f.write("fragments: reassemble\n")
        p = t.dataplane("--config", cfg, "--port", "a=net_null0", "--port", "b=net_null1", "--inline", "a:b",
                        check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("fragments: reassemble", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
