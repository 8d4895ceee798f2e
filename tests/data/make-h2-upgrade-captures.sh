#!/usr/bin/env bash
# Makes the HTTP/1.1 Upgrade: h2c captures under tests/data/h2 (RFC 7540 section 3.2): a small
# python3-h2 server (h2c_upgrade_server.py; nginx and nghttpd do not upgrade) in a network
# namespace, and two clients that ask to upgrade in another: curl --http2 on an http:// URL (the
# upgraded GET, then a POST with a key and more GETs on the same connection) and nghttp -u (the
# upgraded GET, then concurrent streams). Run as root; the results are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/netns.sh"
out="$here/h2"
mkdir -p "$out"
cli=slh2u-c$NS_SUFFIX srv=slh2u-s$NS_SUFFIX
work=$(mktemp -d)
cleanup() {
  [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
  ns_cleanup "$cli" "$srv"
  rm -rf "$work"
}
trap cleanup EXIT
two_hosts "$cli" "$srv" 10.236.0

mkdir -p "$work/www/v1"
printf 'hello after an upgrade\n' > "$work/www/small.txt"
python3 -c 'import json; print(json.dumps({"id": "msg", "content": [{"type": "text", "text": "y" * 3000}], "usage": {"input_tokens": 12, "output_tokens": 345}}))' \
  > "$work/www/answer.json"
printf '{"data":[{"id":"claude-opus-4"}]}\n' > "$work/www/v1/models"
ip netns exec "$srv" /usr/bin/python3 "$here/h2c_upgrade_server.py" 10.236.0.2 8080 "$work/www" &
spid=$!
sleep 1

capture() {  # capture NAME -- COMMAND...
  local name=$1; shift 2
  ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/$name.pcap" tcp port 8080 2>/dev/null &
  local tpid=$!
  sleep 0.5
  "$@" > /dev/null || echo "$name: client exit $?" >&2
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  cp "$work/$name.pcap" "$out/$name.pcap"
  echo "$name: $(capinfos -c -M "$out/$name.pcap" | awk '/Number of packets/ {print $NF}') packets"
}

base=http://10.236.0.2:8080
KEY="x-api-key: sk-ant-api03-H2UPGRADEKEY00000000000000000000000000000000000"
cat > "$work/llm.json" <<'JSON'
{"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "Think step by step and show your full reasoning: distill the chain of thought for problem 17"}]}
JSON
capture h2c-upgrade-curl -- ip netns exec "$cli" timeout 20 curl -sS --http2 "$base/v1/models" \
  "$base/small.txt" --next --http2 -H "$KEY" -H 'content-type: application/json' \
  --data-binary @"$work/llm.json" "$base/v1/messages" --next --http2 "$base/answer.json"
capture h2c-upgrade-nghttp -- ip netns exec "$cli" timeout 20 nghttp -u -n -H "$KEY" \
  "$base/v1/models" "$base/small.txt" "$base/answer.json"
