#!/usr/bin/env bash
# Makes the real-client captures under tests/data: curl (--http1.1) against a local HTTP
# server in two network namespaces joined by a veth pair, captured with tcpdump on the
# server side. Run as root. The captures are committed; rerun only to refresh them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/netns.sh"
cli=slcap-c$NS_SUFFIX srv=slcap-s$NS_SUFFIX
work=$(mktemp -d)
cleanup() {
  [ -n "${srv_pid:-}" ] && kill "$srv_pid" 2>/dev/null || true
  ns_cleanup "$cli" "$srv"
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$cli"
ip netns add "$srv"
veth_pair "$cli" c0 "$srv" s0
ip -n "$cli" addr add 10.231.0.1/24 dev c0
ip -n "$srv" addr add 10.231.0.2/24 dev s0
ip -n "$cli" addr add fd31::1/64 dev c0 nodad
ip -n "$srv" addr add fd31::2/64 dev s0 nodad
ip -n "$cli" link set lo up
ip -n "$srv" link set lo up

mkdir -p "$work/www"
head -c 200000 /dev/urandom > "$work/www/random.bin"
printf 'hello from sluice tests\n' > "$work/www/small.txt"
head -c 60000 /dev/urandom > "$work/upload.bin"
ip netns exec "$srv" python3 "$here/../support/http_server.py" 0.0.0.0 8080 "$work/www" &
srv_pid=$!
ip netns exec "$srv" python3 "$here/../support/http_server.py" :: 8081 "$work/www" &
srv6_pid=$!
sleep 1

capture() {  # capture NAME CURL-ARGS...
  local name=$1; shift
  ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/$name.pcap" tcp 2>/dev/null &
  local tpid=$!
  sleep 0.5
  ip netns exec "$cli" curl --http1.1 -sS "$@" > /dev/null
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  cp "$work/$name.pcap" "$here/$name.pcap"
  echo "$name: $(capinfos -c -M "$here/$name.pcap" | awk '/Number of packets/ {print $NF}') packets"
}

capture http-get http://10.231.0.2:8080/random.bin
capture http-keepalive http://10.231.0.2:8080/small.txt http://10.231.0.2:8080/random.bin \
  http://10.231.0.2:8080/small.txt
capture http-upload --data-binary @"$work/upload.bin" -H 'Content-Type: application/octet-stream' \
  http://10.231.0.2:8080/upload
capture http-ipv6 'http://[fd31::2]:8081/random.bin'
kill "$srv6_pid" 2>/dev/null || true
