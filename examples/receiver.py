#!/usr/bin/env python3
"""Example webhook receiver verifying leaderhook's Standard Webhooks signatures.

    LEADERHOOK_SECRET=whsec_... python3 examples/receiver.py 127.0.0.1 8080
"""
import base64, hashlib, hmac, json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer


def verify(secret, headers, body, now=None):
    """Raise ValueError unless webhook-signature is v1,<base64 HMAC-SHA256 of id.timestamp.body>."""
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    msg_id, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if abs((now or time.time()) - int(ts)) > 300:
        raise ValueError("webhook-timestamp too far off: replayed?")
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    if not any(hmac.compare_digest(sig, want) for sig in headers.get("webhook-signature", "").split()):
        raise ValueError("no valid signature")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            verify(os.environ["LEADERHOOK_SECRET"], self.headers, body)
        except (ValueError, KeyError) as e:
            self.send_response(401)
            self.end_headers()
            self.wfile.write(str(e).encode())
            return
        try:
            p = json.loads(body)
            if "specversion" in p:  # format: cloudevents: the payload is in "data"
                p = p["data"]
            rule, status, cluster = p["rule"], p["status"], p["cluster"]
        except (ValueError, KeyError, TypeError) as e:
            # Signed, so from leaderhook, yet unreadable: a 4xx, which leaderhook does not retry.
            self.send_response(400)
            self.end_headers()
            self.wfile.write(f"not a leaderhook payload: {e!r}".encode())
            return
        print(f"verified {self.headers['webhook-id']}: {rule} {status} on {cluster}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
