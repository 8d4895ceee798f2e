#!/usr/bin/env python3
"""No secret survives in memory after use: TLS secrets are pushed through sluiced (sluicectl,
and a followed key log) and straight to a dataplane, and an account id is looked up for an
API key; then core dumps (gdb's gcore) of sluiced and of the dataplane are searched. Neither
holds the key log text or the API key; sluiced, which only forwards, holds not even the
secret's bytes. (The dataplane keeps the binary secret in its secret store while sessions may
need it - that is its use - but no request buffer, JSON value or key-log line copy of it.)"""
import json
import mmap
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

CTL = os.path.join(t.BUILD, "control/sluicectl")
SLUICED = os.path.join(t.BUILD, "control/sluiced")


def core_holds(path, needles):
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return [n for n in needles if m.find(n) != -1]


class SecretsInMemory(t.TempDirTest):
    def wait_for(self, cond, seconds=30):
        t.wait_for(self, cond, seconds)

    def ctl(self, sock, *args, stdin=None):
        return subprocess.run([CTL, "--socket", sock, "--json", *args], capture_output=True, text=True,
                              input=stdin)

    def gcore(self, pid, name):
        prefix = os.path.join(self.tmp, name)
        p = subprocess.run(["gcore", "-o", prefix, str(pid)], capture_output=True, text=True, timeout=300)
        path = f"{prefix}.{pid}"
        if p.returncode != 0 or not os.path.exists(path):
            t.skip_check(self, "gcore", f"gcore could not dump {name}: {p.stderr[-300:]}")
        return path

    def test_no_secret_survives_a_push_or_a_lookup(self):
        if not shutil.which("gcore"):
            t.skip_check(self, "gcore", "gdb's gcore is not installed")
        if "libasan" in subprocess.run(["ldd", SLUICED], capture_output=True, text=True).stdout:
            # ASan reserves terabytes of shadow memory: a core of it is neither quick nor small,
            # and its allocator keeps freed memory in quarantine. The release tree runs this.
            t.skip_check(self, "gcore", "a sanitizer build (the release build checks memory)")
        dp_sock, sd_sock = os.path.join(self.tmp, "dp.sock"), os.path.join(self.tmp, "sd.sock")
        keylog = os.path.join(self.tmp, "keys.log")
        open(keylog, "w").close()
        lines = []
        for _ in range(3):  # via sluicectl -> sluiced, via the followed key log, straight to the dataplane
            cr, secret = secrets.token_hex(32), secrets.token_bytes(48)
            lines.append((f"CLIENT_RANDOM {cr} {secret.hex()}\n", secret))
        api_key = "sk-ant-api03-" + secrets.token_urlsafe(60)
        dp = subprocess.Popen(
            [*t.LIVE, "--port", "a=net_null0,no-rx=1", "--port", "b=net_null1,no-rx=1", "--inline", "a:b",
             "--control", dp_sock, "--idle-backoff-us", "1000", "--quiet", "--",
             "--no-huge", "-m", "256", "--no-pci", f"--file-prefix=slmem{os.getpid()}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sd = subprocess.Popen([SLUICED, "--state-dir", os.path.join(self.tmp, "state"), "--socket", sd_sock,
                               "--dataplane", f"edge={dp_sock}", "--keylog-follow", keylog],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.wait_for(lambda: os.path.exists(sd_sock) and self.ctl(sd_sock, "dataplanes", "list").returncode == 0
                          and json.loads(self.ctl(sd_sock, "dataplanes", "list").stdout)["dataplanes"][0]["up"])
            p = self.ctl(sd_sock, "secrets", "push", "-", stdin=lines[0][0])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout)["dataplanes"]["edge"]["secrets"], 1)
            with open(keylog, "a") as f:
                f.write(lines[1][0])
            self.wait_for(lambda: json.loads(self.ctl(sd_sock, "status").stdout)["secrets"]["forwarded"] >= 1)
            p = self.ctl(dp_sock, "secrets", "push", "-", stdin=lines[2][0])
            self.assertEqual(p.returncode, 0, p.stderr)
            # The account-key lookup: the id is computed locally, only the id travels.
            p = subprocess.run([CTL, "--json", "accounts", "id", "--key-stdin", "--secret-file",
                                t.ACCOUNT_SECRET_FILE], input=api_key + "\n", capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            account = json.loads(p.stdout)["id"]
            self.assertEqual(account, t.account_id(api_key))
            self.ctl(sd_sock, "accounts", "show", account)
            time.sleep(0.5)
            text_needles = [line.split()[2].encode() for line, _ in lines] + \
                           [line.split()[2].upper().encode() for line, _ in lines] + [api_key.encode()]
            sd_core = self.gcore(sd.pid, "sluiced")
            self.assertEqual(core_holds(sd_core, text_needles + [s for _, s in lines]), [],
                             "sluiced kept a secret after forwarding it")
            os.unlink(sd_core)
            dp_core = self.gcore(dp.pid, "dataplane")
            self.assertEqual(core_holds(dp_core, text_needles), [], "the dataplane kept a key log or key copy")
            # The control: what the dataplane must hold (its account secret, the pushed secrets'
            # bytes in the store) is found in the same dump, so the search does see memory.
            self.assertEqual(core_holds(dp_core, [t.ACCOUNT_SECRET] + [s for _, s in lines]),
                             [t.ACCOUNT_SECRET] + [s for _, s in lines])
            os.unlink(dp_core)
        finally:
            for proc in (sd, dp):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
