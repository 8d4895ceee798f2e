#!/usr/bin/env bash
# Cuts the fuzz seeds for fuzz-http2 from the plaintext HTTP/2 captures in tests/data/h2: each
# connection's TCP payload in capture order as [control][length][bytes] chunks (control bit 0:
# the server's bytes). Needs tshark; the results are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data="$here/../../../data/h2"
for cap in h2c-nghttp h2c-curl; do
  tshark -r "$data/$cap.pcap" -d tcp.port==8080,http2 -Y 'tcp.len > 0' \
    -T fields -e tcp.stream -e tcp.srcport -e tcp.payload | python3 -c '
import sys
out = {}
for line in sys.stdin:
    stream, sport, payload = line.rstrip("\n").split("\t")
    data = bytes.fromhex(payload.replace(":", ""))
    ctl = 1 if sport == "8080" else 0
    buf = out.setdefault(stream, bytearray())
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        buf += bytes([ctl, len(part)]) + part
for stream, buf in [kv for kv in out.items() if len(kv[1]) < 8192][:3]:
    open(sys.argv[1] + "-" + stream + ".bin", "wb").write(buf)
' "$here/$cap"
done
ls -la "$here"
