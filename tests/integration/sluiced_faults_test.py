#!/usr/bin/env python3
"""Faults in the control plane, each deterministic: sluiced killed (SIGKILL, like a power
cut) at every named point of its write path (SLUICED_CRASH_AT: after_mkdir,
after_tmp_write, after_rename, before_dir_fsync, before_audit, while_pushing) - after a
restart the state directory is consistent, the dataplane kept its last good rules throughout,
and the fleet converges; a dataplane killed with -9 around a rule swap restarts on its own
configuration and sluiced resyncs it; a full disk under the state directory (a small tmpfs)
refuses the change with a clear error and leaves the previous state intact."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

CTL = os.path.join(t.BUILD, "control/sluicectl")
SLUICED = os.path.join(t.BUILD, "control/sluiced")
POINTS = ["after_mkdir", "after_tmp_write", "after_rename", "before_dir_fsync", "before_audit", "while_pushing"]
RULE = 'alert http any any -> any any (msg:"v{0}"; http.uri; content:"/fault{0}"; sid:{1};)\n'


def load(path):
    with open(path) as f:
        return json.load(f)


def contents(root, skip):
    out = {}
    for r, _, files in os.walk(root):
        for name in files:
            if name not in skip:
                with open(os.path.join(r, name), "rb") as f:
                    out[os.path.join(r, name)] = f.read()
    return out


class Faults(t.TempDirTest):
    starts = 0

    def start_dataplane(self):
        Faults.starts += 1
        self.dp = subprocess.Popen(
            [*t.LIVE, "--port", "a=net_null0,no-rx=1", "--port", "b=net_null1,no-rx=1", "--inline", "a:b",
             "--control", self.dp_sock, "--idle-backoff-us", "1000", "--quiet", "--",
             "--no-huge", "-m", "256", "--no-pci", f"--file-prefix=slflt{os.getpid()}_{Faults.starts}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_for(lambda: self.ctl(self.dp_sock, "status").returncode == 0)

    def start_sluiced(self, crash_at=None):
        env = dict(os.environ)
        env.pop("SLUICED_CRASH_AT", None)
        if crash_at:
            env["SLUICED_CRASH_AT"] = crash_at
        if os.path.exists(self.sd_sock):
            os.unlink(self.sd_sock)
        self.sd = subprocess.Popen([SLUICED, "--state-dir", self.state, "--socket", self.sd_sock,
                                    "--dataplane", f"edge={self.dp_sock}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self.wait_for(lambda: self.sd.poll() is not None or self.ctl(self.sd_sock, "status").returncode == 0)

    def stop(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)

    def ctl(self, sock, *args):
        return subprocess.run([CTL, "--socket", sock, "--timeout", "10", "--json", *args],
                              capture_output=True, text=True)

    def js(self, sock, *args):
        p = self.ctl(sock, *args)
        self.assertEqual(p.returncode, 0, (args, p.stderr))
        return json.loads(p.stdout)

    def wait_for(self, cond, seconds=30):
        t.wait_for(self, cond, seconds)

    def dp_sha(self):
        return self.js(self.dp_sock, "status")["engine"]["rules"]["sha256"]

    def push(self, n):
        path = os.path.join(self.tmp, f"v{n}.rules")
        with open(path, "w") as f:
            f.write(RULE.format(n, 9300 + n))
        return self.ctl(self.sd_sock, "rules", "push", path)

    def assert_consistent(self):
        """What a restarted sluiced finds: complete versions, a desired state naming one of
        them, a parseable audit log, no temporaries, modes 0700/0600."""
        for root, dirs, files in os.walk(self.state):
            self.assertEqual(os.stat(root).st_mode & 0o777, 0o700, root)
            for f in files:
                self.assertFalse(f.endswith(".tmp"), (root, f))
                self.assertEqual(os.stat(os.path.join(root, f)).st_mode & 0o077, 0, (root, f))
        versions = sorted(os.listdir(os.path.join(self.state, "rules")))
        for v in versions:
            d = os.path.join(self.state, "rules", v)
            meta = load(os.path.join(d, "meta.json"))
            self.assertTrue(os.path.exists(os.path.join(d, "bundle.bin")), d)
            for i in range(len(meta["files"])):
                self.assertTrue(os.path.exists(os.path.join(d, "src", f"{i}.rules")), d)
        desired = load(os.path.join(self.state, "desired.json"))
        self.assertIn(f"{desired['rules']:06d}", versions)
        with open(os.path.join(self.state, "audit.log")) as f:
            for line in f:
                json.loads(line)
        return desired

    def test_crash_at_every_point_of_the_write_path(self):
        self.dp_sock, self.sd_sock = os.path.join(self.tmp, "dp.sock"), os.path.join(self.tmp, "sd.sock")
        self.start_dataplane()
        try:
            for n, point in enumerate(POINTS):
                with self.subTest(point=point):
                    self.state = os.path.join(self.tmp, f"state-{point}")
                    self.start_sluiced()
                    good = json.loads(self.push(10 * n + 1).stdout)
                    self.wait_for(lambda: self.dp_sha() == good["sha256"])
                    self.stop(self.sd)
                    self.start_sluiced(crash_at=point)
                    p = self.push(10 * n + 2)
                    self.sd.wait(timeout=30)
                    self.assertEqual(self.sd.returncode, -signal.SIGKILL, (point, p.stderr))
                    self.sd.stderr.close()
                    # The dataplane never saw half a change: it runs the last good set.
                    self.assertEqual(self.dp_sha(), good["sha256"], point)
                    self.start_sluiced()
                    desired = self.assert_consistent()
                    meta = load(os.path.join(self.state, "rules", f"{desired['rules']:06d}", "meta.json"))
                    # The fleet converges on what the restarted daemon holds in force.
                    self.wait_for(lambda: self.dp_sha() == meta["sha256"])
                    # And the store takes the next change.
                    after = self.push(10 * n + 3)
                    self.assertEqual(after.returncode, 0, after.stderr)
                    self.wait_for(lambda: self.dp_sha() == json.loads(after.stdout)["sha256"])
                    self.assert_consistent()
                    self.stop(self.sd)
        finally:
            self.stop(self.dp)
            if getattr(self, "sd", None):
                self.stop(self.sd)

    def test_dataplane_killed_during_a_rule_swap_is_resynced(self):
        self.dp_sock, self.sd_sock = os.path.join(self.tmp, "dp.sock"), os.path.join(self.tmp, "sd.sock")
        self.state = os.path.join(self.tmp, "state")
        self.start_dataplane()
        self.start_sluiced()
        try:
            first = json.loads(self.push(1).stdout)
            self.wait_for(lambda: self.dp_sha() == first["sha256"])
            second = json.loads(self.push(2).stdout)  # sluiced starts pushing at once...
            self.dp.send_signal(signal.SIGKILL)       # ...and the dataplane dies around the swap
            self.dp.wait(timeout=30)
            self.start_dataplane()
            self.wait_for(lambda: self.dp_sha() == second["sha256"])
            fleet = self.js(self.sd_sock, "dataplanes", "list")["dataplanes"][0]
            self.assertTrue(fleet["up"])
            self.assertGreaterEqual(fleet["resyncs"], 1)
        finally:
            self.stop(self.sd)
            self.stop(self.dp)

    def test_a_full_disk_refuses_the_change_and_keeps_the_state(self):
        self.dp_sock, self.sd_sock = os.path.join(self.tmp, "dp.sock"), os.path.join(self.tmp, "sd.sock")
        self.state = os.path.join(self.tmp, "small")
        os.makedirs(self.state)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", self.state],
                          capture_output=True).returncode != 0:
            t.skip_check(self, "full-disk", "cannot mount a tmpfs here (needs root)")
        try:
            self.start_dataplane()
            self.start_sluiced()
            first = json.loads(self.push(1).stdout)
            self.wait_for(lambda: self.dp_sha() == first["sha256"])
            before = contents(self.state, ("audit.log",))
            filler = os.path.join(self.state, "filler")
            with open(filler, "wb") as f:  # fill the disk, leaving a few bytes
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            p = self.push(2)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("[storage]", p.stderr)
            self.assertIn("No space left on device", p.stderr)
            st = self.js(self.sd_sock, "status")
            self.assertEqual(st["desired"]["rules"], 1)
            self.assertEqual([v["version"] for v in self.js(self.sd_sock, "rules", "list")["versions"]], [1])
            after = contents(self.state, ("audit.log", "filler"))
            for k, v in before.items():
                self.assertEqual(after.get(k), v, k)
            self.assertEqual(self.dp_sha(), first["sha256"])
            os.unlink(filler)
            p = self.push(3)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(self.js(self.sd_sock, "status")["desired"]["rules"], 2)
        finally:
            if getattr(self, "sd", None):
                self.stop(self.sd)
            if getattr(self, "dp", None):
                self.stop(self.dp)
            subprocess.run(["umount", "-l", self.state], capture_output=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
