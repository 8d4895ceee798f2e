#!/usr/bin/env bash
# Makes tests/data/tls/server/*.pcap: the server's side of TLS handshakes for the tls.cert_*,
# ja3s, tls.version, ssl_version and ssl_state keywords. A test CA signs two server
# certificates with several name attributes; openssl s_server answers openssl s_client in two
# network namespaces, captured with tcpdump: TLS 1.2 with ECDHE (a ServerKeyExchange) and with
# RSA key transport (none), TLS 1.1, TLS 1.3, and a resumed TLS 1.2 session (no certificate).
# Run as root; the captures are committed, rerun only to refresh them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/netns.sh"
cli=sltls-c$NS_SUFFIX srv=sltls-s$NS_SUFFIX
work=$(mktemp -d)
out="$here/tls/server"
cleanup() {
  ns_cleanup "$cli" "$srv"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"
ip netns add "$cli"
ip netns add "$srv"
veth_pair "$cli" c0 "$srv" s0
ip -n "$cli" addr add 10.235.0.1/24 dev c0
ip -n "$srv" addr add 10.235.0.2/24 dev s0
ip -n "$cli" link set lo up
ip -n "$srv" link set lo up

# A CA and two leaves (one with a long serial whose top bit is set: a leading 00 in DER).
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout "$work/ca.key" -out "$work/ca.pem" \
  -subj "/C=DE/O=Sluice Test CA/CN=Sluice Test Root" 2>/dev/null
leaf() {  # leaf NAME SUBJECT SERIAL
  openssl req -newkey rsa:2048 -nodes -keyout "$work/$1.key" -out "$work/$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$work/$1.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -set_serial "$3" \
    -days 3650 -out "$work/$1.pem" 2>/dev/null
  cat "$work/$1.pem" "$work/ca.pem" > "$work/$1-chain.pem"
}
leaf api "/C=US/ST=California/O=Example Corp/OU=Edge/CN=api.example.test" 0x00c0ffee
leaf cdn "/C=NL/O=Another Org/CN=cdn.example.test" 0x9f1e2d3c4b5a69788796a5b4c3d2e1f0

capture() {  # capture NAME CERT SERVER-ARGS -- CLIENT-ARGS... (client runs once, or twice with -reconnect)
  local name=$1 cert=$2; shift 2
  local sargs=()
  while [ "$1" != "--" ]; do sargs+=("$1"); shift; done
  shift
  ip netns exec "$srv" openssl s_server -accept 10.235.0.2:4433 -cert "$work/$cert.pem" \
    -key "$work/$cert.key" -cert_chain "$work/ca.pem" -naccept 6 -quiet "${sargs[@]}" > /dev/null 2>&1 &
  local spid=$!
  ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/$name.pcap" tcp port 4433 2>/dev/null &
  local tpid=$!
  sleep 0.7
  { printf 'hello\n'; sleep 0.5; } |
    ip netns exec "$cli" openssl s_client -connect 10.235.0.2:4433 -servername "$cert.example.test" "$@" \
      > /dev/null 2>&1 || true
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  cp "$work/$name.pcap" "$out/$name.pcap"
  echo "$name: $(capinfos -c -M "$out/$name.pcap" | awk '/Number of packets/ {print $NF}') packets"
}
capture tls12-ecdhe api -- -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
capture tls12-rsa cdn -cipher 'AES256-GCM-SHA384:@SECLEVEL=0' -- -tls1_2 -cipher 'AES256-GCM-SHA384:@SECLEVEL=0'
capture tls11 api -cipher 'DEFAULT:@SECLEVEL=0' -- -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
capture tls13 cdn -- -tls1_3
capture tls12-resumed api -- -tls1_2 -reconnect
