"""A Redis that lies, for the fleet's routing tests: it speaks RESP well enough to be dialled,
then answers with what a broken or hostile server could send. One behaviour per server:

- bad-slots: CLUSTER SLOTS answers malformed ranges (negative, past 16383, wrong types, ports
  out of range) and an array nested far deeper than any real reply;
- moved-loop: the map says every slot is here, every command answers MOVED back to itself;
- moved-elsewhere: the map and CLUSTER NODES name only itself, every command answers MOVED to
  an address outside the cluster (where an edge must not take its password);
- truncated: every command gets a bulk string that announces a gigabyte and then the
  connection closes."""
import socket
import socketserver
import threading


def _read_command(f):
    line = f.readline()
    if not line.startswith(b"*"):
        return None
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:-2])
    return args


def _deep(n):
    return b"*1\r\n" * n + b":1\r\n"


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        mode, port = self.server.mode, self.server.server_address[1]
        while True:
            try:
                cmd = _read_command(self.rfile)
            except (OSError, ValueError):
                return
            if cmd is None:
                return
            name = b" ".join(cmd[:2]).upper()
            if mode == "bad-slots" and name == b"CLUSTER SLOTS":
                out = (b"*6\r\n"
                       b"*3\r\n:-5\r\n:99999\r\n*2\r\n$0\r\n\r\n:0\r\n"
                       b"*2\r\n:1\r\n$1\r\nx\r\n"
                       b"*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:70000\r\n"
                       b"*3\r\n:10\r\n:5\r\n*2\r\n$9\r\n127.0.0.1\r\n:6379\r\n"
                       b"$5\r\nhello\r\n" + _deep(40))
            elif mode == "moved-loop" and name == b"CLUSTER SLOTS":
                out = b"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:%d\r\n" % port
            elif mode == "moved-loop":
                out = b"-MOVED 42 127.0.0.1:%d\r\n" % port
            elif mode == "moved-elsewhere" and name == b"CLUSTER SLOTS":
                out = b"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:%d\r\n" % port
            elif mode == "moved-elsewhere" and name == b"CLUSTER NODES":
                line = b"abc 127.0.0.1:%d@%d myself,master - 0 0 1 connected 0-16383\n" % (port, port + 10000)
                out = b"$%d\r\n%s\r\n" % (len(line), line)
            elif mode == "moved-elsewhere":
                out = b"-MOVED 42 127.0.0.2:6390\r\n"
            elif mode == "truncated" and name == b"CLUSTER SLOTS":
                out = b"-ERR This instance has cluster support disabled\r\n"
            elif mode == "truncated":
                self.wfile.write(b"$1000000000\r\nabc")
                self.wfile.flush()
                return
            else:
                out = b"-ERR unknown\r\n"
            self.wfile.write(out)
            self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def start(mode):
    """Starts one lying server on a loopback port; returns (server, port)."""
    s = _Server(("127.0.0.1", 0), _Handler)
    s.mode = mode
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s, s.server_address[1]
