#!/usr/bin/env python3
"""A mock LLM API for captures and end-to-end tests: POST /v1/messages (Anthropic shape) and
/v1/chat/completions (OpenAI shape) answer with JSON or, when the body says "stream": true,
server-sent events; every answer carries token usage. Other POSTs get {"ok": true}.
Responses are gzip-compressed when the client accepts it (JSON only, like real APIs).
llm_api_server.py ADDR PORT [CERT KEY]"""
import gzip
import http.server
import json
import socket
import ssl
import sys


def tokens(text):
    return max(1, len(text.split()))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            req = {}
        prompt = json.dumps(req.get("messages", req.get("input", "")))
        answer = "Here is a short answer."
        usage_in, usage_out = tokens(prompt), tokens(answer)
        if self.path.startswith("/v1/messages") and req.get("stream"):
            events = [
                ("message_start", {"type": "message_start", "message": {
                    "id": "msg_1", "model": req.get("model", ""),
                    "usage": {"input_tokens": usage_in, "output_tokens": 1}}}),
                ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "text_delta", "text": answer}}),
                ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                   "usage": {"output_tokens": usage_out}}),
                ("message_stop", {"type": "message_stop"}),
            ]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for name, data in events:
                chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/v1/messages"):
            body = {"id": "msg_1", "type": "message", "role": "assistant",
                    "model": req.get("model", ""),
                    "content": [{"type": "text", "text": answer}],
                    "usage": {"input_tokens": usage_in, "output_tokens": usage_out}}
        elif self.path.startswith("/v1/chat/completions"):
            body = {"id": "chatcmpl-1", "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}],
                    "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out,
                              "total_tokens": usage_in + usage_out}}
        else:
            body = {"ok": True}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data, mtime=0)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    cls = V6Server if ":" in addr else http.server.ThreadingHTTPServer
    cls.allow_reuse_address = True
    with cls((addr, port), Handler) as httpd:
        if len(sys.argv) > 4:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(sys.argv[3], sys.argv[4])
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main()
