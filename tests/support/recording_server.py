#!/usr/bin/env python3
"""A small HTTP/1.1 server for enforcement tests that appends every byte it receives to a log
file (nginx logs nothing for an aborted request), so a test can prove a stopped request's
last bytes never reached it. Keep-alive, Content-Length bodies; answers 200 with a JSON body
in the Messages API's shape (token usage included). With a certificate and key it speaks TLS
(Python's ssl: TLS 1.2 and 1.3) and logs the decrypted bytes.
recording_server.py ADDR PORT LOGFILE [CERT KEY]"""
import json
import socketserver
import ssl
import sys
import threading

LOCK = threading.Lock()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        buf = b""
        sock = self.request
        if self.server.tls is not None:
            try:
                sock = self.server.tls.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                return
        while True:
            try:
                chunk = sock.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not chunk:
                return
            with LOCK, open(self.server.log, "ab") as f:
                f.write(chunk)
            buf += chunk
            while b"\r\n\r\n" in buf:
                head, rest = buf.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if len(rest) < length:
                    break
                buf = rest[length:]
                body = json.dumps({"id": "msg_1", "type": "message", "role": "assistant",
                                   "content": [{"type": "text", "text": "fine"}],
                                   "usage": {"input_tokens": 5, "output_tokens": 1}}).encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(body), body))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    srv = Server((sys.argv[1], int(sys.argv[2])), Handler)
    srv.log = sys.argv[3]
    srv.tls = None
    if len(sys.argv) > 5:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(sys.argv[4], sys.argv[5])
        srv.tls.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")  # the AEAD suites sluice decrypts
    srv.serve_forever()
