"""Redis servers for the fleet tests, started and stopped by the test itself: a standalone
server (optionally with an ACL user and the default user off) and a Redis Cluster of N masters
with R replicas each, all on loopback ports with no persistence, in a temporary directory."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def _free_ports(n):
    """n distinct loopback ports nothing listens on, with port+10000 free too (the cluster bus)."""
    ports = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p + 10000 > 65535 or p in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p + 10000))
            except OSError:
                continue
        ports.append(p)
    return ports


def cli(port, *args, user=None, password=None, check=True):
    cmd = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), "--no-auth-warning"]
    if user:
        cmd += ["--user", user]
    if password:
        cmd += ["--pass", password]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, errors="replace", timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(map(str, args))}: {r.stderr}")
    return r.stdout.strip()


class _Server:
    def __init__(self, port, workdir, extra):
        self.port = port
        self.dir = os.path.join(workdir, str(port))
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "redis.log")
        self.args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", self.dir, "--logfile", self.log,
                     "--enable-debug-command", "local", *extra]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


class Standalone:
    """One server; with `user`, the default user is off and only `user`/`password` gets in."""

    def __init__(self, user=None, password=None):
        self.tmp = tempfile.mkdtemp(prefix="sluice-redis-")
        self.port = _free_ports(1)[0]
        self.user, self.password = user, password
        extra = []
        if user:
            extra = ["--user", "default", "off", "--user", user, "on", ">" + password, "~*", "&*", "+@all"]
        self.server = _Server(self.port, self.tmp, extra)

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self, *args, check=True):
        return cli(self.port, *args, user=self.user, password=self.password, check=check)


class Cluster:
    """`masters` masters with `replicas` replicas each, slots spread by redis-cli."""

    def __init__(self, masters=3, replicas=1):
        self.tmp = tempfile.mkdtemp(prefix="sluice-redis-cluster-")
        n = masters * (1 + replicas)
        self.ports = _free_ports(n)
        self.replicas = replicas
        self.servers = [_Server(p, self.tmp, ["--cluster-enabled", "yes", "--cluster-config-file",
                                              "nodes.conf", "--cluster-node-timeout", "2000"])
                        for p in self.ports]

    def __enter__(self):
        try:
            for s in self.servers:
                s.start()
            cli(self.ports[0], "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.ports],
                "--cluster-replicas", self.replicas, "--cluster-yes")
            self.wait_ok()
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def wait_ok(self, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            live = [s for s in self.servers if s.proc.poll() is None]
            # Every node sees the whole map, and every replica finished its sync (a replica
            # that never synced will not take over from a failed master).
            if all("cluster_state:ok" in cli(s.port, "cluster", "info", check=False) for s in live) and \
                    all("role:master" in i or "master_link_status:up" in i
                        for i in (cli(s.port, "info", "replication", check=False) for s in live)):
                return
            time.sleep(0.1)
        raise RuntimeError("the cluster did not reach cluster_state:ok")

    def seeds(self):
        return [f"127.0.0.1:{p}" for p in self.ports]

    def masters(self):
        out = []
        live = next(x.port for x in self.servers if x.proc.poll() is None)
        for line in cli(live, "cluster", "nodes").splitlines():
            f = line.split()
            if "master" in f[2] and "fail" not in f[2]:
                out.append(int(f[1].split("@")[0].rsplit(":", 1)[1]))
        return out

    def keys(self):
        """Every key on every master, with its value (strings and hashes), for privacy scans."""
        found = {}
        for p in self.masters():
            for k in cli(p, "--scan").splitlines():
                t = cli(p, "type", k, check=False)
                if t == "hash":
                    found[k] = cli(p, "hgetall", k, check=False)
                else:
                    found[k] = cli(p, "get", k, check=False)
        return found
