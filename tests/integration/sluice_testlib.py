"""Shared helpers for sluice's integration tests (stdlib only)."""
import glob
import json
import os
import re
import socket
import struct
import subprocess
import tempfile
import unittest

BUILD = os.environ.get("SLUICE_BUILD", os.path.join(os.path.dirname(__file__), "../../build/release"))
SOURCE = os.environ.get("SLUICE_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
DATAPLANE = os.path.join(BUILD, "dataplane/runtime/sluice-dataplane")
MANGLE = os.path.join(BUILD, "tools/pcap-mangle/sluice-pcap-mangle")
DATA = os.path.join(SOURCE, "tests/data")
CONFORMANCE = os.path.join(SOURCE, "../shared/conformance/ja4")
# The skip marker every suite prints for a check it could not run; tools/setup/test_summary.py
# lists these lines under the closing "N passed, N failed, N skipped" line.
SKIP_MARK = "sluice-skip:"


def skip_check(test, check, reason):
    """Skips `check` of `test` (a unittest.TestCase) with a line the suite summary collects."""
    print(f"{SKIP_MARK} {check}: {reason}", flush=True)
    test.skipTest(f"{check}: {reason}")


def needs_conformance(test):
    """Skips a test that reads ../shared/conformance when a plain clone has no ../shared."""
    if not os.path.isdir(CONFORMANCE):
        skip_check(test, test.id().rsplit(".", 1)[-1],
                   f"{os.path.normpath(CONFORMANCE)} is absent (a clone without ../shared)")


def data_captures():
    return sorted(glob.glob(os.path.join(DATA, "*.pcap")))


def tls_captures():
    """(capture, key log) pairs of the real-client TLS captures."""
    return [(p, p[:-5] + ".keylog") for p in sorted(glob.glob(os.path.join(DATA, "tls", "*.pcap")))]


def conformance_captures():
    return sorted(p for p in glob.glob(os.path.join(CONFORMANCE, "*.pcap*")) if not p.endswith(".json"))


def tso_option(pcap):
    """The conformance captures were taken on sending hosts, some before TSO segmentation (IP
    length 0): they are read with the explicit option for such captures."""
    return ("--tso-lengths",) if os.path.abspath(pcap).startswith(os.path.abspath(CONFORMANCE)) else ()


def every_capture(check):
    """The repository's own captures (tests/data and below) plus the conformance captures of
    ../shared; without ../shared, `check` notes that those were skipped."""
    own = data_captures() + [os.path.join(DATA, "tls", n) for n in
                             ("tls12-aes128gcm.pcap", "tls13-chacha20.pcap", "tls13-hrr-keyupdate.pcap")]
    if not os.path.isdir(CONFORMANCE):
        print(f"{SKIP_MARK} {check} (conformance captures): {os.path.normpath(CONFORMANCE)} is absent",
              flush=True)
    return own + conformance_captures()


def run(args, check=True, **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def in_ns(ns, *args, check=True, **kw):
    return run(["ip", "netns", "exec", ns, *args], check=check, **kw)


def veth(ns_a, if_a, ns_b, if_b):
    run(["ip", "link", "add", if_a, "type", "veth", "peer", "name", if_b])
    for ns, ifn in ((ns_a, if_a), (ns_b, if_b)):
        run(["ip", "link", "set", ifn, "netns", ns])
        in_ns(ns, "ip", "link", "set", ifn, "up")
        # Checksum and segmentation offloads off: frames must be complete on the wire.
        in_ns(ns, "ethtool", "-K", ifn, "tx", "off", "tso", "off", "gso", "off", "gro", "off", check=False)


def netns_bridge(cli, dp, srv, cli_ip, srv_ip):
    """Three namespaces: a client (c0, cli_ip/24) and a server (s0, srv_ip/24), each joined by a
    veth pair to the middle one, where sluice-dataplane bridges c1 and s1 over net_af_packet."""
    for ns in (cli, dp, srv):
        run(["ip", "netns", "add", ns])
    veth(cli, "c0", dp, "c1")
    veth(dp, "s1", srv, "s0")
    in_ns(cli, "ip", "addr", "add", cli_ip + "/24", "dev", "c0")
    in_ns(srv, "ip", "addr", "add", srv_ip + "/24", "dev", "s0")
    for ns in (cli, srv):
        in_ns(ns, "ip", "link", "set", "lo", "up")


def netns_remove(*names):
    for ns in names:
        run(["ip", "netns", "del", ns], check=False)


def dataplane(*args, check=True, **kw):
    return run([DATAPLANE, *args], check=check, **kw)


def offline(pcap, workdir, *extra, workers=1):
    """Runs offline mode; returns (summary dict, eve records, paths)."""
    eve = os.path.join(workdir, "eve.json")
    out = os.path.join(workdir, "out.pcap")
    summary = os.path.join(workdir, "summary.json")
    for f in (eve, out):
        if os.path.exists(f):
            os.remove(f)
    dataplane("--pcap", pcap, "--eve", eve, "--pcap-out", out, "--summary-json", summary,
              "--workers", str(workers), "--quiet", *tso_option(pcap), *extra)
    with open(summary) as f:
        s = json.load(f)
    with open(eve) as f:
        records = [json.loads(line) for line in f]
    return s, records, {"eve": eve, "out": out}


def alert_counts(eve):
    """{signature_id: alerts} of EVE records."""
    got = {}
    for r in eve:
        if r["event_type"] == "alert":
            got[r["alert"]["signature_id"]] = got.get(r["alert"]["signature_id"], 0) + 1
    return got


def read_frames(path):
    """Frame bytes of a capture (pcap or pcapng), in order, via editcap's pcap conversion."""
    with tempfile.NamedTemporaryFile(suffix=".pcap") as tmp:
        run(["editcap", "-F", "pcap", path, tmp.name])
        with open(tmp.name, "rb") as f:
            data = f.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def capinfos(path):
    out = run(["capinfos", "-M", "-c", "-d", path]).stdout
    packets = int(re.search(r"Number of packets:\s+(\d+)", out).group(1))
    size = int(re.search(r"Data size:\s+(\d+)", out).group(1))
    return packets, size


def tshark_tcp_streams(path):
    """Per tcp.stream: frames and bytes, from tshark's own dissection."""
    out = run(["tshark", "-r", path, "-T", "fields", "-e", "tcp.stream", "-e", "frame.len",
               "-Y", "tcp && !icmp && !icmpv6"]).stdout
    streams = {}
    for line in out.splitlines():
        sid, flen = line.split("\t")
        s = streams.setdefault(int(sid), [0, 0])
        s[0] += 1
        s[1] += int(flen)
    return streams


def tshark_conv_tcp(path):
    """[(A, B, frames B->A, frames A->B)] per conversation from `tshark -z conv,tcp`."""
    out = run(["tshark", "-r", path, "-q", "-z", "conv,tcp"]).stdout
    convs = []
    for line in out.splitlines():
        toks = line.split()
        if len(toks) < 9 or toks[1] != "<->":
            continue
        i, frames = 3, []
        while len(frames) < 3:
            frames.append(int(toks[i]))
            i += 2  # frames, byte count
            if i < len(toks) and toks[i] in ("bytes", "kB", "MB", "GB"):
                i += 1
        convs.append((toks[0], toks[2], frames[0], frames[1]))
    return convs


def tshark_follow_raw(path, stream, proto="tcp", keylog=None, client_port=None):
    """(client bytes, server bytes) of stream N as tshark reassembles (and, for tls with a
    key log, decrypts) it. tshark prints node 0's bytes unindented and node 1's after a tab;
    node 0 is the client unless `client_port` says otherwise."""
    args = ["tshark", "-r", path, "-q", "-z", f"follow,{proto},raw,{stream}"]
    if keylog:
        args[1:1] = ["-o", f"tls.keylog_file:{keylog}"]
    out = run(args).stdout
    node0, node1 = bytearray(), bytearray()
    node0_port = None
    for line in out.splitlines():
        m = re.match(r"Node 0: .*:(\d+)$", line)
        if m:
            node0_port = int(m.group(1))
        if not re.fullmatch(r"\t?[0-9a-f]+", line):
            continue
        if line.startswith("\t"):
            node1 += bytes.fromhex(line[1:])
        else:
            node0 += bytes.fromhex(line)
    if client_port is not None and node0_port is not None and node0_port != client_port:
        node0, node1 = node1, node0
    return bytes(node0), bytes(node1)


def dump_streams(pcap, directory, *extra):
    os.makedirs(directory, exist_ok=True)
    dataplane("--pcap", pcap, "--dump-streams", directory, "--quiet", *tso_option(pcap), *extra)
    files = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            files[name] = f.read()
    return files


def make_test_pki(d, cas, leaves):
    """Test CAs (`cas`: names) and leaf certificates (`leaves`: (name, ca, subjectAltName)),
    RSA 2048, valid two days: NAME.pem and NAME.key in `d`; each leaf's subject is CN=NAME."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    for ca in cas:
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=sluice test {ca}",
                "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    for name, ca, san in leaves:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr")
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")


def free_port():
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="sluice-test-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()


# The control protocol's frames (docs/control-protocol.md), for tests that misbehave on purpose.
def control_frame(obj, blob=b"", raw_json=None):
    body = raw_json if raw_json is not None else json.dumps(obj).encode()
    return b"SLC1\0\1\0\0" + struct.pack(">II", len(body), len(blob)) + body + blob


def read_control_frame(sock, timeout=10):
    """One answer frame as (json, blob); None if the peer closed first."""
    sock.settimeout(timeout)
    buf = b""
    while True:
        if len(buf) >= 16:
            jl, bl = struct.unpack(">II", buf[8:16])
            if len(buf) >= 16 + jl + bl:
                return json.loads(buf[16:16 + jl]), buf[16 + jl:16 + jl + bl]
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk


def control_request(sock, cmd, args=None, blob=b"", rid=1, timeout=10):
    sock.sendall(control_frame({"id": rid, "cmd": cmd, "args": args or {}}, blob))
    answer = read_control_frame(sock, timeout)
    return answer[0] if answer else None


def unix_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def thread_count(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("Threads:")).split()[1])


# Live dataplanes run on an account secret of the test run's own (a live dataplane refuses the
# public default key): 32 random bytes, hex, mode 0600, removed at exit.
def _make_account_secret():
    import atexit
    import secrets
    import shutil
    d = tempfile.mkdtemp(prefix="sluice-secret-")
    atexit.register(shutil.rmtree, d, True)
    path = os.path.join(d, "account.secret")
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, value.encode() + b"\n")
    os.close(fd)
    return path, value.encode()


ACCOUNT_SECRET_FILE, ACCOUNT_SECRET = _make_account_secret()
SECRET_ARGS = ["--account-secret-file", ACCOUNT_SECRET_FILE]
LIVE = [DATAPLANE, *SECRET_ARGS]


def account_id(key, secret=None):
    """The dataplane's account id of an API key: HMAC-SHA256 under the secret, 16 hex digits."""
    import hashlib
    import hmac
    return hmac.new(secret or ACCOUNT_SECRET, key.encode(), hashlib.sha256).hexdigest()[:16]


def wait_for(test, cond, seconds=30, step=0.1):
    """Polls `cond` until it is true; fails `test` (a unittest.TestCase) after `seconds`."""
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return
        time.sleep(step)
    test.fail("timed out waiting for a condition")


def http2_frames(http2_layer):
    """The HTTP/2 frames of one packet in tshark's JSON (-T json -O http2): every dict with a
    stream id and a type, wherever tshark nests it (several frames may share a packet)."""
    found = []

    def walk(o):
        if isinstance(o, dict):
            if "http2.streamid" in o and "http2.type" in o:
                found.append(o)
                return
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(http2_layer)
    return found
