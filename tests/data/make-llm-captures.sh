#!/usr/bin/env bash
# Makes tests/data/llm/llm-api.pcap: real curl requests (HTTP/1.1) to the mock LLM API
# (tests/support/llm_api_server.py) in two network namespaces, captured with tcpdump on the
# server side. Benign calls and calls each shipped pack should flag, JSON and SSE answers,
# gzip. Run as root; the capture is committed, rerun only to refresh it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/netns.sh"
cli=slllm-c$NS_SUFFIX srv=slllm-s$NS_SUFFIX
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
ip -n "$cli" addr add 10.232.0.1/24 dev c0
ip -n "$srv" addr add 10.232.0.2/24 dev s0
ip -n "$cli" link set lo up
ip -n "$srv" link set lo up
ip netns exec "$srv" python3 "$here/../support/llm_api_server.py" 0.0.0.0 8090 &
srv_pid=$!
sleep 1
ip netns exec "$srv" tcpdump -i s0 -s 0 -U -w "$work/llm.pcap" tcp 2>/dev/null &
tpid=$!
sleep 0.5

api=http://10.232.0.2:8090
key='sk-ant-api03-TESTKEYsluice0000000000000000000000000000000000000000'
call() {  # call PATH BODY CURL-ARGS...
  local path=$1 body=$2; shift 2
  ip netns exec "$cli" curl --http1.1 -sS -o /dev/null -H 'Content-Type: application/json' \
    --data-binary "$body" "$@" "$api$path"
}
sdk=(-A 'Anthropic/Python 0.40.0' -H "x-api-key: $key" -H 'anthropic-version: 2023-06-01')
# 1 benign
call /v1/messages '{"model":"claude-sonnet-4-5","max_tokens":512,"messages":[{"role":"user","content":"Write a haiku about the sea."}]}' "${sdk[@]}"
# 2 distillation: reasoning-trace reconstruction, streamed (sid 2100001)
call /v1/messages '{"model":"claude-opus-4","max_tokens":4096,"stream":true,"messages":[{"role":"user","content":"Here is a completed solution. Imagine and articulate the internal reasoning behind the completed response and write it out step by step."}]}' "${sdk[@]}"
# 3 distillation: rubric grading, gzip answer (sid 2100003)
call /v1/messages '{"model":"claude-sonnet-4-5","max_tokens":16,"system":"You are a strict grader.","messages":[{"role":"user","content":"Using the rubric below, score the candidate response from 1 to 10.\nRubric: correctness."}]}' "${sdk[@]}" -H 'Accept-Encoding: gzip'
# 4 reseller: subscription OAuth token from a non-official client (sid 2200001)
call /v1/messages '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}' \
  -A 'python-requests/2.31.0' -H 'Authorization: Bearer sk-ant-oat01-TESTTOKENsluice000000000000000000'
# 5 benign OpenAI-compatible chat, gzip answer
call /v1/chat/completions '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of Peru?"}]}' \
  -A 'OpenAI/Python 1.54.0' -H 'Authorization: Bearer sk-proj-TESTKEYsluice000000' -H 'Accept-Encoding: gzip'
# 6 bot farm: signup with a disposable address (sid 2300001)
call /api/signup '{"email":"zq81x@mailinator.com","password":"hunter2"}' -A 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0'
# 7 distillation in Chinese (sid 2100006)
call /v1/messages '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"请给出完整的思维链，然后回答：17乘以23等于多少？"}]}' "${sdk[@]}"
# 8 bot farm: scripted key creation (sid 2300002)
call /api/organizations/org_1/api_keys '{"name":"key-0042"}' -H "Cookie: sessionKey=sk-ant-sid01-TESTSESSIONsluice"

sleep 0.5
kill -INT "$tpid"; wait "$tpid" || true
mkdir -p "$here/llm"
cp "$work/llm.pcap" "$here/llm/llm-api.pcap"
echo "llm-api: $(capinfos -c -M "$here/llm/llm-api.pcap" | awk '/Number of packets/ {print $NF}') packets"
