# registry.sh — throwaway docker-registry servers and test images for ops-promote's tests
# and bench. Source it after test-lib.sh (it uses $TRASH, free_port, test_cleanup_add;
# bench/promote.sh defines those three itself). Only 127.0.0.1 is ever used.
#
#   start_registry NAME [plain|basic|tls|token]
#       Starts `docker-registry serve` on a free 127.0.0.1 port with filesystem storage in
#       $TRASH/registry-NAME and sets (with NAME upper-cased, e.g. REG_A_*; NAME must be [a-z0-9_]):
#         REG_<NAME>        host:port to use in image references ("127.0.0.1:PORT")
#         REG_<NAME>_LOG    the registry's log; one "response completed" line per request
#         REG_<NAME>_DIR    its directory (config.yml, storage, certificates)
#       basic: htpasswd -B users "promoter"/"s3cret-pass" (REG_USER, REG_PASS).
#       tls:   a throwaway CA in $TRASH/ca (REG_CA_FILE = its certificate); the registry
#              cert is for 127.0.0.1 and localhost. skopeo is pointed at it through
#              --dest-cert-dir/--src-cert-dir "$REG_<NAME>_DIR/certs.d".
#       token: a small python3 token issuer on its own port (REG_<NAME>_TOKEN_LOG) that
#              checks the same basic credentials and issues RS256 JWTs signed with
#              `openssl dgst -sha256 -sign`; the registry trusts the signing cert through
#              auth.token.rootcertbundle. Every grant asked for is granted.
#   registry_requests NAME        number of requests the registry has logged so far
#   registry_requests_since NAME N  ... since count N (use with the above)
#   make_test_image DIR TAG [PLATFORMS [LAYER_BYTES [REVISION]]]
#       Writes an OCI layout in DIR (created or extended) whose TAG is a single-platform
#       image manifest (PLATFORMS=1, default) or an index of PLATFORMS image manifests.
#       Each image has one uncompressed tar layer of LAYER_BYTES random bytes (default
#       1024) and a config whose label and manifest annotation
#       org.opencontainers.image.revision is REVISION (default "unknown").
#   push_test_image DIR TAG REF [SKOPEO_DEST_OPTS...]
#       skopeo copy --all --preserve-digests oci:DIR:TAG docker://REF (no TLS check).
#   skopeo_digest REF [SKOPEO_SRC_OPTS...]   the digest skopeo sees for REF.
#   start_fault_proxy NAME UPSTREAM   a fault-injecting proxy (see below).
#   make_nested_index, push_nested_index   an index of an index (see below).

REG_USER=promoter
REG_PASS=s3cret-pass

_reg_upper() { printf '%s' "$1" | tr 'a-z' 'A-Z'; }

# Until 127.0.0.1:PORT accepts connections (python3, so the bench needs no test-lib).
_reg_wait_port() {
	python3 - "$1" "${2:-20}" <<'PY'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.stderr.write("nothing listens on 127.0.0.1:%d\n" % port); sys.exit(1)
PY
}

_reg_make_ca() {
	[ -f "$TRASH/ca/ca.crt" ] && return 0
	mkdir -p "$TRASH/ca" &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=opskit test CA" \
		-keyout "$TRASH/ca/ca.key" -out "$TRASH/ca/ca.crt" >/dev/null 2>&1
}

# _reg_server_cert DIR: DIR/server.{crt,key} for 127.0.0.1/localhost, signed by the CA.
_reg_server_cert() {
	_reg_make_ca || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$1/ext.cnf"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$1/server.key" -out "$1/server.csr" >/dev/null 2>&1 &&
	openssl x509 -req -in "$1/server.csr" -CA "$TRASH/ca/ca.crt" -CAkey "$TRASH/ca/ca.key" \
		-CAcreateserial -days 2 -extfile "$1/ext.cnf" -out "$1/server.crt" >/dev/null 2>&1
}

_reg_token_issuer() { # DIR PORT REALM_SERVICE
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=opskit token signer" \
		-keyout "$1/token.key" -out "$1/token.crt" >/dev/null 2>&1 || return 1
	cat >"$1/token-issuer.py" <<'PY'
import base64, json, os, subprocess, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

d, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
der = subprocess.run(["openssl", "x509", "-in", d + "/token.crt", "-outform", "DER"],
                     capture_output=True, check=True).stdout

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if auth != want:
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers()
            return
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        access = []
        for s in q.get("scope", []):
            typ, rest = s.split(":", 1)
            name, actions = rest.rsplit(":", 1)
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        hdr = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": "opskit-test-issuer", "sub": user, "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(),
                  "access": access}
        signing = b64(json.dumps(hdr).encode()) + "." + b64(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", d + "/token.key"],
                             input=signing.encode(), capture_output=True, check=True).stdout
        tok = signing + "." + b64(sig)
        body = json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, fmt, *args):
        sys.stderr.write("token %s\n" % (fmt % args)); sys.stderr.flush()

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
	python3 "$1/token-issuer.py" "$1" "$2" "$REG_USER" "$REG_PASS" >"$1/token.log" 2>&1 &
	echo $! >"$1/token.pid"
	test_cleanup_add "kill $(cat "$1/token.pid")"
	_reg_wait_port "$2" 10
}

