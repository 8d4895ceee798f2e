#!/usr/bin/env bash
# Makes tests/data/keywords/payload-keywords.pcap: real curl requests (HTTP/1.1) to the mock
# API (tests/support/llm_api_server.py) in two network namespaces, captured with tcpdump on the
# server side, carrying what the payload keywords read: base64 in query strings and cookies,
# a user-agent xored with a one-byte key, decimal length fields in paths. Run as root; the
# capture is committed, rerun only to refresh it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/netns.sh"
cli=slkw-c$NS_SUFFIX srv=slkw-s$NS_SUFFIX
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
ip -n "$cli" addr add 10.233.0.1/24 dev c0
ip -n "$srv" addr add 10.233.0.2/24 dev s0
ip -n "$cli" link set lo up
ip -n "$srv" link set lo up
ip netns exec "$srv" python3 "$here/../support/llm_api_server.py" 0.0.0.0 8091 &
srv_pid=$!
sleep 1
ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/kw.pcap" tcp 2>/dev/null &
tpid=$!
sleep 0.5

api=http://10.233.0.2:8091
b64() { printf '%s' "$1" | base64 -w0; }
xor1() { python3 -c 'import sys; print("".join(chr(ord(c) ^ 1) for c in sys.argv[1]), end="")' "$1"; }
call() {  # call PATH CURL-ARGS...
  local path=$1; shift
  ip netns exec "$cli" curl --http1.1 -sS -o /dev/null -H 'Content-Type: application/json' \
    --data-binary '{"ok":1}' "$@" "$api$path"
}
call "/track?d=$(b64 'user=alice;role=admin')" -A "$(xor1 'password=hunter2')" \
  -H "Cookie: $(b64 'admin:1')"
call "/track?d=$(b64 'user=bob;role=guest')" -A 'curl/7.88.1' -H "Cookie: $(b64 'guest:2')"
call "/track?d=$(b64 'role=admin;user=carol')&x=1" -A "$(xor1 'passwordless')" \
  -H "Cookie: $(b64 'admin')"
call "/track?d=Zm9v!!$(b64 'role=admin')" -A "$(xor1 'user=password=1')"
call "/len/05/hello/END" -A 'Go-http-client/1.1'
call "/len/03/hello/END" -A 'Go-http-client/1.1'
call "/len/12/short" -A 'Go-http-client/1.1' -H "Cookie: $(b64 'admin:9')x"
call "/len/2/ab/END" -A "$(xor1 'password=')"

sleep 0.5
kill -INT "$tpid"; wait "$tpid" || true
mkdir -p "$here/keywords"
cp "$work/kw.pcap" "$here/keywords/payload-keywords.pcap"
echo "payload-keywords: $(capinfos -c -M "$here/keywords/payload-keywords.pcap" | awk '/Number of packets/ {print $NF}') packets"
