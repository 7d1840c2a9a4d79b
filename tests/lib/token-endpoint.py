#!/usr/bin/env python3
"""A local OAuth 2.0 token endpoint for ops-envcheck --verify (RFC 7523 JWT bearer grant),
answering as Google's does: 200 with an access token for a JWT signed by a key it knows,
400 invalid_grant "Invalid JWT Signature." otherwise. It records every request (form
fields, JWT header and claims, signature verdict) as one JSON line in --log.

Bounded: it binds 127.0.0.1 only, serves at most --max-requests, and exits after
--lifetime seconds whatever happens.

usage: token-endpoint.py --port-file F --log F --pubkey PEM [--pubkey PEM...]
                         [--status-override CODE] [--refuse DESCRIPTION]
                         [--max-requests N] [--lifetime S]
--status-override answers every POST with CODE (a 3xx redirects to /stolen here).
"""
import argparse
import base64
import http.server
import json
import os
import threading
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pubkey", action="append", default=[])
    ap.add_argument("--status-override", type=int, default=0)
    ap.add_argument("--refuse", metavar="DESCRIPTION", help="refuse even a good signature: invalid_grant DESCRIPTION")
    ap.add_argument("--max-requests", type=int, default=20)
    ap.add_argument("--lifetime", type=float, default=60)
    args = ap.parse_args()
    served = []
    keys = []
    for path in args.pubkey:
        with open(path, "rb") as f:
            keys.append(serialization.load_pem_public_key(f.read()))

    def signature_ok(signing_input, sig):
        for k in keys:
            try:
                k.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
                return True
            except InvalidSignature:
                continue
        return False

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            if 300 <= code < 400:  # to this same server: a follower would show up in the log
                self.send_header("Location", "http://127.0.0.1:%d/stolen" % srv.server_address[1])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.record({"method": "GET", "path": self.path})
            self.answer(405, {"error": "invalid_request"})

        def do_POST(self):
            n = min(int(self.headers.get("Content-Length") or 0), 65536)
            raw = self.rfile.read(n).decode("ascii", "replace")
            form = urllib.parse.parse_qs(raw, keep_blank_values=True)
            rec = {"method": "POST", "path": self.path, "content_type": self.headers.get("Content-Type"),
                   "headers": sorted(h.lower() for h in self.headers.keys()),
                   "form_keys": sorted(form), "grant_type": form.get("grant_type", [None])[0]}
            jwt = form.get("assertion", [""])[0]
            parts = jwt.split(".")
            ok = False
            if len(parts) == 3:
                try:
                    rec["header"] = json.loads(b64url_decode(parts[0]))
                    rec["claims"] = json.loads(b64url_decode(parts[1]))
                    ok = rec["header"].get("alg") == "RS256" and \
                        signature_ok((parts[0] + "." + parts[1]).encode(), b64url_decode(parts[2]))
                except ValueError:
                    ok = False
            rec["signature_ok"] = ok
            self.record(rec)
            if args.status_override:
                self.answer(args.status_override, {"error": "internal_failure"})
            elif ok and args.refuse:
                self.answer(400, {"error": "invalid_grant", "error_description": args.refuse})
            elif ok and rec["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer":
                self.answer(200, {"access_token": "ya29.LOCAL-ACCESS-TOKEN-not-to-be-printed",
                                  "expires_in": 3599, "token_type": "Bearer"})
            else:
                self.answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})

        def record(self, rec):
            served.append(1)
            with open(args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    srv.timeout = 1
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    stop = threading.Event()
    threading.Timer(args.lifetime, stop.set).start()
    while not stop.is_set() and len(served) < args.max_requests:
        srv.handle_request()
    os._exit(0)


if __name__ == "__main__":
    main()