# start_registry NAME [plain|basic|tls|token]
start_registry() {
	_name=$1 _mode=${2:-plain}
	_dir=$TRASH/registry-$_name
	_port=$(free_port)
	mkdir -p "$_dir/storage" || return 1
	cat >"$_dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $_dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$_port
EOF
	case $_mode in
	plain) ;;
	basic)
		htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$_dir/htpasswd" 2>/dev/null || return 1
		printf 'auth:\n  htpasswd:\n    realm: opskit-test\n    path: %s/htpasswd\n' "$_dir" >>"$_dir/config.yml"
		;;
	tls)
		_reg_server_cert "$_dir" || return 1
		printf '  tls:\n    certificate: %s/server.crt\n    key: %s/server.key\n' "$_dir" "$_dir" >>"$_dir/config.yml"
		mkdir -p "$_dir/certs.d" && cp "$TRASH/ca/ca.crt" "$_dir/certs.d/ca.crt"
		REG_CA_FILE=$TRASH/ca/ca.crt
		;;
	token)
		_tport=$(free_port)
		_reg_token_issuer "$_dir" "$_tport" || return 1
		cat >>"$_dir/config.yml" <<EOF
auth:
  token:
    realm: http://127.0.0.1:$_tport/token
    service: opskit-test-registry
    issuer: opskit-test-issuer
    rootcertbundle: $_dir/token.crt
EOF
		eval "REG_$(_reg_upper "$_name")_TOKEN_LOG=\$_dir/token.log"
		;;
	*) echo "start_registry: unknown mode $_mode" >&2; return 1 ;;
	esac
	docker-registry serve "$_dir/config.yml" >"$_dir/registry.log" 2>&1 &
	echo $! >"$_dir/registry.pid"
	test_cleanup_add "kill $(cat "$_dir/registry.pid")"
	_up=$(_reg_upper "$_name")
	eval "REG_$_up=127.0.0.1:\$_port REG_${_up}_LOG=\$_dir/registry.log REG_${_up}_DIR=\$_dir"
	_reg_wait_port "$_port" 20
}

registry_requests() {
	eval "_log=\$REG_$(_reg_upper "$1")_LOG"
	grep -c 'response completed' "$_log"
}

registry_requests_since() {
	echo $(( $(registry_requests "$1") - $2 ))
}

make_test_image() {
	python3 - "$@" <<'PY'
import hashlib, io, json, os, sys, tarfile
d, tag = sys.argv[1], sys.argv[2]
platforms = int(sys.argv[3]) if len(sys.argv) > 3 else 1
size = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
rev = sys.argv[5] if len(sys.argv) > 5 else "unknown"
REV = "org.opencontainers.image.revision"
os.makedirs(d + "/blobs/sha256", exist_ok=True)
with open(d + "/oci-layout", "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)

def blob_file(data_or_path):
    h = hashlib.sha256()
    tmp = d + "/blobs/.tmp"
    with open(tmp, "wb") as out:
        for chunk in data_or_path:
            h.update(chunk); out.write(chunk)
    dig = h.hexdigest()
    os.replace(tmp, d + "/blobs/sha256/" + dig)
    return "sha256:" + dig, os.path.getsize(d + "/blobs/sha256/" + dig)

def blob(data):
    return blob_file([data])

def layer():
    # An uncompressed tar of one file of random bytes, streamed in 1 MiB pieces.
    hdr = tarfile.TarInfo("payload.bin"); hdr.size = size; hdr.mtime = 0
    head = hdr.tobuf(format=tarfile.USTAR_FORMAT)
    def gen():
        yield head
        left = size
        while left:
            n = min(left, 1 << 20); yield os.urandom(n); left -= n
        pad = (512 - size % 512) % 512
        yield b"\0" * (pad + 1024)
    return blob_file(gen())

arches = [("amd64", None), ("arm64", "v8"), ("ppc64le", None), ("s390x", None)][:platforms]
manifests = []
for arch, variant in arches:
    ldig, lsize = layer()
    cfg = {"architecture": arch, "os": "linux",
           "config": {"Labels": {REV: rev}},
           "rootfs": {"type": "layers", "diff_ids": [ldig]}}
    if variant: cfg["variant"] = variant
    cdig, csize = blob(json.dumps(cfg, sort_keys=True).encode())
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig, "size": csize},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ldig, "size": lsize}],
         "annotations": {REV: rev}}
    mdig, msize = blob(json.dumps(m, indent=3).encode())
    plat = {"architecture": arch, "os": "linux"}
    if variant: plat["variant"] = variant
    manifests.append({"mediaType": m["mediaType"], "digest": mdig, "size": msize, "platform": plat})

