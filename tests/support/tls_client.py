#!/usr/bin/env python3
"""A second TLS client for the captures: Python's ssl module (OpenSSL underneath, a different
ClientHello than curl's), with keylog_filename. Keep-alive: the GETs go over one connection,
then a POST with a body on a second one.
  tls_client.py HOST IP KEYLOG {1.2|1.3} [CIPHERS] -- PATH... -- UPLOAD_FILE"""
import http.client
import socket
import ssl
import sys


def main():
    host, ip, keylog, version = sys.argv[1:5]
    rest = sys.argv[5:]
    ciphers = rest[0] if rest and rest[0] != "--" else None
    i = rest.index("--")
    j = rest.index("--", i + 1)
    paths, upload = rest[i + 1:j], rest[j + 1]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = keylog
    v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ctx.maximum_version = v
    if ciphers:
        ctx.set_ciphers(ciphers)

    def connect():
        c = http.client.HTTPSConnection(host, 443, context=ctx)
        c.sock = ctx.wrap_socket(socket.create_connection((ip, 443)), server_hostname=host)
        return c

    conn = connect()
    for p in paths:
        conn.request("GET", p)
        conn.getresponse().read()
    conn.close()
    conn = connect()
    with open(upload, "rb") as f:
        conn.request("POST", "/upload", body=f.read(), headers={"Content-Type": "application/octet-stream"})
    conn.getresponse().read()
    conn.close()


if __name__ == "__main__":
    main()
