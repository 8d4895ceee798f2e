#!/usr/bin/env python3
"""Event rules (decode-event, stream-event, app-layer-event) on crafted frames, written the way
Suricata's own decoder-events.rules, stream-events.rules and http-events.rules write them
(pkthdr rules, flowint counters). What each frame is comes from tshark's dissection of it
(header lengths, HTTP lines, TCP analysis), classified here; each rule's alert count must equal
that classification. A drop rule on a decode event keeps its packets out of the output."""
import http.client
import io
import json
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402
from packet_rules_test import _addr, _csum, _ip4, _tcp, _udp  # noqa: E402

C, S = "10.9.0.1", "10.9.0.2"


def _raw_ip4(total, ihl=5, version=4, proto=6, payload=b""):
    """An IPv4 header with the lengths and version given as is (checksum made right)."""
    h = struct.pack("!BBHHHBBH4s4s", version << 4 | ihl, 0, total, 1, 0, 64, proto, 0,
                    _addr(C), _addr(S)) + b"\0" * max(0, ihl * 4 - 20)
    return h[:10] + struct.pack("!H", _csum(h)) + h[12:] + payload


def malformed():
    tcp_ok = _tcp(C, S, 1234, 80, 1, 0, 0x02, 1000)
    bad_off = bytearray(tcp_ok)
    bad_off[12] = 4 << 4  # data offset 16 bytes
    bad_udp = bytearray(_udp(C, S, 53, 53, b"abcd"))
    bad_udp[4:6] = struct.pack("!H", 4)  # UDP length below its header
    return [
        _raw_ip4(40, ihl=4),                               # header length 16
        _raw_ip4(16, payload=tcp_ok),                      # total below the header
        _raw_ip4(200, payload=tcp_ok),                     # total past the frame
        _raw_ip4(40, version=6, payload=tcp_ok),           # version 6 in an IPv4 frame
        _raw_ip4(40, payload=bytes(bad_off)),              # TCP data offset 4
        _raw_ip4(30, payload=tcp_ok[:10]),                 # 10 bytes of TCP
        _raw_ip4(32, proto=17, payload=bytes(bad_udp)),    # UDP length 4
        _raw_ip4(25, proto=17, payload=b"\0" * 5),         # 5 bytes of UDP
        _ip4(C, S, 6, tcp_ok, 64, 9, 2),                   # a good packet
    ]


def conversation(sport, request, response=b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                 resend=b""):
    """A TCP connection carrying one request and its answer; with `resend`, the request's
    first bytes are sent again, other bytes at the same sequence numbers, before the answer."""
    server_window = 65535
    a, b = 1000, 5000
    out = [_ip4(C, S, 6, _tcp(C, S, sport, 80, a, 0, 0x02, 64240), 64, 1, 2),
           _ip4(S, C, 6, _tcp(S, C, 80, sport, b, a + 1, 0x12, server_window), 64, 1, 2),
           _ip4(C, S, 6, _tcp(C, S, sport, 80, a + 1, b + 1, 0x10, 64240), 64, 2, 2),
           _ip4(C, S, 6, _tcp(C, S, sport, 80, a + 1, b + 1, 0x18, 64240, request), 64, 3, 2)]
    if resend:
        out.append(_ip4(C, S, 6, _tcp(C, S, sport, 80, a + 1, b + 1, 0x18, 64240, resend), 64, 4, 2))
    a += 1 + len(request)
    out.append(_ip4(S, C, 6, _tcp(S, C, 80, sport, b + 1, a, 0x18, server_window, response),
                    64, 2, 2))
    return out


def client_hello():
    """A minimal well-formed ClientHello record (TLS 1.3 suite, no extensions)."""
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def tls_connection(sport, records):
    a, b = 1000, 5000
    out = [_ip4(C, S, 6, _tcp(C, S, sport, 443, a, 0, 0x02, 64240), 64, 1, 2),
           _ip4(S, C, 6, _tcp(S, C, 443, sport, b, a + 1, 0x12, 65535), 64, 1, 2),
           _ip4(C, S, 6, _tcp(C, S, sport, 443, a + 1, b + 1, 0x10, 64240), 64, 2, 2)]
    a += 1
    for r in records:
        out.append(_ip4(C, S, 6, _tcp(C, S, sport, 443, a, b + 1, 0x18, 64240, r), 64, 3, 2))
        a += len(r)
    return out


def write(path, pkts):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        for i, p in enumerate(pkts):
            frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + p
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame)


def tshark(pcap, *fields, filt=None):
    cmd = ["tshark", "-r", pcap, "-T", "json"] + (["-Y", filt] if filt else [])
    for f in fields:
        cmd += ["-e", f]
    return [p["_source"]["layers"] for p in json.loads(t.run(cmd).stdout)]


