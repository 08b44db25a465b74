#!/usr/bin/env python3
"""Tiny RFC 7662-style token introspection endpoint for the Dovecot oauth2 passdb (stdlib only).

Tokens live in a JSON file that is re-read on every request, so tests can add tokens at any
time:   {"<opaque token>": {"username": "alice@example.test", "scope": "openid mail",
                            "exp": 1893456000, "active": true}, ...}
Response for a known, unexpired token: the entry (keys starting with "_" removed), with
"active": true added unless present.  Unknown or expired token -> {"active": false}.
Test hooks inside an entry: "_status": 401/500/...  and "_body": {...} to return instead.

Accepts the token the three ways Dovecot sends it:
  introspection_mode = post : POST form body  token=<t>&client_id=..&client_secret=..
  introspection_mode = get  : GET  ?token=<t>&client_id=..&client_secret=..
  introspection_mode = auth : GET  with header  Authorization: Bearer <t>
Also GET /tokeninfo?access_token=<t> (for tokeninfo_url): 200 {username,exp,scope} or 400.
Every request is appended as one JSON line to --log.
"""
import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARGS = None


def load_tokens():
    try:
        with open(ARGS.tokens) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # Dovecot's http-client keeps connections alive
    server_version = "lab-introspect/1"

    def log_message(self, fmt, *args):  # quiet stderr
        pass

    def _send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return body

    def _handle(self, method):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        raw = b""
        if method == "POST":
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = parse_qs(raw.decode("utf-8", "replace"))
        if url.path == "/.well-known/openid-configuration":
            base = "http://%s:%d" % self.server.server_address[:2]
            self._send(200, {"issuer": "https://idp.lab.test",
                             "introspection_endpoint": base + "/introspect"})
            return
        if url.path not in ("/introspect", "/tokeninfo"):
            self._send(404, {"error": "not_found"})
            return
        token, via = None, None
        if "token" in form:
            token, via = form["token"][0], "post-form"
        elif "token" in query:
            token, via = query["token"][0], "get-query"
        elif "access_token" in query:
            token, via = query["access_token"][0], "tokeninfo-query"
        else:
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("bearer "):
                token, via = auth[7:].strip(), "auth-header"
        entry = load_tokens().get(token) if token else None
        status, resp = 200, {"active": False}
        if url.path == "/tokeninfo":
            # Google-style tokeninfo: 200 + fields for a live token, 400 otherwise
            status, resp = 400, {"error": "invalid_token"}
            if entry is not None and "_status" not in entry and int(entry.get("exp", 2**31)) >= time.time():
                status = 200
                resp = {k: v for k, v in entry.items() if not k.startswith("_") and k in ("username", "exp", "scope")}
        elif entry is not None:
            if "_status" in entry:
                status, resp = int(entry["_status"]), entry.get("_body", {})
            elif "exp" in entry and int(entry["exp"]) < time.time():
                resp = {"active": False}
            else:
                resp = {k: v for k, v in entry.items() if not k.startswith("_")}
                resp.setdefault("active", True)
        self._send(status, resp)
        with open(ARGS.log, "a") as f:
            f.write(json.dumps({
                "t": round(time.time(), 3), "method": method, "path": self.path,
                "via": via, "token": token,
                "client_id": (form.get("client_id") or query.get("client_id") or [None])[0],
                "client_secret": (form.get("client_secret") or query.get("client_secret") or [None])[0],
                "user_agent": self.headers.get("User-Agent"),
                "content_type": self.headers.get("Content-Type"),
                "body": raw.decode("utf-8", "replace"),
                "status": status, "response": resp}) + "\n")

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18080)
    p.add_argument("--tokens", default="/tmp/dovecot-lab/tokens.json")
    p.add_argument("--log", default="/tmp/dovecot-lab/log/introspect.log")
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer((ARGS.host, ARGS.port), Handler)
    print("introspection server on %s:%d" % (ARGS.host, ARGS.port), file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
