#!/usr/bin/env python3
"""An HTTP/2 server for enforcement tests (python3-h2): prior knowledge (h2c) in plaintext, or
TLS with ALPN h2 when given a certificate and key. It appends every byte it receives
(decrypted, for TLS) to a log file, so a test can prove a stopped request never reached it,
and answers each request 200 with a JSON body in the Messages API's shape.
recording_h2_server.py ADDR PORT LOGFILE [CERT KEY]"""
import json
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.events

LOCK = threading.Lock()


def serve(sock, log):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    while True:
        try:
            data = sock.recv(65536)
        except (OSError, ssl.SSLError):
            return
        if not data:
            return
        with LOCK, open(log, "ab") as f:
            f.write(data)
        try:
            events = conn.receive_data(data)
        except Exception:  # a protocol error from the peer: the test sees it in the log
            return
        for ev in events:
            if isinstance(ev, h2.events.StreamEnded):
                body = json.dumps({"id": "msg_1", "type": "message", "role": "assistant",
                                   "content": [{"type": "text", "text": "fine"}],
                                   "usage": {"input_tokens": 5, "output_tokens": 1}}).encode()
                conn.send_headers(ev.stream_id, [(":status", "200"), ("content-type", "application/json"),
                                                 ("content-length", str(len(body)))])
                conn.send_data(ev.stream_id, body, end_stream=True)
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        out = conn.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except (OSError, ssl.SSLError):
                return


def main():
    addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    tls = None
    if len(sys.argv) > 5:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[4], sys.argv[5])
        tls.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
        tls.set_alpn_protocols(["h2"])
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(64)
    while True:
        s, _ = lsock.accept()

        def run(s=s):
            try:
                if tls is not None:
                    s = tls.wrap_socket(s, server_side=True)
                serve(s, log)
            except (OSError, ssl.SSLError):
                pass
            finally:
                s.close()
        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    main()
