#!/usr/bin/env python3
"""A small HTTP/1.1 server that accepts Upgrade: h2c (RFC 7540 section 3.2) with python3-h2, for
tests/data/make-h2-upgrade-captures.sh (nginx and nghttpd do not upgrade). It answers the
upgraded request on stream 1 and every later stream with the file under ROOT named by the path
(POSTs get a JSON answer with token usage); without Upgrade it answers over HTTP/1.1.
Usage: h2c_upgrade_server.py ADDRESS PORT ROOT"""
import json
import os
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events

ADDRESS, PORT, ROOT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ANSWER = json.dumps({"id": "msg", "usage": {"input_tokens": 21, "output_tokens": 7}}).encode()


def content(method, path):
    if method == "POST":
        return ANSWER, "application/json"
    name = os.path.join(ROOT, path.lstrip("/").split("?")[0])
    with open(name, "rb") as f:
        body = f.read()
    return body, "application/json" if name.endswith(".json") or "/v1/" in name else "text/plain"


def respond(conn, stream, method, path):
    body, ctype = content(method, path)
    conn.send_headers(stream, [(":status", "200"), ("content-type", ctype),
                               ("content-length", str(len(body)))])
    while body:  # within the peer's window and frame size
        n = min(len(body), conn.local_flow_control_window(stream), conn.max_outbound_frame_size)
        conn.send_data(stream, body[:n], end_stream=n == len(body))
        body = body[n:]


def serve(sock):
    with sock:
        buf = b""
        while b"\r\n\r\n" not in buf:
            more = sock.recv(65536)
            if not more:
                return
            buf += more
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        fields = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
        if fields.get("upgrade", "").lower() != "h2c":
            body, ctype = content(method, path)
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n"
                         % (ctype.encode(), len(body)) + body)
            return
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_upgrade_connection(fields.get("http2-settings", ""))
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        respond(conn, 1, method, path)
        sock.sendall(conn.data_to_send())
        requests = {}
        data = rest
        while True:
            if data:
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        h = dict((k.decode() if isinstance(k, bytes) else k,
                                  v.decode() if isinstance(v, bytes) else v) for k, v in ev.headers)
                        requests[ev.stream_id] = (h[":method"], h[":path"])
                    elif isinstance(ev, h2.events.DataReceived):
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id in requests:
                        respond(conn, ev.stream_id, *requests.pop(ev.stream_id))
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        sock.sendall(conn.data_to_send())
                        return
                sock.sendall(conn.data_to_send())
            data = sock.recv(65536)
            if not data:
                return


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((ADDRESS, PORT))
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
