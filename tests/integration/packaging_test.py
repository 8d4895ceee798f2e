#!/usr/bin/env python3
"""The Debian packages, built from the release tree the suite just tested
(tools/packaging/build-debs.sh --prebuilt), checked as a network team would use them:
lintian finds no error or warning, `dpkg -i` installs them, the programs run from /usr/bin
(--help, and an offline run of an installed sluice-synth capture over the installed packs:
its alerts equal the build tree's over the source tree's packs), /etc/sluice overrides the
shipped files, the units pass `systemd-analyze verify` and systemd's own exposure score,
logrotate accepts its file, the man pages come from --help, and `dpkg --purge` leaves nothing
of them behind. Installs system-wide: serial, and every package is purged at the end."""
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import sluice_testlib as t  # noqa: E402

PACKAGES = ["sluice-dataplane", "sluiced", "sluicectl", "sluice-tools"]
PROGRAMS = {"sluice-dataplane": "sluice-dataplane", "sluiced": "sluiced", "sluicectl": "sluicectl",
            "sluice-synth": "sluice-tools", "sluice-pktgen": "sluice-tools",
            "sluice-pcap-mangle": "sluice-tools"}
UNITS = ["/lib/systemd/system/sluiced.service", "/lib/systemd/system/sluice-dataplane@.service"]


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return "install ok installed" in p.stdout


def purge():
    present = [p for p in PACKAGES if installed(p) or
               subprocess.run(["dpkg", "-s", p], capture_output=True).returncode == 0]
    if present:
        subprocess.run(["dpkg", "--purge", *present], capture_output=True, check=True)


def alert_sids(eve):
    out = []
    with open(eve) as f:
        for line in f:
            r = json.loads(line)
            if r.get("event_type") == "alert":
                out.append(r["alert"]["signature_id"])
    return sorted(out)


