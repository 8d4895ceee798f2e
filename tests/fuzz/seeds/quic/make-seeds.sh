#!/usr/bin/env bash
# Cuts the fuzz seeds for fuzz-quic: the client Initial datagrams of the ngtcp2 captures in
# tests/data/quic as raw chunks (control 0), and the CRYPTO frames of RFC 9001 A.2's hello as
# sealed chunks (control 2: the harness seals them), second half first. Chunks are
# [control][u16 length][bytes]. Needs tshark; the results are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data="$here/../../../data/quic"
for cap in quic-v1-ngtcp2 quic-retry-ngtcp2; do
  tshark -r "$data/$cap.pcap" -Y 'udp.dstport == 4433' -T fields -e udp.payload |
    python3 -c '
import sys
out = bytearray()
for line in sys.stdin.read().splitlines()[:2]:
    data = bytes.fromhex(line.strip().replace(":", ""))
    out += bytes([0, len(data) >> 8, len(data) & 0xff]) + data
open(sys.argv[1], "wb").write(out)
' "$here/$cap.bin"
done
python3 - "$here/rfc9001-a2-sealed.bin" <<'PY'
import sys
crypto = bytes.fromhex(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff")
# Two sealed packets: the second half of the hello first, then the first (CRYPTO offsets).
def frame(off, data):
    return bytes([0x06, 0x40 | off >> 8, off & 0xff, 0x40 | len(data) >> 8, len(data) & 0xff]) + data
hello = crypto[4:]
half = len(hello) // 2
a, b = frame(half, hello[half:]), frame(0, hello[:half])
open(sys.argv[1], "wb").write(bytes([2, 0, len(a)]) + a + bytes([2, 0, len(b)]) + b)
PY
ls -la "$here"
