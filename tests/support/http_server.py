#!/usr/bin/env python3
"""A tiny HTTP/1.1 server for tests: GET serves files from a directory, POST answers with
the SHA-256 and length of the body it received. Keep-alive is on. With CERT and KEY it
serves HTTPS.  http_server.py ADDR PORT ROOT [CERT KEY]"""
import hashlib
import http.server
import os
import socket
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        reply = f"{hashlib.sha256(body).hexdigest()} {len(body)}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, fmt, *args):
        pass


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def main():
    addr, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    certs = [os.path.abspath(p) for p in sys.argv[4:6]]
    sys.argv[4:6] = certs
    os.chdir(root)
    server_cls = V6Server if ":" in addr else http.server.ThreadingHTTPServer
    server_cls.allow_reuse_address = True
    with server_cls((addr, port), Handler) as httpd:
        if len(sys.argv) > 5:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(sys.argv[4], sys.argv[5])
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main()
