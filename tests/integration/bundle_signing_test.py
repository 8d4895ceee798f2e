#!/usr/bin/env python3
"""Signed rule bundles end to end: sluiced signs what it ships (Ed25519, keys made with
openssl genpkey), the dataplane trusts two public keys (rotation) and verifies before
loading. A recording proxy between them captures the real signed frames; replaying an older
one is refused as a replay, one byte changed is a bad signature, an unsigned bundle (sluicectl
straight to the dataplane) is refused, and in every case the set in force stays. Rotating
sluiced to the second key keeps the fleet in sync; status names the key id in force."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

CTL = os.path.join(t.BUILD, "control/sluicectl")
SLUICED = os.path.join(t.BUILD, "control/sluiced")


class RecordingProxy:
    """Unix-socket proxy that forwards both ways and keeps every request frame it sees."""

    def __init__(self, listen, target):
        self.target, self.frames = target, []
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(listen)
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            up = socket.socket(socket.AF_UNIX)
            up.connect(self.target)
            threading.Thread(target=self._requests, args=(c, up), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, c), daemon=True).start()

    def _requests(self, src, dst):
        buf = b""
        try:
            while True:
                chunk = src.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 16:
                    jl, bl = struct.unpack(">II", buf[8:16])
                    if len(buf) < 16 + jl + bl:
                        break
                    self.frames.append(buf[:16 + jl + bl])
                    buf = buf[16 + jl + bl:]
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            dst.close()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                chunk = src.recv(1 << 20)
                if not chunk:
                    break
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            dst.close()

    def applies(self):
        out = []
        for f in self.frames:
            jl, bl = struct.unpack(">II", f[8:16])
            if json.loads(f[16:16 + jl])["cmd"] == "rules.apply":
                out.append(f)
        return out


class BundleSigning(t.TempDirTest):
    def openssl(self, *args):
        subprocess.run(["openssl", *args], cwd=self.tmp, check=True, capture_output=True)

    def ctl(self, sock, *args, rc=0):
        p = subprocess.run([CTL, "--socket", sock, "--json", *args], capture_output=True, text=True)
        self.assertEqual(p.returncode, rc, (args, p.stdout, p.stderr))
        return p

    def dp_rules(self):
        return json.loads(self.ctl(self.dp_sock, "status").stdout)["engine"]["rules"]

    def wait_for(self, cond, seconds=30):
        t.wait_for(self, cond, seconds)

    def start_sluiced(self, key):
        return subprocess.Popen([SLUICED, "--state-dir", self.state, "--socket", self.sd_sock, "--dataplane",
                                 f"edge={self.proxy_sock}", "--signing-key", os.path.join(self.tmp, key)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def push(self, body, n):
        path = os.path.join(self.tmp, f"v{n}.rules")
        with open(path, "w") as f:
            f.write(body)
        return json.loads(self.ctl(self.sd_sock, "rules", "push", path).stdout)

    def test_signed_bundles_verified_replays_and_forgeries_refused(self):
        for k in ("k1", "k2"):
            self.openssl("genpkey", "-algorithm", "ed25519", "-out", f"{k}.pem")
            self.openssl("pkey", "-in", f"{k}.pem", "-pubout", "-out", f"{k}.pub")
        self.dp_sock = os.path.join(self.tmp, "dp.sock")
        self.proxy_sock = os.path.join(self.tmp, "proxy.sock")
        self.sd_sock = os.path.join(self.tmp, "sd.sock")
        self.state = os.path.join(self.tmp, "state")
        dp = subprocess.Popen(
            [*t.LIVE, "--port", "a=net_null0,no-rx=1", "--port", "b=net_null1,no-rx=1", "--inline", "a:b",
             "--control", self.dp_sock, "--trusted-key", os.path.join(self.tmp, "k1.pub"),
             "--trusted-key", os.path.join(self.tmp, "k2.pub"), "--idle-backoff-us", "1000", "--quiet", "--",
             "--no-huge", "-m", "256", "--no-pci", f"--file-prefix=slsig{os.getpid()}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        sd = None
        try:
            self.wait_for(lambda: os.path.exists(self.dp_sock))
            proxy = RecordingProxy(self.proxy_sock, self.dp_sock)
            sd = self.start_sluiced("k1.pem")
            self.wait_for(lambda: os.path.exists(self.sd_sock))
            key1 = json.loads(self.ctl(self.sd_sock, "status").stdout)["control"]["signing_key"]
            self.assertEqual(len(self.dp_rules()["signature"]["trusted_keys"]), 2)
            self.assertIn(key1, self.dp_rules()["signature"]["trusted_keys"])
            rule = 'alert http any any -> any any (msg:"v{0}"; http.uri; content:"/v{0}"; sid:{1};)\n'
            v1 = self.push(rule.format(1, 8101), 1)
            self.wait_for(lambda: self.dp_rules()["sha256"] == v1["sha256"])
            v2 = self.push(rule.format(2, 8102), 2)
            self.wait_for(lambda: self.dp_rules()["sha256"] == v2["sha256"])
            sig = self.dp_rules()["signature"]
            self.assertEqual((sig["key_id"], sig["version"]), (key1, 2))
            frames = proxy.applies()
            self.assertGreaterEqual(len(frames), 2)

            with t.unix_connect(self.dp_sock) as s:
                # Replaying the captured v1 frame: a genuine signature, an older generation.
                s.sendall(frames[0])
                a, _ = t.read_control_frame(s)
                self.assertFalse(a["ok"])
                self.assertIn("replayed bundle", a["error"])
                # The newest frame with one byte of its bundle changed: a bad signature.
                forged = bytearray(frames[-1])
                forged[len(forged) - 200] ^= 0x01
                s.sendall(bytes(forged))
                a, _ = t.read_control_frame(s)
                self.assertFalse(a["ok"])
                self.assertIn("bad signature", a["error"])
            # Unsigned, straight from sluicectl to the dataplane.
            p = self.ctl(self.dp_sock, "rules", "push", os.path.join(self.tmp, "v1.rules"), rc=1)
            self.assertIn("unsigned bundle", p.stderr)
            self.assertEqual(self.dp_rules()["sha256"], v2["sha256"])  # still v2, untouched

            # Rotation: sluiced now signs with k2; a rollback (an older version, a newer
            # generation) is accepted under the new key.
            sd.send_signal(signal.SIGTERM)
            sd.communicate(timeout=30)
            sd = self.start_sluiced("k2.pem")
            self.wait_for(lambda: os.path.exists(self.sd_sock))
            key2 = json.loads(self.ctl(self.sd_sock, "status").stdout)["control"]["signing_key"]
            self.assertNotEqual(key1, key2)
            self.ctl(self.sd_sock, "rules", "rollback")
            self.wait_for(lambda: self.dp_rules()["sha256"] == v1["sha256"])
            sig = self.dp_rules()["signature"]
            self.assertEqual((sig["key_id"], sig["version"]), (key2, 1))
        finally:
            if sd and sd.poll() is None:
                sd.send_signal(signal.SIGTERM)
                sd.communicate(timeout=30)
            dp.send_signal(signal.SIGTERM)
            dp.communicate(timeout=30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
