"""The registry-quirks rig: a small HTTP proxy in front of a real local docker-registry
that behaves, per rule, like a registry met in the field. Loopback only, every wait
bounded. Started by start_fault_proxy (tests/lib/registry.sh), which documents it.

usage: quirks-proxy.py PORT UPSTREAM RULES LOG OFFLOAD_PORT OFFLOAD_LOG [UPSTREAM_AUTH]

RULES is re-read on every request: one rule a line, "METHOD PATH-PREFIX ACTION [COUNT]"
(METHOD may be *, PATH-PREFIX may hold * globs), or "profile NAME" for a named
registry's set of rules (PROFILES below). The first matching rule's ACTION applies;
the modifiers below apply from every matching rule, besides it:
  413:N        a body limit: a request with a body of more than N bytes gets 413, as
               nginx answers, before its body is read
  minchunk:N   POST answers carry OCI-Chunk-Min-Length: N; a PATCH with fewer bytes
               gets 400 (BLOB_UPLOAD_INVALID)
  to204        a 2xx answer becomes 204 No Content (its headers kept, no body) LOG gets "METHOD PATH STATUS-OR-ACTION" per
request; OFFLOAD_LOG one line per request the offload listener got:
"METHOD PATH authorization=yes|no".
"""
import base64, email.utils, fnmatch, http.client, json, os, re, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, rules_path, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
offload_port, offload_log = int(sys.argv[5]), sys.argv[6]
upstream_auth = sys.argv[7] if len(sys.argv) > 7 else ""
lock = threading.Lock()
used = {}
UPSTREAM_TIMEOUT = 60
MAX_BODY = 256 << 20
MANIFEST_TYPES = ["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.list.v2+json",
                  "application/vnd.docker.distribution.manifest.v2+json"]

# Named registries: what each does that a promoter trips on.
PROFILES = {
    # no referrers API (404), fallback tags only
    "ghcr": ["GET /v2/*/referrers/ noreferrers"],
    "dockerhub": ["GET /v2/*/referrers/ noreferrers"],
    # no referrers API, and the tag sha256-<hex> resolves to the image <hex> itself
    "gitlab": ["GET /v2/*/referrers/ noreferrers", "* /v2/*/manifests/sha256- dashtag"],
    # immutable tags, mounts off (a plain upload session instead)
    "ecr": ["PUT /v2/*/manifests/ immutable", "POST /v2/*/blobs/uploads/ nomount",
            "GET /v2/*/referrers/ noreferrers"],
    # a mount from a project the robot cannot read: 401
    "harbor": ["POST /v2/*/blobs/uploads/?mount= 401"],
    # Artifact Registry: a mount answered 202 (an upload session, nothing mounted)
    "gar": ["POST /v2/*/blobs/uploads/ nomount"],
    # Artifactory behind a generic proxy: manifests served as application/octet-stream
    "artifactory": ["GET /v2/*/manifests/ octet"],
    # Quay: immutable tags
    "quay": ["PUT /v2/*/manifests/ immutable"],
}


def rules():
    out = []
    try:
        lines = open(rules_path).read().splitlines()
    except OSError:
        return out
    for line in lines:
        f = line.split()
        if len(f) == 2 and f[0] == "profile":
            out += [(line + "#" + r, r.split()) for r in PROFILES.get(f[1], [])]
        elif len(f) >= 3:
            out.append((line, f))
    return out


MODIFIERS = ("413", "minchunk", "to204")


def faults_for(method, path):
    """The first matching action that is no modifier, and {modifier: arg}."""
    action, mods = None, {}
    with lock:
        for key, f in rules():
            if f[0] not in ("*", method) or not fnmatch.fnmatchcase(path, f[1] + "*"):
                continue
            count = int(f[3]) if len(f) > 3 else None
            if count is not None and used.get(key, 0) >= count:
                continue
            name = f[2].split(":", 1)[0]
            if name in MODIFIERS:
                mods[name] = f[2].split(":", 1)[1] if ":" in f[2] else ""
            elif action is None:
                action = f[2]
            else:
                continue
            used[key] = used.get(key, 0) + 1
    return action, mods