if platforms == 1:
    top = dict(manifests[0]); top.pop("platform")
else:
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": manifests, "annotations": {REV: rev}}
    idig, isize = blob(json.dumps(idx, indent=3).encode())
    top = {"mediaType": idx["mediaType"], "digest": idig, "size": isize}
top["annotations"] = {"org.opencontainers.image.ref.name": tag}
try:
    with open(d + "/index.json") as f: index = json.load(f)
except FileNotFoundError:
    index = {"schemaVersion": 2, "manifests": []}
index["manifests"] = [m for m in index["manifests"]
                      if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
index["manifests"].append(top)
with open(d + "/index.json", "w") as f: json.dump(index, f)
print(top["digest"])
PY
}

push_test_image() {
	_dir=$1 _tag=$2 _ref=$3; shift 3
	skopeo copy -q --all --preserve-digests --dest-tls-verify=false "$@" \
		"oci:$_dir:$_tag" "docker://$_ref" >/dev/null
}

skopeo_digest() {
	_ref=$1; shift
	skopeo inspect --raw --tls-verify=false "$@" "docker://$_ref" | sha256sum | sed 's/^/sha256:/; s/ .*//'
}

# start_fault_proxy NAME UPSTREAM   (UPSTREAM = host:port of a real registry)
#   A small python3 HTTP proxy in front of a real registry that injects faults, for the
#   retry and timeout tests. Sets FAULT_<NAME> (host:port), FAULT_<NAME>_RULES (a file,
#   re-read on every request: one rule a line, "METHOD PATH-PREFIX ACTION [COUNT]" with
#   ACTION 404 (BLOB_UNKNOWN), 500, 503, 429 (sends Retry-After: 1), hang (holds the request 30 s) or
#   schema1 (answers with a Docker schema 1 manifest, which registries no longer take)
#   corrupt (passes the request on, flips the first byte of the answer) or nomount
#   (passes it on without its query: a mount becomes a plain upload, 202) or nodigest
#   (passes it on, drops Docker-Content-Digest from the answer) or baddigest (passes it
#   on, Docker-Content-Digest replaced by sha256:000...0) or unauth (passes it on
#   without its Authorization header: the registry's own 401, as for a token that expired
#   mid-run) or referrers (answers an OCI referrers API listing: the file referrers.json
#   next to the rules, as registries newer than Debian's 2.8 do) or othermanifest (asks
#   the registry for the path in the file othermanifest next to the rules instead: a
#   registry that serves other content than the digest asked for); COUNT
#   is how many matching requests get the fault, default unlimited) and FAULT_<NAME>_LOG
#   (one "METHOD PATH STATUS" line per request it saw).
start_fault_proxy() {
	_name=$1 _up=$2
	_dir=$TRASH/fault-$_name
	_port=$(free_port)
	mkdir -p "$_dir" && : >"$_dir/rules" && : >"$_dir/log"
	cat >"$_dir/proxy.py" <<'PY'
import http.client, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, upstream, rules_path, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()
used = {}

def fault_for(method, path):
    with lock:
        for i, line in enumerate(open(rules_path).read().splitlines()):
            f = line.split()
            if len(f) < 3 or f[0] != method or not path.startswith(f[1]):
                continue
            count = int(f[3]) if len(f) > 3 else None
            key = (i, line)
            if count is not None and used.get(key, 0) >= count:
                continue
            used[key] = used.get(key, 0) + 1
            return f[2]
    return None

def log(method, path, status):
    with lock, open(log_path, "a") as out:
        out.write("%s %s %s\n" % (method, path, status))

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        fault = fault_for(self.command, self.path)
        if fault == "hang":
            log(self.command, self.path, "hang")
            time.sleep(30)
            self.close_connection = True
            return
        if fault == "schema1":
            msg = b'{"schemaVersion": 1, "name": "app", "tag": "old", "architecture": "amd64", "fsLayers": [], "history": []}'
            return self.canned(fault, 200, "application/vnd.docker.distribution.manifest.v1+prettyjws", msg)
        if fault in ("500", "503"):
            return self.canned(fault, int(fault), "application/json",
                               b'{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}')
        if fault == "404":
            return self.canned(fault, 404, "application/json",
                               b'{"errors":[{"code":"BLOB_UNKNOWN","message":"injected fault"}]}')
        if fault == "429":
            return self.canned(fault, 429, "application/json",
                               b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
                               {"Retry-After": "1"})
        if fault == "referrers":
            with open(os.path.join(os.path.dirname(rules_path), "referrers.json"), "rb") as f:
                msg = f.read()
            return self.canned(fault, 200, "application/vnd.oci.image.index.v1+json", msg)
        conn = http.client.HTTPConnection(upstream, timeout=60)
        dropped = ("connection", "authorization") if fault == "unauth" else ("connection",)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
        path = self.path.split("?")[0] if fault == "nomount" else self.path
        if fault == "othermanifest":
            with open(os.path.join(os.path.dirname(rules_path), "othermanifest")) as f:
                path = f.read().strip()
        conn.request(self.command, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if fault == "corrupt" and data:
            data = bytes([data[0] ^ 0xff]) + data[1:]
        log(self.command, self.path, fault if fault in ("corrupt", "nomount", "nodigest", "baddigest", "othermanifest", "unauth") else resp.status)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() == "docker-content-digest" and fault == "nodigest":
                continue
            if k.lower() == "docker-content-digest" and fault == "baddigest":
                v = "sha256:" + "0" * 64
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()
    def canned(self, fault, status, ctype, msg, headers={}):
        log(self.command, self.path, fault)
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

class S(ThreadingHTTPServer):
    daemon_threads = True
S(("127.0.0.1", port), H).serve_forever()
PY
	python3 "$_dir/proxy.py" "$_port" "$_up" "$_dir/rules" "$_dir/log" >"$_dir/proxy.err" 2>&1 &
	echo $! >"$_dir/proxy.pid"
	test_cleanup_add "kill $(cat "$_dir/proxy.pid")"
	_up=$(_reg_upper "$_name")
	eval "FAULT_$_up=127.0.0.1:\$_port FAULT_${_up}_RULES=\$_dir/rules FAULT_${_up}_LOG=\$_dir/log"
	_reg_wait_port "$_port" 10
}

# make_nested_index DIR TAG INNER_TAG: an index in DIR, tagged TAG, whose only entry is
# the index INNER_TAG (skopeo cannot push that; use push_nested_index). Prints its digest.
make_nested_index() {
	python3 - "$1" "$2" "$3" <<'PY'
import hashlib, json, os, sys
d, tag, inner_tag = sys.argv[1:4]
ix = json.load(open(d + "/index.json"))
ref = "org.opencontainers.image.ref.name"
inner = [m for m in ix["manifests"] if m.get("annotations", {}).get(ref) == inner_tag][0]
idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
       "manifests": [{"mediaType": inner["mediaType"], "digest": inner["digest"], "size": inner["size"]}]}
b = json.dumps(idx).encode()
h = hashlib.sha256(b).hexdigest()
open(d + "/blobs/sha256/" + h, "wb").write(b)
ix["manifests"] = [m for m in ix["manifests"] if m.get("annotations", {}).get(ref) != tag]
ix["manifests"].append({"mediaType": idx["mediaType"], "digest": "sha256:" + h, "size": len(b),
                        "annotations": {ref: tag}})
json.dump(ix, open(d + "/index.json", "w"))
print("sha256:" + h)
PY
}

# push_nested_index DIR TAG INNER_TAG REGISTRY REPO: pushes INNER_TAG with skopeo, then
# the outer index's bytes with a plain PUT (plain HTTP, no auth).
push_nested_index() {
	push_test_image "$1" "$3" "$4/$5:$3" || return 1
	python3 - "$1" "$2" "$4" "$5" <<'PY'
import json, sys, urllib.request
d, tag, reg, repo = sys.argv[1:5]
ix = json.load(open(d + "/index.json"))
m = [m for m in ix["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
body = open(d + "/blobs/sha256/" + m["digest"][7:], "rb").read()
req = urllib.request.Request("http://%s/v2/%s/manifests/%s" % (reg, repo, tag), data=body, method="PUT",
                             headers={"Content-Type": m["mediaType"]})
urllib.request.urlopen(req, timeout=20)
PY
}
