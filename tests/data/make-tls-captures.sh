#!/usr/bin/env bash
# Makes the TLS real-client captures under tests/data/tls: curl (--http1.1, SSLKEYLOGFILE)
# against nginx (TLS, http2 off) in two network namespaces, one capture and one key log per
# TLS version and AEAD suite. Each session carries two keep-alive GETs (a small file and a
# 100 kB one) and a 64 kB upload. Run as root; the results are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/netns.sh"
out="$here/tls"
mkdir -p "$out"
cli=sltls-c$NS_SUFFIX srv=sltls-s$NS_SUFFIX
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
ip -n "$cli" addr add 10.234.0.1/24 dev c0
ip -n "$srv" addr add 10.234.0.2/24 dev s0
ip -n "$cli" link set lo up
ip -n "$srv" link set lo up

chmod 755 "$work"
mkdir -p "$work/www" "$work/logs"
head -c 100000 /dev/urandom > "$work/www/blob.bin"
printf 'hello over tls\n' > "$work/www/small.txt"
head -c 65536 /dev/urandom > "$work/upload.bin"
chmod -R a+rX "$work/www"
# What the decrypted streams must carry: the download's and the upload's SHA-256.
(cd "$work" && sha256sum www/blob.bin upload.bin | sed 's|www/||') > "$out/bodies.sha256"
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
  server {
    listen 10.234.0.2:443 ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_session_tickets off;
    root $work/www;
    location /upload { client_max_body_size 1m; return 200 "uploaded\n"; }
  }
}
CONF
ip netns exec "$srv" nginx -c "$work/nginx.conf" -p "$work" &
sleep 1

capture() {  # capture NAME CURL-TLS-ARGS...
  local name=$1; shift
  rm -f "$out/$name.keylog"
  ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/$name.pcap" tcp port 443 2>/dev/null &
  local tpid=$!
  sleep 0.5
  SSLKEYLOGFILE="$out/$name.keylog" ip netns exec "$cli" curl --http1.1 -sSk "$@" \
    --resolve api.sluice.test:443:10.234.0.2 \
    https://api.sluice.test/small.txt https://api.sluice.test/blob.bin > /dev/null
  SSLKEYLOGFILE="$out/$name.keylog" ip netns exec "$cli" curl --http1.1 -sSk "$@" \
    --resolve api.sluice.test:443:10.234.0.2 --data-binary @"$work/upload.bin" \
    https://api.sluice.test/upload > /dev/null
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  cp "$work/$name.pcap" "$out/$name.pcap"
  echo "$name: $(capinfos -c -M "$out/$name.pcap" | awk '/Number of packets/ {print $NF}') packets"
}

capture tls13-aes128gcm --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256
capture tls13-aes256gcm --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384
capture tls13-chacha20 --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256
capture tls12-aes128gcm --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
capture tls12-aes256gcm --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384
capture tls12-chacha20 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305

# Python's ssl module as a second client (its own ClientHello), TLS 1.3 and TLS 1.2.
py_capture() {  # py_capture NAME VERSION [CIPHERS]
  local name=$1 version=$2 ciphers=${3:-}
  rm -f "$out/$name.keylog"
  ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/$name.pcap" tcp port 443 2>/dev/null &
  local tpid=$!
  sleep 0.5
  ip netns exec "$cli" python3 "$here/../support/tls_client.py" api.sluice.test 10.234.0.2 "$out/$name.keylog" \
    "$version" $ciphers -- /small.txt /blob.bin -- "$work/upload.bin"
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  cp "$work/$name.pcap" "$out/$name.pcap"
  echo "$name: $(capinfos -c -M "$out/$name.pcap" | awk '/Number of packets/ {print $NF}') packets"
}
py_capture python-tls13 1.3
py_capture python-tls12 1.2 ECDHE-RSA-AES256-GCM-SHA384

# The rarer paths, with openssl s_server (-rev answers each line reversed) and s_client:
# a HelloRetryRequest (the client's first key share is for a group the server does not
# accept), a KeyUpdate ('K' asks both sides to update), and a resumed session.
ossl_capture() {  # ossl_capture NAME SERVER-ARGS -- CLIENT-SCRIPT
  local name=$1; shift
  local sargs=()
  while [ "$1" != "--" ]; do sargs+=("$1"); shift; done
  shift
  rm -f "$out/$name.keylog"
  ip netns exec "$srv" openssl s_server -accept 10.234.0.2:4433 -cert "$work/cert.pem" -key "$work/key.pem" \
    -rev -naccept 2 "${sargs[@]}" > /dev/null 2>&1 &
  local spid=$!
  ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/$name.pcap" tcp port 4433 2>/dev/null &
  local tpid=$!
  sleep 0.7
  "$@"
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  kill "$spid" 2>/dev/null || true
  cp "$work/$name.pcap" "$out/$name.pcap"
  echo "$name: $(capinfos -c -M "$out/$name.pcap" | awk '/Number of packets/ {print $NF}') packets"
}

client() {  # client NAME EXTRA-ARGS...: sends lines, asks for a key update, sends more
  local name=$1; shift
  { printf 'first request line\n'; sleep 0.4; printf 'K\n'; sleep 0.4; printf 'after the key update\n'; sleep 0.6; } |
    ip netns exec "$cli" openssl s_client -connect 10.234.0.2:4433 -keylogfile "$out/$name.keylog" \
      -servername api.sluice.test "$@" > /dev/null 2>&1 || true
}

hrr_and_keyupdate() { client tls13-hrr-keyupdate -tls1_3 -groups X25519:P-256; }
ossl_capture tls13-hrr-keyupdate -groups P-256 -- hrr_and_keyupdate

resumption() {
  client tls13-resumption -tls1_3 -sess_out "$work/sess.pem"
  client tls13-resumption -tls1_3 -sess_in "$work/sess.pem"
}
ossl_capture tls13-resumption -- resumption