def log(path, line):
    with lock, open(path, "a") as out:
        out.write(line + "\n")


def errors(code, message):
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


def upstream_request(method, path, body, headers):
    conn = http.client.HTTPConnection(upstream, timeout=UPSTREAM_TIMEOUT)
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large for the rig")
        return self.rfile.read(n) if n else None

    def handle_any(self):
        fault, mods = faults_for(self.command, self.path)
        arg = None
        if fault and ":" in fault:
            fault, arg = fault.split(":", 1)
        n = int(self.headers.get("Content-Length") or 0)
        if "413" in mods and n > int(mods["413"]):
            # as nginx: the answer on Content-Length alone, before the body, which is then
            # read and dropped (a lingering close) so that the client sees the answer
            self.canned("413", 413, "text/html", b"<html><body>413 Request Entity Too Large</body></html>")
            self.wfile.flush()
            self.rfile.read(min(n, MAX_BODY))
            self.close_connection = True
            return
        body = self.read_body()
        if "minchunk" in mods and self.command == "PATCH" and n < int(mods["minchunk"]):
            return self.canned("minchunk", 400, "application/json", errors(
                "BLOB_UPLOAD_INVALID", "chunk of %d bytes is below OCI-Chunk-Min-Length %s" % (n, mods["minchunk"])))
        if fault == "hang":
            log(log_path, "%s %s hang" % (self.command, self.path))
            time.sleep(30)
            self.close_connection = True
            return
        if fault == "schema1":
            msg = b'{"schemaVersion": 1, "name": "app", "tag": "old", "architecture": "amd64", "fsLayers": [], "history": []}'
            return self.canned(fault, 200, "application/vnd.docker.distribution.manifest.v1+prettyjws", msg)
        if fault in ("500", "503"):
            return self.canned(fault, int(fault), "application/json", errors("UNKNOWN", "injected fault"))
        if fault == "404":
            return self.canned(fault, 404, "application/json", errors("BLOB_UNKNOWN", "injected fault"))
        if fault and fault.isdigit() and fault not in ("401", "408", "413", "429", "500", "503"):
            return self.canned(fault, int(fault), "application/json", errors("UNKNOWN", "injected status " + fault))
        if fault == "408":
            return self.canned(fault, 408, "text/plain", b"request timeout")
        if fault == "401":
            return self.canned(fault, 401, "application/json",
                               errors("UNAUTHORIZED", "unauthorized to access repository: the robot account "
                                      "has no pull permission on the source project"))
        if fault == "429":
            return self.canned(fault, 429, "application/json", errors("TOOMANYREQUESTS", "slow down"),
                               {"Retry-After": "1"})
        if fault == "429date":
            when = email.utils.formatdate(time.time() + float(arg or 2), usegmt=True)
            return self.canned(fault, 429, "application/json",
                               errors("TOOMANYREQUESTS", "You have reached your pull rate limit."),
                               {"Retry-After": when})
        if fault == "redirect":
            # blob storage behind a CDN: a 307 to another host (the offload listener)
            return self.canned(fault, 307, "text/plain", b"",
                               {"Location": "http://localhost:%d%s" % (offload_port, self.path)})
        if fault == "noreferrers":
            return self.canned(fault, 404, "application/json", errors("NOT_FOUND", "404 page not found"))
        if fault in ("referrers", "linkpage"):
            with open(os.path.join(os.path.dirname(rules_path), "referrers.json"), "rb") as f:
                msg = f.read()
            extra = {}
            if fault == "linkpage":
                doc = json.loads(msg)
                entries = doc.get("manifests", [])
                m = re.search(r"[?&]last=(\d+)", self.path)
                start = int(m.group(1)) if m else 0
                doc["manifests"] = entries[start:start + 1]
                if start + 1 < len(entries):
                    base = self.path.split("?")[0]
                    extra["Link"] = '<%s?n=1&last=%d>; rel="next"' % (base, start + 1)
                msg = json.dumps(doc).encode()
            return self.canned(fault, 200, "application/vnd.oci.image.index.v1+json", msg, extra)
        if fault == "immutable" and self.command == "PUT":
            tag = self.path.split("?")[0].rsplit("/", 1)[1]
            if not tag.startswith("sha256:"):
                head = {"Accept": ", ".join(MANIFEST_TYPES)}
                if self.headers.get("Authorization"):
                    head["Authorization"] = self.headers["Authorization"]
                resp, _ = upstream_request("HEAD", self.path, None, head)
                if resp.status == 200:
                    return self.canned(fault, 400, "application/json", errors(
                        "TAG_INVALID", "The image tag '%s' already exists in the repository and cannot "
                        "be overwritten because the repository is immutable." % tag))
        if fault == "delay":
            time.sleep(float(arg or 5))
        path = self.path
        if fault == "nomount":
            path = path.split("?")[0]
        if fault == "dashtag":
            path = re.sub(r"/manifests/sha256-([0-9a-f]{64})$", r"/manifests/sha256:\1", path)
        if fault == "othermanifest":
            # a registry that serves other content than the digest asked for
            with open(os.path.join(os.path.dirname(rules_path), "othermanifest")) as f:
                path = f.read().strip()
        dropped = ("connection", "authorization") if fault == "unauth" else \
            ("connection", "range") if fault == "norange" else ("connection",)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
        resp, data = upstream_request(self.command, path, body, headers)
        if fault == "corrupt" and data:
            data = bytes([data[0] ^ 0xff]) + data[1:]
        status = resp.status
        if "to204" in mods and 200 <= status < 300:
            status, data = 204, b""
        shown = fault if fault in ("corrupt", "nomount", "nodigest", "baddigest", "unauth", "dashtag", "octet",
                                   "ctparams", "delay", "offload", "othermanifest", "norange") else status
        log(log_path, "%s %s %s" % (self.command, self.path, shown))
        self.send_response(status)
        for k, v in resp.getheaders():
            kl = k.lower()
            if kl == "docker-content-digest" and fault == "nodigest":
                continue
            if kl == "docker-content-digest" and fault == "baddigest":
                v = "sha256:" + "0" * 64
            if kl == "content-type" and fault == "octet":
                v = "application/octet-stream"
            if kl == "content-type" and fault == "ctparams":
                v += "; charset=utf-8"
            if kl == "location" and fault == "offload":
                v = re.sub(r"^(https?://[^/]+)?", "http://localhost:%d" % offload_port, v, count=1)
            if kl not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        if "minchunk" in mods and self.command == "POST":
            self.send_header("OCI-Chunk-Min-Length", mods["minchunk"])
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(data)

    def canned(self, fault, status, ctype, msg, headers={}):
        log(log_path, "%s %s %s" % (self.command, self.path, fault))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(msg)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(msg)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    def log_message(self, *a):
        pass


class Offload(H):
    """Another host for upload sessions (a storage front end): records whether it got an
    Authorization header, then passes the request on with the rig's own upstream auth."""

    def handle_any(self):
        body = self.read_body()
        got = "yes" if self.headers.get("Authorization") else "no"
        log(offload_log, "%s %s authorization=%s" % (self.command, self.path.split("?")[0], got))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "authorization", "host")}
        if upstream_auth:
            headers["Authorization"] = "Basic " + base64.b64encode(upstream_auth.encode()).decode()
        resp, data = upstream_request(self.command, self.path, body, headers)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class S(ThreadingHTTPServer):
    daemon_threads = True


off = S(("127.0.0.1", offload_port), Offload)
threading.Thread(target=off.serve_forever, daemon=True).start()
S(("127.0.0.1", port), H).serve_forever()
