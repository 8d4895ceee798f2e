#!/usr/bin/env python3
"""Offline mode end to end: the real binary over real captures."""
import filecmp
import json
import os
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402


class PassThrough(t.TempDirTest):
    def test_pcap_out_equals_input_for_pass_traffic(self):
        captures = t.every_capture("pcap_out_equals_input")
        self.assertGreaterEqual(len(captures), 7)
        for pcap in captures:
            # One worker and two on the project's own captures; two (the reordering case) on
            # the 29 conformance captures, to keep the suite in its budget.
            for workers in ((2,) if t.tso_option(pcap) else (1, 2)):
                with self.subTest(pcap=os.path.basename(pcap), workers=workers):
                    s, _, paths = t.offline(pcap, self.tmp, workers=workers)
                    self.assertEqual(t.read_frames(paths["out"]), t.read_frames(pcap))
                    self.assertEqual(s["engine"]["dropped_malformed"], 0)
                    self.assertEqual(s["pcap_out"]["packets"], s["input"]["packets"])

    def test_counters_agree_with_capinfos_and_tshark(self):
        for pcap in t.every_capture("counters_agree_with_capinfos_and_tshark"):
            with self.subTest(pcap=os.path.basename(pcap)):
                s, eve, _ = t.offline(pcap, self.tmp, workers=2)
                packets, size = t.capinfos(pcap)
                self.assertEqual(s["engine"]["packets"], packets)
                self.assertEqual(s["engine"]["bytes"], size)
                self.assertEqual(s["input"]["packets"], packets)
                flows = [r for r in eve if r["event_type"] == "flow" and r["proto"] == "TCP"]
                by_pair = {}
                for r in flows:
                    a = f'{r["src_ip"]}:{r["src_port"]}'.replace("::ffff:", "")
                    b = f'{r["dest_ip"]}:{r["dest_port"]}'
                    by_pair[frozenset((a, b))] = r
                convs = t.tshark_conv_tcp(pcap)
                self.assertEqual(len(flows), len(convs))
                for a, b, frames_ba, frames_ab in convs:
                    key = frozenset((a.replace("[", "").replace("]", ""), b.replace("[", "").replace("]", "")))
                    if key not in by_pair:  # tshark prints IPv6 as addr:port without brackets
                        key = next(k for k in by_pair if {x.rsplit(":", 1)[1] for x in k} ==
                                   {a.rsplit(":", 1)[1], b.rsplit(":", 1)[1]})
                    f = by_pair[key]["flow"]
                    self.assertEqual(sorted([f["pkts_toserver"], f["pkts_toclient"]]), sorted([frames_ba, frames_ab]))
                streams = t.tshark_tcp_streams(pcap)
                self.assertEqual(sorted(s_[1] for s_ in streams.values()),
                                 sorted(r["flow"]["bytes_toserver"] + r["flow"]["bytes_toclient"] for r in flows))

    def test_eve_records_have_suricata_fields(self):
        _, eve, _ = t.offline(os.path.join(t.DATA, "http-keepalive.pcap"), self.tmp)
        flow = next(r for r in eve if r["event_type"] == "flow")
        for key in ("timestamp", "flow_id", "community_id", "event_type", "src_ip", "src_port",
                    "dest_ip", "dest_port", "proto", "app_proto"):
            self.assertIn(key, flow)
        self.assertEqual(flow["app_proto"], "http")
        self.assertEqual(flow["src_ip"], "10.231.0.1")
        self.assertRegex(flow["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$")
        self.assertEqual(eve[-1]["event_type"], "stats")
        self.assertRegex(flow["community_id"], r"^1:[A-Za-z0-9+/]{27}=$")

    def test_deterministic_across_runs(self):
        pcap = os.path.join(t.SOURCE, "../shared/conformance/ja4/tls3.pcapng")
        if not os.path.exists(pcap):
            pcap = os.path.join(t.DATA, "http-get.pcap")
        outputs = []
        for run in range(2):
            d = os.path.join(self.tmp, f"run{run}")
            os.makedirs(os.path.join(d, "streams"))
            t.dataplane("--pcap", pcap, "--workers", "2", "--eve", os.path.join(d, "eve.json"),
                        "--pcap-out", os.path.join(d, "out.pcap"),
                        "--dump-streams", os.path.join(d, "streams"), "--quiet")
            outputs.append(d)
        a, b = outputs
        for name in ("eve.json", "out.pcap"):
            self.assertTrue(filecmp.cmp(os.path.join(a, name), os.path.join(b, name), shallow=False), name)
        cmp = filecmp.dircmp(os.path.join(a, "streams"), os.path.join(b, "streams"))
        self.assertEqual(cmp.left_only + cmp.right_only + cmp.diff_files, [])
        self.assertGreater(len(cmp.same_files), 0)

    def test_single_cpu(self):
        pcap = os.path.join(t.DATA, "http-get.pcap")
        p = t.run(["taskset", "-c", "0", t.DATAPLANE, "--pcap", pcap, "--workers", "2",
                   "--summary-json", os.path.join(self.tmp, "s.json"), "--quiet"])
        self.assertEqual(p.returncode, 0)


class Reassembly(t.TempDirTest):
    def test_streams_match_tshark_follow(self):
        for pcap in t.data_captures():
            with self.subTest(pcap=os.path.basename(pcap)):
                files = t.dump_streams(pcap, os.path.join(self.tmp, os.path.basename(pcap)))
                c2s = [v for k, v in files.items() if k.endswith(".c2s")]
                s2c = [v for k, v in files.items() if k.endswith(".s2c")]
                self.assertEqual(len(c2s), 1)
                want_c, want_s = t.tshark_follow_raw(pcap, 0)
                self.assertEqual(c2s[0], want_c)
                self.assertEqual(s2c[0], want_s)
                self.assertGreater(len(want_c) + len(want_s), 1000)

    def test_mangled_captures_give_identical_streams(self):
        for pcap in t.data_captures():
            clean = t.dump_streams(pcap, os.path.join(self.tmp, "clean"))
            for seed in (1, 2, 3):
                for ops in (["reorder"], ["duplicate"], ["resegment"], ["resegment", "duplicate", "reorder"]):
                    with self.subTest(pcap=os.path.basename(pcap), seed=seed, ops=ops):
                        mangled = os.path.join(self.tmp, "m.pcap")
                        t.run([t.MANGLE, "--in", pcap, "--out", mangled, "--seed", str(seed), "--ops", *ops])
                        d = os.path.join(self.tmp, f"m-{seed}-{'-'.join(ops)}")
                        self.assertEqual(t.dump_streams(mangled, d), clean)
                        # The mangling really happened.
                        self.assertNotEqual(t.read_frames(mangled), t.read_frames(pcap))

    def test_repeated_four_tuple_gets_numbered_files(self):
        pcap = os.path.join(t.DATA, "http-get.pcap")
        merged = os.path.join(self.tmp, "twice.pcap")
        # The same connection twice, far apart in time: the first times out in between.
        shifted = os.path.join(self.tmp, "shifted.pcap")
        t.run(["editcap", "-F", "pcap", "-t", "7200", pcap, shifted])
        t.run(["mergecap", "-F", "pcap", "-w", merged, pcap, shifted])
        files = t.dump_streams(merged, os.path.join(self.tmp, "d"))
        base = "10.231.0.1_" + next(iter(files)).split("_")[1].split("-")[0] + "-10.231.0.2_8080"
        self.assertEqual(sorted(files), sorted([base + ".c2s", base + ".s2c", base + ".2.c2s", base + ".2.s2c"]))
        self.assertEqual(files[base + ".c2s"], files[base + ".2.c2s"])
        self.assertEqual(files[base + ".s2c"], files[base + ".2.s2c"])


class Checksums(t.TempDirTest):
    def corrupt(self, src, dst, every):
        """Flips one payload byte of every `every`-th TCP data frame, checksums left as they
        were: what a bit error (or a forged insertion) looks like on the wire."""
        with open(src, "rb") as f:
            data = bytearray(f.read())
        off, n = 24, 0
        while off + 16 <= len(data):
            caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
            fr = off + 16
            if caplen > 66 and data[fr + 12:fr + 14] == b"\x08\x00" and data[fr + 23] == 6:
                ihl = (data[fr + 14] & 0x0f) * 4
                doff = (data[fr + 14 + ihl + 12] >> 4) * 4
                if caplen > 14 + ihl + doff:
                    n += 1
                    if n % every == 0:
                        data[fr + caplen - 1] ^= 0x5a
            off += 16 + caplen
        with open(dst, "wb") as f:
            f.write(data)

    def tshark_bad(self, pcap):
        out = t.run(["tshark", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                     "-Y", "tcp.checksum.status == 0 || ip.checksum.status == 0", "-T", "fields",
                     "-e", "frame.number"]).stdout
        return len(out.split())

    def test_bad_checksums_are_counted_like_tshark_and_not_inspected(self):
        src = os.path.join(t.DATA, "http-keepalive.pcap")
        bad = os.path.join(self.tmp, "bad.pcap")
        self.corrupt(src, bad, 25)
        expected = self.tshark_bad(bad)
        self.assertGreater(expected, 0)
        for mode in ("verify", "auto"):  # auto: under one bad in ten, the capture is verified
            with self.subTest(mode=mode):
                s, _, _ = t.offline(bad, self.tmp, "--checksums", mode)
                self.assertTrue(s["normalize"]["checksums_verified"])
                self.assertEqual(s["engine"]["normalized_by_reason"].get("tcp_checksum"), expected)
        s, _, _ = t.offline(bad, self.tmp, "--checksums", "ignore")
        self.assertNotIn("tcp_checksum", s["engine"]["normalized_by_reason"])
        # A capture whose checksums are mostly wrong (taken on the sending host): auto stops
        # verifying, and says so.
        every = os.path.join(self.tmp, "offload.pcap")
        self.corrupt(src, every, 1)
        p = t.dataplane("--pcap", every, "--summary-json", os.path.join(self.tmp, "o.json"), "--quiet")
        self.assertIn("checksums are not verified", p.stderr)
        with open(os.path.join(self.tmp, "o.json")) as f:
            o = json.load(f)
        self.assertFalse(o["normalize"]["checksums_verified"])
        self.assertGreater(o["normalize"]["checksum_sample"]["bad"] * 10, o["normalize"]["checksum_sample"]["packets"])


class Verdicts(t.TempDirTest):
    def test_reject_filter_cuts_flow_with_resets(self):
        cfg = os.path.join(self.tmp, "reject.yaml")
        with open(cfg, "w") as f:
            f.write("filters:\n  - {action: reject, proto: tcp, server_port: 8080, after_bytes: 20000}\n")
        pcap = os.path.join(t.DATA, "http-get.pcap")
        s, eve, paths = t.offline(pcap, self.tmp, "--config", cfg)
        frames_in, frames_out = t.read_frames(pcap), t.read_frames(paths["out"])
        self.assertEqual(s["engine"]["rst_injected"], 2)
        self.assertLess(len(frames_out), len(frames_in))
        # The output is a prefix of the input plus the two resets.
        resets = frames_out[-2:]
        self.assertEqual(frames_out[:-2], frames_in[:len(frames_out) - 2])
        out = t.run(["tshark", "-r", paths["out"], "-T", "fields", "-e", "tcp.flags.reset",
                     "-e", "tcp.checksum.status", "-o", "tcp.check_checksum:TRUE"]).stdout.split("\n")
        self.assertEqual([line.split("\t")[0] for line in out if line][-2:], ["1", "1"])
        self.assertTrue(all(len(r) >= 54 for r in resets))
        flow = next(r for r in eve if r["event_type"] == "flow")
        self.assertEqual(flow["flow"]["action"], "reject")

    def test_drop_rule_is_answered_in_pcap_out(self):
        """A rule's drop on a request is answered 403 in the server's name: the answer is in
        --pcap-out where the client's stream expected the server's next byte (tshark: a valid
        HTTP response, good checksums, no sequence anomaly), and the server side is reset."""
        rules = os.path.join(self.tmp, "drop.rules")
        with open(rules, "w") as f:
            f.write('drop http any any -> any any (msg:"no random"; http.uri; content:"/random.bin"; sid:7101;)\n')
        pcap = os.path.join(t.DATA, "http-keepalive.pcap")
        s, eve, paths = t.offline(pcap, self.tmp, "--rules", rules)
        self.assertEqual(s["engine"]["answers"]["forbidden"], 1)
        # The answer follows the server's last byte on the client's stream: no segment lost
        # before it, none out of order (tshark does note the ACK of the request, which the
        # output does not hold: sluice dropped it).
        out = t.run(["tshark", "-r", paths["out"], "-o", "tcp.check_checksum:TRUE", "-o",
                     "tcp.analyze_sequence_numbers:TRUE", "-Y", "http.response.code == 403", "-T", "fields",
                     "-e", "tcp.checksum.status", "-e", "tcp.analysis.lost_segment", "-e", "http.content_type",
                     "-e", "http.response.line", "-e", "tcp.analysis.out_of_order"]).stdout.splitlines()
        # Replayed, the capture's client does not acknowledge sluice's answer (it acknowledges the
        # real server's): the answer may be resent on its duplicate ACKs - the same segment.
        self.assertGreaterEqual(len(out), 1, out)
        self.assertEqual(len(set(out)), 1, out)
        checksum, lost, ctype, lines, ooo = out[0].split("\t")
        self.assertEqual((checksum, lost, ooo, ctype), ("1", "", "", "application/json"))
        request_id = next(x for x in lines.split(",") if x.startswith("request-id:")).split(":", 1)[1]
        request_id = request_id.replace("\\r\\n", "").strip()  # tshark shows the line end escaped
        http = [r for r in eve if r["event_type"] == "http" and "enforcement" in r.get("sluice", {})]
        self.assertEqual([r["sluice"]["enforcement"]["request_id"] for r in http], [request_id])
        self.assertEqual(http[0]["http"]["url"], "/random.bin")
        alert = next(r for r in eve if r["event_type"] == "alert")
        self.assertEqual(alert["sluice"]["request_id"], request_id)
        resets = t.run(["tshark", "-r", paths["out"], "-Y", "tcp.flags.reset == 1", "-T", "fields",
                        "-e", "tcp.dstport"]).stdout.split()
        self.assertEqual(resets, ["8080"])  # the server's side

    def test_drop_filter_drops_whole_flow_allowlist_wins(self):
        cfg = os.path.join(self.tmp, "drop.yaml")
        with open(cfg, "w") as f:
            f.write("filters:\n  - {action: allow, client: 10.231.0.1}\n  - {action: drop}\n")
        s, _, paths = t.offline(os.path.join(t.DATA, "http-get.pcap"), self.tmp, "--config", cfg)
        self.assertEqual(s["engine"]["dropped_verdict"], 0)
        with open(cfg, "w") as f:
            f.write("filters:\n  - {action: drop, server: 10.231.0.0/24}\n")
        s, _, paths = t.offline(os.path.join(t.DATA, "http-get.pcap"), self.tmp, "--config", cfg)
        self.assertEqual(len(t.read_frames(paths["out"])), 0)
        self.assertEqual(s["engine"]["dropped_verdict"], s["engine"]["packets"])


class Errors(t.TempDirTest):
    def test_missing_and_bad_inputs(self):
        p = t.dataplane("--pcap", "/nonexistent.pcap", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("nonexistent.pcap", p.stderr)
        with open(os.path.join(t.DATA, "http-get.pcap"), "rb") as f:
            data = f.read()
        cut = os.path.join(self.tmp, "cut.pcap")
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 2 + 5])
        p = t.dataplane("--pcap", cut, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("truncated", p.stderr)
        junk = os.path.join(self.tmp, "junk.pcap")
        with open(junk, "w") as f:
            f.write("hello")
        p = t.dataplane("--pcap", junk, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("junk.pcap", p.stderr)

    def test_bad_config_and_flags(self):
        cfg = os.path.join(self.tmp, "bad.yaml")
        with open(cfg, "w") as f:
            f.write("workers: 1\nflow:\n  capacity: -5\n")
        p = t.dataplane("--pcap", os.path.join(t.DATA, "http-get.pcap"), "--config", cfg, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.yaml:3:13", p.stderr)
        p = t.dataplane("--workers", "0", "--pcap", os.path.join(t.DATA, "http-get.pcap"), check=False)
        self.assertNotEqual(p.returncode, 0)
        p = t.dataplane("--no-such-flag", check=False)
        self.assertNotEqual(p.returncode, 0)
        p = t.dataplane("--port", "a=net_null0", "--inline", "a:b", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown port 'b'", p.stderr)
        p = t.dataplane("--help")
        self.assertIn("--pcap-out", p.stdout)

    def test_malformed_frames_are_counted_and_dropped(self):
        # Damage IPv4 headers of a few frames; they must be counted by reason and not forwarded.
        frames = t.read_frames(os.path.join(t.DATA, "http-get.pcap"))
        import struct
        bad = os.path.join(self.tmp, "bad.pcap")
        with open(bad, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for i, fr in enumerate(frames):
                fr = bytearray(fr)
                if i % 10 == 5:
                    fr[14] = 0x4F  # IHL 60 bytes
                f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
                f.write(fr)
        s, _, paths = t.offline(bad, self.tmp)
        n_bad = len([i for i in range(len(frames)) if i % 10 == 5])
        self.assertEqual(s["engine"]["malformed"], n_bad)
        self.assertEqual(sum(s["engine"]["malformed_by_reason"].values()), n_bad)
        self.assertEqual(len(t.read_frames(paths["out"])), len(frames) - n_bad)
        s, _, paths = t.offline(bad, self.tmp, "--malformed", "pass")
        self.assertEqual(len(t.read_frames(paths["out"])), len(frames))


if __name__ == "__main__":
    unittest.main(verbosity=2)
