#!/usr/bin/env bash
# Makes the QUIC captures under tests/data/quic: ngtcp2's GnuTLS example server and client
# (gtlsserver and gtlsclient from Debian's ngtcp2-server and ngtcp2-client) in two network
# namespaces, one connection each: QUIC version 1, and version 1 through a Retry (the server
# validates the address first). Version 2 is covered by RFC 9369's vectors in the unit tests:
# Debian 12's ngtcp2 0.12 speaks only the withdrawn v2 draft (0x709a50c4), not RFC 9369.
# Needs `apt-get install ngtcp2-client ngtcp2-server` (the tests read the committed captures,
# so tools/setup/install-deps.sh does not install them). tshark decodes their Initial packets (it
# derives the Initial keys itself) and is the oracle of tests/integration/quic_test.py. Run as
# root; the results are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/netns.sh"
out="$here/quic"
mkdir -p "$out"
cli=slq-c$NS_SUFFIX srv=slq-s$NS_SUFFIX
work=$(mktemp -d)
cleanup() {
  [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
  ns_cleanup "$cli" "$srv"
  rm -rf "$work"
}
trap cleanup EXIT
two_hosts "$cli" "$srv" 10.237.0
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=api.sluice.test \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
mkdir -p "$work/www"
printf 'hello over quic\n' > "$work/www/index.html"

server() {  # server EXTRA-ARGS...: (re)starts gtlsserver on 10.237.0.2:4433
  [ -n "${spid:-}" ] && { kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; }
  ip netns exec "$srv" gtlsserver -q -d "$work/www" "$@" 10.237.0.2 4433 \
    "$work/key.pem" "$work/cert.pem" >/dev/null 2>&1 &
  spid=$!
  sleep 0.5
}

capture() {  # capture NAME -- CLIENT-ARGS...
  local name=$1; shift 2
  ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/$name.pcap" udp port 4433 2>/dev/null &
  local tpid=$!
  sleep 0.5
  ip netns exec "$cli" timeout 10 gtlsclient -q --exit-on-all-streams-close \
    "$@" 10.237.0.2 4433 https://api.sluice.test/index.html \
    >/dev/null 2>&1 || echo "$name: client exit $?" >&2
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  cp "$work/$name.pcap" "$out/$name.pcap"
  echo "$name: $(capinfos -c -M "$out/$name.pcap" | awk '/Number of packets/ {print $NF}') packets"
}

server
capture quic-v1-ngtcp2 --
server -V
capture quic-retry-ngtcp2 --
