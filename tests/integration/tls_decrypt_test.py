#!/usr/bin/env python3
"""TLS decryption over real-client captures (curl and Python's ssl against nginx, every
supported TLS 1.2 and 1.3 AEAD suite, keep-alive, a 100 kB download and a 64 kB upload; openssl
s_client/s_server for HelloRetryRequest, KeyUpdate and resumption): the decrypted
--dump-streams output must equal what tshark recovers with the same key log, for clean and
for mangled copies."""
import json
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402


def streams_by_port(files):
    """{client port: (c2s, s2c)} from dump file names."""
    out = {}
    for name, data in files.items():
        port = int(name.split("_")[1].split("-")[0])
        c2s, s2c = out.get(port, (b"", b""))
        out[port] = (data, s2c) if name.endswith(".c2s") else (c2s, data)
    return out


def tshark_streams(pcap, keylog):
    out = {}
    lines = t.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport",
                   "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0"]).stdout.split("\n")
    for line in lines:
        if not line:
            continue
        stream, port = line.split("\t")
        out[int(port)] = t.tshark_follow_raw(pcap, int(stream), proto="tls", keylog=keylog, client_port=int(port))
    return out


def curl_captures():
    """The curl and Python captures against nginx (the others are openssl s_client/s_server)."""
    return [(p, k) for p, k in t.tls_captures() if "hrr" not in p and "resumption" not in p]