class Packaging(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("installs packages: needs root")
        # Never replace or purge an installation this test did not make.
        present = [p for p in PACKAGES if installed(p)]
        if present or os.path.exists("/etc/sluice"):
            print(f"{t.SKIP_MARK} packaging: sluice is installed here ({', '.join(present) or '/etc/sluice'}); "
                  "the test would replace and purge it", flush=True)
            raise unittest.SkipTest("sluice is installed on this machine")
        cls._dir = tempfile.TemporaryDirectory(prefix="sluice-pkg-")
        cls.dir = cls._dir.name
        cls.out = os.path.join(cls.dir, "debs")
        # The suite packages the tree it tested; suite 'slow' (SLUICE_PACKAGING_FROM_SOURCE=1)
        # builds from the sources as build-debs.sh does by default (about 6 minutes on 2 cores).
        prebuilt = [] if os.environ.get("SLUICE_PACKAGING_FROM_SOURCE") else ["--prebuilt", os.path.realpath(t.BUILD)]
        p = subprocess.run([os.path.join(t.SOURCE, "tools/packaging/build-debs.sh"), *prebuilt,
                            "--out", cls.out], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"build-debs.sh failed:\n{p.stdout}\n{p.stderr}")
        cls.debs = sorted(glob.glob(os.path.join(cls.out, "*.deb")))
        p = subprocess.run(["dpkg", "-i", *cls.debs], capture_output=True, text=True)
        if p.returncode != 0:
            purge()
            raise RuntimeError(f"dpkg -i failed:\n{p.stdout}\n{p.stderr}")

    @classmethod
    def tearDownClass(cls):
        purge()
        shutil.rmtree("/etc/sluice", ignore_errors=True)
        cls._dir.cleanup()

    def test_1_packages_and_lintian(self):
        names = {os.path.basename(d).split("_")[0] for d in self.debs}
        self.assertEqual(names - {p + "-dbgsym" for p in PACKAGES}, set(PACKAGES))
        changes = glob.glob(os.path.join(self.out, "*.changes"))
        self.assertEqual(len(changes), 1)
        p = subprocess.run(["lintian", "--pedantic", "--fail-on", "error,warning", changes[0]],
                           capture_output=True, text=True)
        findings = [ln for ln in p.stdout.splitlines() if re.match(r"^[EW]: ", ln)]
        self.assertEqual(findings, [], p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_2_files_where_debian_puts_them(self):
        for prog, pkg in PROGRAMS.items():
            path = f"/usr/bin/{prog}"
            self.assertTrue(os.access(path, os.X_OK), path)
            owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True).stdout
            self.assertTrue(owner.startswith(pkg + ":"), owner)
        for f in ["/usr/share/sluice/policy/default.yaml", "/usr/share/sluice/classification.config",
                  "/usr/share/bash-completion/completions/sluicectl", "/etc/sluice/sluiced.yaml",
                  "/etc/default/sluice-dataplane", "/etc/logrotate.d/sluice-dataplane", *UNITS]:
            self.assertTrue(os.path.isfile(f), f)
        self.assertTrue(glob.glob("/usr/share/sluice/packs/*.rules"))
        # Shipped rules are not conffiles (updates never prompt); the local layer is.
        conff = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "sluice-dataplane"],
                               capture_output=True, text=True).stdout
        self.assertNotIn("/usr/share/sluice", conff)
        self.assertIn("/etc/default/sluice-dataplane", conff)
        # The system user the units run as (systemd-sysusers from the postinst).
        self.assertEqual(subprocess.run(["id", "-u", "sluice"], capture_output=True).returncode, 0)

    def test_3_help_from_usr_bin(self):
        for prog in PROGRAMS:
            p = subprocess.run([f"/usr/bin/{prog}", "--help"], capture_output=True, text=True,
                               cwd=self.dir)
            self.assertEqual(p.returncode, 0, (prog, p.stderr))
            self.assertIn("Usage:", p.stdout, prog)
        # Man pages are help2man's rendering of the same --help.
        with gzip.open("/usr/share/man/man1/sluicectl.1.gz", "rt") as f:
            man = f.read()
        self.assertIn("help2man", man)
        self.assertIn(r"\-\-socket", man)

    def test_4_offline_run_with_installed_packs(self):
        syn = os.path.join(self.dir, "syn")
        subprocess.run(["/usr/bin/sluice-synth", "--scenario", "hydra", "--seed", "11", "--scale", "0.3",
                        "--plaintext", "--quiet", "--out", syn], check=True, cwd=self.dir)
        pcap = os.path.join(syn, "traffic.pcap")

        def run(binary, name, *extra):
            eve, summary = os.path.join(self.dir, f"{name}.json"), os.path.join(self.dir, f"{name}.summary")
            p = subprocess.run([binary, "--pcap", pcap, "--eve", eve, "--summary-json", summary, "--quiet", *extra],
                               capture_output=True, text=True, cwd=self.dir)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(summary) as f:
                return alert_sids(eve), json.load(f)

        sids, s = run("/usr/bin/sluice-dataplane", "installed")
        self.assertTrue(s["engine"]["rules"]["files"])
        self.assertTrue(all(f.startswith("/usr/share/sluice/packs/") for f in s["engine"]["rules"]["files"]),
                        s["engine"]["rules"]["files"])
        self.assertGreater(len(sids), 10)
        # The oracle: the build tree's binary over the source tree's packs and policy.
        ref, _ = run(t.DATAPLANE, "build-tree", "--rules", os.path.join(t.SOURCE, "rules/packs"),
                     "--policy", os.path.join(t.SOURCE, "rules/policy/default.yaml"))
        self.assertEqual(sids, ref)

        # /etc/sluice overrides: a local pack of the same name replaces the shipped one, a new
        # one is added, a local policy is the one read.
        shipped = sorted(os.path.basename(f) for f in glob.glob("/usr/share/sluice/packs/*.rules"))
        first = shipped[0]
        try:
            with open(f"/etc/sluice/packs/{first}", "w") as f:
                f.write('alert http any any -> any any (msg:"local override"; http.method; content:"POST"; '
                        'sid:9100001; rev:1;)\n')
            with open("/etc/sluice/packs/local.rules", "w") as f:
                f.write('alert http any any -> any any (msg:"local addition"; http.uri; content:"/v1/"; '
                        'sid:9100002; rev:1;)\n')
            sids2, s2 = run("/usr/bin/sluice-dataplane", "override")
            files = s2["engine"]["rules"]["files"]
            self.assertIn(f"/etc/sluice/packs/{first}", files)
            self.assertIn("/etc/sluice/packs/local.rules", files)
            self.assertNotIn(f"/usr/share/sluice/packs/{first}", files)
            self.assertIn(9100001, sids2)
            self.assertIn(9100002, sids2)
            with open("/etc/sluice/policy/default.yaml", "w") as f:
                f.write("rules: [\n")  # broken on purpose: the error must name the local file
            p = subprocess.run(["/usr/bin/sluice-dataplane", "--pcap", pcap, "--quiet"],
                               capture_output=True, text=True, cwd=self.dir)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("/etc/sluice/policy/default.yaml", p.stderr)
        finally:
            for f in glob.glob("/etc/sluice/packs/*") + glob.glob("/etc/sluice/policy/*"):
                os.remove(f)

    def test_5_units_verify(self):
        # The template is verified through an instance; systemd-analyze prints nothing for a
        # clean unit (unknown keys and bad values are warnings on stderr, not failures).
        for unit in ["sluiced.service", "sluice-dataplane@edge0.service"]:
            p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr.strip(), "", unit)
        # systemd's own exposure score (0 safest, 10 unconfined); see docs/deployment.md.
        for unit, most in [(UNITS[0], 2.5), (UNITS[1], 5.0)]:
            p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
                               capture_output=True, text=True)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout + p.stderr)
            self.assertIsNotNone(m, p.stdout + p.stderr)
            self.assertLessEqual(float(m.group(1)), most, (unit, p.stdout))
        # ExecReload sends SIGHUP; what it does is documented in each unit.
        for u in UNITS:
            with open(u) as f:
                text = f.read()
            self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", text)
            self.assertIn("User=sluice", text)

    def test_6_logrotate_accepts_its_file(self):
        state = os.path.join(self.dir, "logrotate.state")
        p = subprocess.run(["logrotate", "--debug", "--state", state, "/etc/logrotate.d/sluice-dataplane"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("error", p.stderr.lower())

    def test_7_purge_leaves_nothing(self):
        purge()
        for prog in PROGRAMS:
            self.assertFalse(os.path.exists(f"/usr/bin/{prog}"), prog)
        for path in ["/usr/share/sluice", "/etc/sluice/sluiced.yaml", "/etc/default/sluice-dataplane",
                     *UNITS]:
            self.assertFalse(os.path.exists(path), path)
        for p in PACKAGES:
            self.assertFalse(installed(p), p)


if __name__ == "__main__":
    unittest.main(verbosity=2)