def decode_events(layers):
    """Suricata's decoder event for one frame, from tshark's fields."""
    first = lambda k: int(layers[k][0]) if k in layers else None  # noqa: E731
    version, hlen, total = first("ip.version"), first("ip.hdr_len"), first("ip.len")
    frame = first("frame.len") - 14
    if version != 4:
        return "ipv4.wrong_ip_version"
    if hlen < 20:
        return "ipv4.hlen_too_small"
    if total < hlen:
        return "ipv4.iplen_smaller_than_hlen"
    if total > frame:
        return "ipv4.trunc_pkt"
    payload = total - hlen
    proto = first("ip.proto")
    if proto == 6 and payload < 20:
        return "tcp.pkt_too_small"
    if proto == 6 and first("tcp.hdr_len") < 20:
        return "tcp.hlen_too_small"
    if proto == 17 and payload < 8:
        return "udp.pkt_too_small"
    if proto == 17 and not 8 <= first("udp.length") <= payload:
        return "udp.len_invalid"
    return None


class EventRules(t.TempDirTest):
    def run_rules(self, pcap, text):
        rules = os.path.join(self.tmp, "e.rules")
        with open(rules, "w") as f:
            f.write(text)
        check = t.dataplane("--check-rules", "--strict-rules", "--rules", rules, check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        # Malformed frames forwarded (--malformed pass): only a drop rule stops them.
        return t.offline(pcap, self.tmp, "--rules", rules, "--malformed", "pass")

    def test_decode_events(self):
        pcap = os.path.join(self.tmp, "bad.pcap")
        write(pcap, malformed())
        frames = tshark(pcap, "frame.len", "ip.version", "ip.hdr_len", "ip.len", "ip.proto",
                        "tcp.hdr_len", "udp.length")
        truth = [decode_events(f) for f in frames]
        events = sorted({e for e in truth if e})
        self.assertEqual(len(events), 8, truth)
        text = "".join(f'alert pkthdr any any -> any any (msg:"SURICATA {e}"; decode-event:{e}; '
                       f'classtype:protocol-command-decode; sid:{2200000 + i};)\n'
                       for i, e in enumerate(events))
        text += ('drop pkthdr any any -> any any (msg:"drop"; decode-event:ipv4.hlen_too_small; '
                 'sid:2299999;)\n')
        _, eve, paths = self.run_rules(pcap, text)
        got = t.alert_counts(eve)
        for i, e in enumerate(events):
            self.assertEqual(got.get(2200000 + i, 0), truth.count(e), e)
        # Enforcement: the dropped frame is not forwarded, the others are.
        out = tshark(paths["out"], "frame.len")
        self.assertEqual(len(out), len(frames) - truth.count("ipv4.hlen_too_small"))

    def test_http_and_stream_events(self):
        cases = [  # (request, response): one connection each
            (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", None),
            (b"GET / HTTP/1.1\r\nHost: a\r\nBogusLine\r\n\r\n", None),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", None),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", None),
            (b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
             b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"),
            (b"GET /fine HTTP/1.1\r\nHost: a\r\n\r\n", None),
        ]
        pkts = []
        for i, (req, resp) in enumerate(cases):
            pkts += conversation(41000 + i, req, *([resp] if resp else []))
        # A retransmission carrying other bytes than the first transmission (an evasion).
        pkts += conversation(42000, b"GET /w HTTP/1.1\r\nHost: a\r\n\r\n", resend=b"GET /x")
        pcap = os.path.join(self.tmp, "http.pcap")
        write(pcap, pkts)
        # The heads as sent (tshark's TCP payloads), read by Python's own HTTP header parser.
        heads = {}
        for g in tshark(pcap, "tcp.stream", "tcp.dstport", "tcp.payload", filt="tcp.len > 0"):
            key = (g["tcp.stream"][0], g["tcp.dstport"][0] == "80")
            heads.setdefault(key, bytes.fromhex(g["tcp.payload"][0].replace(":", "")))
        parsed = {}
        for key, raw in heads.items():
            head = raw.split(b"\r\n", 1)[1].split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            parsed[key] = (http.client.parse_headers(io.BytesIO(head)), head)
        req = [v for (_, to_server), v in parsed.items() if to_server]
        resp = [v for (_, to_server), v in parsed.items() if not to_server]
        bad_number = lambda m: not (m.get("Content-Length") or "0").isdigit()  # noqa: E731
        truth = {
            "http.invalid_request_field_folding": sum(1 for _, h in req if b"\r\n " in h),
            "http.request_field_missing_colon": sum(1 for m, _ in req if m.defects),
            "http.invalid_content_length_field_in_request": sum(1 for m, _ in req if bad_number(m)),
            "http.invalid_transfer_encoding_value_in_request":
                sum(1 for m, _ in req if (m.get("Transfer-Encoding") or "chunked") != "chunked"),
            "http.invalid_content_length_field_in_response":
                sum(1 for m, _ in resp if bad_number(m)),
        }
        self.assertTrue(all(v == 1 for v in truth.values()), truth)
        # Overlapping client segments whose bytes differ, from tshark's sequence numbers and
        # payloads.
        sent, conflicts = {}, set()
        for g in tshark(pcap, "tcp.stream", "tcp.dstport", "tcp.seq_raw", "tcp.payload",
                        filt="tcp.len > 0 && tcp.dstport == 80"):
            stream, seq = g["tcp.stream"][0], int(g["tcp.seq_raw"][0])
            data = bytes.fromhex(g["tcp.payload"][0].replace(":", ""))
            for i, byte in enumerate(data):
                old = sent.setdefault(stream, {}).setdefault(seq + i, byte)
                if old != byte:
                    conflicts.add(stream)
        self.assertEqual(len(conflicts), 1)
        # Suricata's counter idiom, written first: rules that set a flowint run before those
        # that read it, so the anomaly's own increment is seen.
        text = ('alert http any any -> any any (msg:"counted anomaly"; app-layer-event:'
                'http.request_field_missing_colon; flowint:http.anomaly.count,>=,1; '
                'sid:2221900;)\n')
        for i, e in enumerate(truth):
            direction = "to_client" if e.endswith("response") else "to_server"
            text += (f'alert http any any -> any any (msg:"SURICATA {e}"; flow:established,'
                     f'{direction}; app-layer-event:{e}; flowint:http.anomaly.count,+,1; '
                     f'classtype:protocol-command-decode; sid:{2221000 + i};)\n')
        text += ('alert tcp any any -> any any (msg:"SURICATA STREAM reassembly overlap with '
                 'different data"; stream-event:reassembly_overlap_different_data; '
                 'classtype:protocol-command-decode; sid:2210050;)\n')
        _, eve, _ = self.run_rules(pcap, text)
        got = t.alert_counts(eve)
        for i, (e, n) in enumerate(truth.items()):
            self.assertEqual(got.get(2221000 + i, 0), n, e)
        self.assertEqual(got.get(2210050, 0), len(conflicts))
        # The alert names its anomaly.
        a = next(r for r in eve if r["event_type"] == "alert" and
                 r["alert"]["signature_id"] == 2221000)
        self.assertEqual(a["anomaly"]["event"], "http.invalid_request_field_folding")
        self.assertEqual(got.get(2221900, 0), truth["http.request_field_missing_colon"])


    def test_tls_events(self):
        bad_hello = b"\x01\x00\x00\x04\x03\x03\x00\x00"
        pkts = (tls_connection(43000, [client_hello(), b"\x30\x03\x03\x00\x01\x00"]) +
                tls_connection(43001, [client_hello(), b"\x18\x03\x03\x00\x03\x01\x00\x00"]) +
                tls_connection(43002, [b"\x16\x03\x01" + len(bad_hello).to_bytes(2, "big") +
                                       bad_hello]) +
                tls_connection(43003, [client_hello(), b"\x17\x02\x03\x00\x01\x00"]) +
                tls_connection(43004, [client_hello()]))
        pcap = os.path.join(self.tmp, "tls.pcap")
        write(pcap, pkts)
        # The oracle: the records' headers in each connection's client bytes, and tshark's
        # dissection (a heartbeat record; a malformed handshake).
        truth = {"tls.invalid_record_type": 0, "tls.invalid_record_version": 0,
                 "tls.heartbeat_message": 0, "tls.invalid_handshake_message": 0}
        for g in tshark(pcap, "tcp.payload", filt="tcp.len > 0"):
            rec = bytes.fromhex(g["tcp.payload"][0].replace(":", ""))
            if not 20 <= rec[0] <= 24:
                truth["tls.invalid_record_type"] += 1
            elif rec[1] != 3:
                truth["tls.invalid_record_version"] += 1
        dissected = tshark(pcap, "tls.record.content_type", "_ws.malformed", filt="tls")
        truth["tls.heartbeat_message"] = sum(
            1 for d in dissected if "24" in d.get("tls.record.content_type", []))
        truth["tls.invalid_handshake_message"] = sum(
            1 for d in dissected if "_ws.malformed" in d and
            "22" in d.get("tls.record.content_type", []))
        self.assertEqual(sorted(truth.values()), [1, 1, 1, 1], truth)
        text = "".join(f'alert tls any any -> any any (msg:"SURICATA {e}"; flow:established; '
                       f'app-layer-event:{e}; sid:{2230000 + i};)\n' for i, e in enumerate(truth))
        _, eve, _ = self.run_rules(pcap, text)
        got = t.alert_counts(eve)
        for i, (e, n) in enumerate(truth.items()):
            self.assertEqual(got.get(2230000 + i, 0), n, e)


if __name__ == "__main__":
    unittest.main()