def pcap_records(path):
    """(header, frame) records of a classic little-endian pcap, and its global header."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"), "a little-endian pcap"
    recs, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        recs.append((data[off:off + 16], data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return data[:24], recs


def tcp_payload_dir(frame, client_port):
    """(True if sent by the client, payload length) of an Ethernet/IPv4|IPv6 TCP frame."""
    etype = struct.unpack(">H", frame[12:14])[0]
    off = 14
    if etype == 0x0800:
        ihl = (frame[off] & 0x0f) * 4
        total = struct.unpack(">H", frame[off + 2:off + 4])[0]
        l4, end = off + ihl, off + total
    else:
        l4, end = off + 40, off + 40 + struct.unpack(">H", frame[off + 4:off + 6])[0]
    sport = struct.unpack(">H", frame[l4:l4 + 2])[0]
    doff = (frame[l4 + 12] >> 4) * 4
    return sport == client_port, end - (l4 + doff)


def server_speaks_first(src, dst):
    """Moves the client's first data frame (the ClientHello) behind the server's whole first
    flight: what a tap shows when the hello is retransmitted, or merges the directions late.
    Frame times keep their order (the hello takes the time of the frame it now follows)."""
    head, recs = pcap_records(src)
    client_port = None
    for _, fr in recs:  # the SYN's source port
        l4 = 14 + (((fr[14] & 0x0f) * 4) if struct.unpack(">H", fr[12:14])[0] == 0x0800 else 40)
        if fr[l4 + 13] & 0x12 == 0x02:
            client_port = struct.unpack(">H", fr[l4:l4 + 2])[0]
            break
    sent = [tcp_payload_dir(fr, client_port) for _, fr in recs]
    hello = next(i for i, (by_client, n) in enumerate(sent) if by_client and n > 0)
    last = hello
    for i in range(hello + 1, len(recs)):
        by_client, n = sent[i]
        if by_client and n > 0:
            break
        last = i
    assert last > hello, "the server's flight follows the hello"
    # The client's own packets keep their order (its timestamps only grow: PAWS): its pure
    # ACKs of the server's flight follow the hello it now sends late.
    between = range(hello + 1, last + 1)
    server = [recs[i] for i in between if not sent[i][0]]
    client = [recs[i] for i in between if sent[i][0]]
    moved = recs[:hello] + server + [(server[-1][0][:8] + recs[hello][0][8:], recs[hello][1])]
    moved += [(server[-1][0][:8] + h[8:], fr) for h, fr in client] + recs[last + 1:]
    with open(dst, "wb") as f:
        f.write(head)
        for h, fr in moved:
            f.write(h + fr)


class TlsDecryption(t.TempDirTest):
    def test_server_bytes_first_still_decrypted(self):
        """The server's hello and flight reach sluice before the ClientHello: the session is
        still recognised, fingerprinted, decrypted and its plaintext equals tshark's over the
        original capture."""
        caps = dict((os.path.basename(p), (p, k)) for p, k in t.tls_captures())
        for name in ("tls13-aes128gcm.pcap", "tls12-aes256gcm.pcap", "python-tls13.pcap"):
            with self.subTest(capture=name):
                pcap, keylog = caps[name]
                late = os.path.join(self.tmp, "late-" + name)
                server_speaks_first(pcap, late)
                s, eve, _ = t.offline(late, self.tmp, "--keylog", keylog)
                tls = [r["tls"] for r in eve if r["event_type"] == "tls"]
                self.assertEqual(len(tls), len(tshark_streams(pcap, keylog)))  # one per session
                self.assertTrue(all(r["decrypted"] and r["server_hello"] for r in tls), tls)
                self.assertEqual(s["engine"]["tls"]["decrypt_failures"], 0)
                want = streams_by_port(t.dump_streams(pcap, os.path.join(self.tmp, "a-" + name), "--keylog", keylog))
                got = streams_by_port(t.dump_streams(late, os.path.join(self.tmp, "b-" + name), "--keylog", keylog))
                oracle = tshark_streams(pcap, keylog)
                self.assertEqual(want, oracle)
                self.assertEqual(got, want)
                self.assertTrue(any(r["event_type"] == "http" for r in eve))


    def test_hello_retry_key_update_and_resumption(self):
        caps = dict((os.path.basename(p), (p, k)) for p, k in t.tls_captures())
        pcap, keylog = caps["tls13-hrr-keyupdate.pcap"]
        s, eve, _ = t.offline(pcap, self.tmp, "--keylog", keylog)
        tls = [r["tls"] for r in eve if r["event_type"] == "tls"]
        self.assertEqual(len(tls), 2)  # one record per ClientHello
        self.assertTrue(tls[0]["hello_retry_request"])
        self.assertTrue(tls[1]["decrypted"])
        self.assertEqual(s["engine"]["tls"]["decrypt_failures"], 0)
        files = t.dump_streams(pcap, os.path.join(self.tmp, "hrr"), "--keylog", keylog)
        c2s = next(v for k, v in files.items() if k.endswith(".c2s"))
        self.assertEqual(c2s, b"first request line\nafter the key update\n")  # the second line after KeyUpdate
        pcap, keylog = caps["tls13-resumption.pcap"]
        _, eve, _ = t.offline(pcap, self.tmp, "--keylog", keylog)
        tls = [r["tls"] for r in eve if r["event_type"] == "tls"]
        self.assertEqual(len(tls), 2)
        self.assertTrue(all(r["decrypted"] for r in tls))
        self.assertTrue(tls[1].get("psk_offered"))  # the second connection resumes
        files = t.dump_streams(pcap, os.path.join(self.tmp, "resume"), "--keylog", keylog)
        s2c = [v for k, v in files.items() if k.endswith(".s2c")]
        self.assertEqual(len(s2c), 2)
        self.assertTrue(all(v == b"enil tseuqer tsrif\netadpu yek eht retfa\n" for v in s2c))

    def test_every_suite_matches_tshark(self):
        captures = t.tls_captures()
        self.assertEqual(len(captures), 10)
        for pcap, keylog in captures:
            with self.subTest(pcap=os.path.basename(pcap)):
                d = os.path.join(self.tmp, os.path.basename(pcap))
                files = t.dump_streams(pcap, d, "--keylog", keylog)
                ours = streams_by_port(files)
                want = tshark_streams(pcap, keylog)
                self.assertEqual(sorted(ours), sorted(want))
                for port, (c2s, s2c) in want.items():
                    self.assertGreater(len(c2s) + len(s2c), 50)
                    self.assertEqual(ours[port][0], c2s, f"client bytes of port {port}")
                    self.assertEqual(ours[port][1], s2c, f"server bytes of port {port}")
                if (pcap, keylog) not in curl_captures():
                    continue
                # The application data really is HTTP: requests and 200 responses.
                joined = b"".join(c for c, _ in ours.values())
                self.assertIn(b"GET /blob.bin HTTP/1.1", joined)
                self.assertIn(b"POST /upload HTTP/1.1", joined)
                self.assertTrue(all(s.startswith(b"HTTP/1.1 200 OK") for _, s in ours.values()))

    def test_bodies_match_the_recorded_hashes(self):
        import hashlib
        want = {}
        with open(os.path.join(t.DATA, "tls", "bodies.sha256")) as f:
            for line in f:
                digest, name = line.split()
                want[name] = digest

        def http_bodies(stream):
            bodies = []
            while stream:
                head, _, rest = stream.partition(b"\r\n\r\n")
                length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
                bodies.append(rest[:length])
                stream = rest[length:]
            return bodies

        for pcap, keylog in curl_captures():
            with self.subTest(pcap=os.path.basename(pcap)):
                files = t.dump_streams(pcap, os.path.join(self.tmp, os.path.basename(pcap)), "--keylog", keylog)
                conns = streams_by_port(files)
                downloads = [b for c2s, s2c in conns.values() if c2s.startswith(b"GET") for b in http_bodies(s2c)]
                uploads = [b for c2s, _ in conns.values() if c2s.startswith(b"POST") for b in http_bodies(c2s)]
                self.assertIn(want["blob.bin"], [hashlib.sha256(b).hexdigest() for b in downloads])
                self.assertEqual([hashlib.sha256(b).hexdigest() for b in uploads], [want["upload.bin"]])

    def test_eve_reports_decryption(self):
        caps = dict((os.path.basename(p), (p, k)) for p, k in t.tls_captures())
        pcap, keylog = caps["tls13-aes128gcm.pcap"]
        s, eve, _ = t.offline(pcap, self.tmp, "--keylog", keylog)
        tls = [r for r in eve if r["event_type"] == "tls"]
        self.assertEqual(len(tls), 2)
        self.assertTrue(all(r["tls"]["decrypted"] for r in tls))
        self.assertTrue(all(r["tls"]["version"] == "TLS 1.3" for r in tls))
        self.assertEqual(s["engine"]["tls"]["decrypt_failures"], 0)
        self.assertGreater(s["engine"]["tls"]["decrypted_bytes"], 160000)
        # Without the key log: fingerprints still, no plaintext, a reason.
        s, eve, _ = t.offline(pcap, self.tmp)
        tls = [r for r in eve if r["event_type"] == "tls"]
        self.assertTrue(all(not r["tls"]["decrypted"] and r["tls"]["decrypt_reason"] == "no_keylog" for r in tls))
        self.assertEqual(s["engine"]["tls"]["decrypted_bytes"], 0)
        # A key log without this session's secrets.
        other = caps["tls12-aes128gcm.pcap"][1]
        _, eve, _ = t.offline(pcap, self.tmp, "--keylog", other)
        tls = [r for r in eve if r["event_type"] == "tls"]
        self.assertTrue(all(r["tls"]["decrypt_reason"] == "no_secret" for r in tls))

    def test_mangled_captures_decrypt_identically(self):
        for pcap, keylog in t.tls_captures()[::3]:
            clean = t.dump_streams(pcap, os.path.join(self.tmp, "clean"), "--keylog", keylog)
            for seed in (1, 2):
                with self.subTest(pcap=os.path.basename(pcap), seed=seed):
                    mangled = os.path.join(self.tmp, "m.pcap")
                    t.run([t.MANGLE, "--in", pcap, "--out", mangled, "--seed", str(seed)])
                    got = t.dump_streams(mangled, os.path.join(self.tmp, f"m{seed}"), "--keylog", keylog)
                    self.assertEqual(got, clean)

    def test_late_secrets_still_decrypt_fully(self):
        cfg = os.path.join(self.tmp, "pending.yaml")
        with open(cfg, "w") as f:
            f.write("tls: {pending_bytes: 262144}\n")
        for pcap, keylog in curl_captures():
            clean = t.dump_streams(pcap, os.path.join(self.tmp, "clean"), "--keylog", keylog)
            for delay in (3, 15, 30):
                with self.subTest(pcap=os.path.basename(pcap), delay=delay):
                    d = os.path.join(self.tmp, f"late{delay}")
                    summary = os.path.join(self.tmp, "s.json")
                    got = t.dump_streams(pcap, d, "--keylog", keylog, "--keylog-delay-packets", str(delay),
                                         "--config", cfg, "--summary-json", summary)
                    self.assertEqual(got, clean)
                    with open(summary) as f:
                        tls = json.load(f)["engine"]["tls"]
                    self.assertEqual(tls["late_secrets"], 2)
        # A queue too small for the delay: counted, nothing delivered, no crash.
        with open(cfg, "w") as f:
            f.write("tls: {pending_bytes: 2048}\n")
        pcap, keylog = t.tls_captures()[0]
        summary = os.path.join(self.tmp, "s.json")
        t.dump_streams(pcap, os.path.join(self.tmp, "small"), "--keylog", keylog, "--keylog-delay-packets", "60",
                       "--config", cfg, "--summary-json", summary)
        with open(summary) as f:
            tls = json.load(f)["engine"]["tls"]
        self.assertGreater(tls["secret_timeouts"], 0)

    def test_bad_keylog_is_rejected(self):
        bad = os.path.join(self.tmp, "bad.keylog")
        with open(bad, "w") as f:
            f.write("CLIENT_RANDOM nothex nothex\n")
        p = t.dataplane("--pcap", t.tls_captures()[0][0], "--keylog", bad, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.keylog:1", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
