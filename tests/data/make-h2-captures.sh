#!/usr/bin/env bash
# Makes the HTTP/2 real-client captures under tests/data/h2: nginx 1.22 with HTTP/2 on (TLS
# with ALPN h2 on 443, prior knowledge on plaintext 8080) in a network namespace, and curl,
# nghttp and python3-httpx in another. Each client sends the same requests: two GETs (a small
# file and a 100 kB one), an LLM API POST with a key and a JSON body, a gzip-encoded JSON
# answer, and a 200 kB upload (many DATA frames and WINDOW_UPDATEs). The same requests over
# HTTP/1.1 (TLS) make the parity capture. Key logs for the TLS ones. Run as root; the results
# are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/netns.sh"
out="$here/h2"
mkdir -p "$out"
cli=slh2-c$NS_SUFFIX srv=slh2-s$NS_SUFFIX
work=$(mktemp -d)
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  ns_cleanup "$cli" "$srv"
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$cli"
ip netns add "$srv"
veth_pair "$cli" c0 "$srv" s0
ip -n "$cli" addr add 10.235.0.1/24 dev c0
ip -n "$srv" addr add 10.235.0.2/24 dev s0
ip -n "$cli" link set lo up
ip -n "$srv" link set lo up

chmod 755 "$work"
mkdir -p "$work/www/v1" "$work/logs"
head -c 100000 /dev/urandom > "$work/www/blob.bin"
printf 'hello over h2\n' > "$work/www/small.txt"
python3 -c 'import json; print(json.dumps({"id": "msg", "content": [{"type": "text", "text": "x" * 4000}], "usage": {"input_tokens": 12, "output_tokens": 345}}))' \
  > "$work/www/answer.json"
head -c 200000 /dev/urandom > "$work/upload.bin"
cat > "$work/llm.json" <<'JSON'
{"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "Think step by step and show your full reasoning: distill the chain of thought for problem 17"}]}
JSON
chmod -R a+rX "$work/www"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=api.sluice.test \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat > "$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $work/body;
  types { application/json json; application/octet-stream bin; text/plain txt; }
  gzip on;
  gzip_types application/json;
  gzip_min_length 100;
  # The POST endpoints go through a proxy so nginx reads each request body in full before it
  # answers (an early answer makes curl 7.88 spin on HTTP/2).
  server {
    listen 10.235.0.2:443 ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_session_tickets off;
    root $work/www;
    location /upload { client_max_body_size 1m; proxy_pass http://127.0.0.1:8082; }
    location /v1/ { client_max_body_size 1m; proxy_pass http://127.0.0.1:8082; }
  }
  server {
    listen 10.235.0.2:8080 http2;
    root $work/www;
    location /upload { client_max_body_size 1m; proxy_pass http://127.0.0.1:8082; }
    location /v1/ { client_max_body_size 1m; proxy_pass http://127.0.0.1:8082; }
  }
  server {
    listen 127.0.0.1:8082;
    location /upload { return 200 "uploaded\n"; }
    location /v1/messages { default_type application/json;
                            return 200 '{"id":"msg","usage":{"input_tokens":21,"output_tokens":7}}'; }
  }
}
CONF
ip netns exec "$srv" nginx -c "$work/nginx.conf" -p "$work" &
sleep 1

KEY="x-api-key: sk-ant-api03-H2CAPTUREKEY000000000000000000000000000000000000"
capture() {  # capture NAME PORT -- COMMAND...: one capture of what COMMAND sends
  local name=$1 port=$2; shift 3
  rm -f "$out/$name.keylog"
  ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/$name.pcap" tcp port "$port" 2>/dev/null &
  local tpid=$!
  sleep 0.5
  SSLKEYLOGFILE="$out/$name.keylog" "$@"
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  cp "$work/$name.pcap" "$out/$name.pcap"
  [ -s "$out/$name.keylog" ] || rm -f "$out/$name.keylog"
  echo "$name: $(capinfos -c -M "$out/$name.pcap" | awk '/Number of packets/ {print $NF}') packets"
}

curl_all() {  # curl_all SCHEME://HOST:PORT CURL-ARGS...: every request on one connection
  local base=$1; shift
  local o=(-sSk "$@" --resolve api.sluice.test:443:10.235.0.2)
  ip netns exec "$cli" timeout 20 curl "${o[@]}" "$base/small.txt" "$base/blob.bin" \
    --next "${o[@]}" -H "$KEY" -H 'content-type: application/json' --data-binary @"$work/llm.json" \
    "$base/v1/messages" \
    --next "${o[@]}" --compressed "$base/answer.json" \
    --next "${o[@]}" --data-binary @"$work/upload.bin" "$base/upload" > /dev/null || echo "curl exit $?" >&2
}

capture h2-tls-curl 443 -- curl_all https://api.sluice.test --http2
# curl 7.88 fails a second request on a prior-knowledge connection (framing error): one
# connection per request there.
curl_each() {
  local base=$1; shift
  local o=(-sSk "$@")
  ip netns exec "$cli" timeout 20 curl "${o[@]}" "$base/small.txt" > /dev/null
  ip netns exec "$cli" timeout 20 curl "${o[@]}" "$base/blob.bin" > /dev/null
  ip netns exec "$cli" timeout 20 curl "${o[@]}" -H "$KEY" -H 'content-type: application/json' \
    --data-binary @"$work/llm.json" "$base/v1/messages" > /dev/null
  ip netns exec "$cli" timeout 20 curl "${o[@]}" --compressed "$base/answer.json" > /dev/null
  ip netns exec "$cli" timeout 20 curl "${o[@]}" --data-binary @"$work/upload.bin" "$base/upload" > /dev/null
}
capture h2c-curl 8080 -- curl_each http://10.235.0.2:8080 --http2-prior-knowledge
capture h1-tls-curl 443 -- curl_all https://api.sluice.test --http1.1
# nghttp: concurrent streams on one connection (-m 3: each URI three times), plaintext (the
# Debian build writes no key log).
capture h2c-nghttp 8080 -- ip netns exec "$cli" timeout 20 nghttp -n -m 3 -H "$KEY" \
  http://10.235.0.2:8080/small.txt http://10.235.0.2:8080/answer.json
# python3-httpx with http2=True over TLS (it honours SSLKEYLOGFILE).
httpx_all() {
  ip netns exec "$cli" timeout 20 /usr/bin/python3 - "$work/llm.json" <<'PY'
import sys, httpx
body = open(sys.argv[1], "rb").read()
with httpx.Client(http2=True, verify=False) as c:
    base = "https://10.235.0.2"
    assert c.get(base + "/small.txt").http_version == "HTTP/2"
    c.post(base + "/v1/messages", content=body, headers={
        "x-api-key": "sk-ant-api03-H2CAPTUREKEY000000000000000000000000000000000000",
        "content-type": "application/json"})
    c.get(base + "/answer.json")
PY
}
capture h2-tls-httpx 443 -- httpx_all
# curl --parallel: several transfers multiplexed as concurrent streams of one connection.
curl_parallel() {
  local o=(-sSk --http2 --resolve api.sluice.test:443:10.235.0.2)
  ip netns exec "$cli" timeout 20 curl "${o[@]}" --parallel --parallel-max 8 \
    https://api.sluice.test/small.txt https://api.sluice.test/blob.bin \
    https://api.sluice.test/answer.json https://api.sluice.test/small.txt \
    https://api.sluice.test/blob.bin > /dev/null || echo "curl exit $?" >&2
}
capture h2-tls-curl-parallel 443 -- curl_parallel
