# registry.sh — throwaway docker-registry servers and test images for ops-promote's tests
# and bench. Source it after test-lib.sh (it uses $TRASH, free_port, test_cleanup_add;
# bench/promote.sh defines those three itself). Only 127.0.0.1 is ever used.
#
#   start_registry NAME [plain|basic|tls|token]
#       Starts `docker-registry serve` on a free 127.0.0.1 port (foreign layers with http(s)
#       urls accepted, as on Docker Hub) with filesystem storage in
#       $TRASH/registry-NAME and sets (with NAME upper-cased, e.g. REG_A_*; NAME must be [a-z0-9_]):
#         REG_<NAME>        host:port to use in image references ("127.0.0.1:PORT")
#         REG_<NAME>_LOG    the registry's log; one "response completed" line per request
#         REG_<NAME>_DIR    its directory (config.yml, storage, certificates)
#       basic: htpasswd -B users "promoter"/"s3cret-pass" (REG_USER, REG_PASS).
#       tls:   a throwaway CA in $TRASH/ca (REG_CA_FILE = its certificate); the registry
#              cert is for 127.0.0.1 and localhost. skopeo is pointed at it through
#              --dest-cert-dir/--src-cert-dir "$REG_<NAME>_DIR/certs.d".
#       mtls:  tls, and the registry asks for a client certificate signed by the CA:
#              $REG_<NAME>_DIR/certs.d holds ca.crt, client.cert and client.key (docker's
#              certs.d layout, which skopeo's --dest-cert-dir reads too).
#       token: a small python3 token issuer on its own port (REG_<NAME>_TOKEN_LOG, one
#              line a request, ending in ua=<its User-Agent>) that
#              checks the same basic credentials and issues RS256 JWTs signed with
#              `openssl dgst -sha256 -sign`; the registry trusts the signing cert through
#              auth.token.rootcertbundle. Every grant asked for is granted. A POST
#              with the OAuth2 refresh-token grant and refresh_token $REG_REFRESH_TOKEN
#              is granted too (identity tokens). Faults: the file
#              $REG_<NAME>_DIR/token-faults, re-read on every request, holding
#              "CODE N [SKIP]": after SKIP requests (default 0) the next N are answered
#              CODE (a 429 with Retry-After: 1), counted afresh whenever the file is
#              rewritten; the log shows each request's status.
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
#   push_referrer REGISTRY REPO SUBJECT_DIGEST   an OCI 1.1 referrer and its fallback tag.

REG_USER=promoter
REG_PASS=s3cret-pass
REG_REFRESH_TOKEN=opskit-refresh-t0ken

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
import base64, json, os, subprocess, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

d, port, user, password, refresh = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
der = subprocess.run(["openssl", "x509", "-in", d + "/token.crt", "-outform", "DER"],
                     capture_output=True, check=True).stdout
faults = {"key": None, "seen": 0}
faults_lock = threading.Lock()

def injected_status():
    """The status token-faults ("CODE N [SKIP]") asks for this request, or None."""
    try:
        st = os.stat(d + "/token-faults")
        spec = open(d + "/token-faults").read().split()
    except OSError:
        return None
    if len(spec) < 2:
        return None
    with faults_lock:
        key = (st.st_mtime_ns, st.st_ino, tuple(spec))
        if faults["key"] != key:
            faults.update(key=key, seen=0)
        n = faults["seen"]
        faults["seen"] += 1
    skip = int(spec[2]) if len(spec) > 2 else 0
    return int(spec[0]) if skip <= n < skip + int(spec[1]) else None

class H(BaseHTTPRequestHandler):
    def fault(self):
        code = injected_status()
        if code is None:
            return False
        body = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "injected fault"}]}).encode()
        self.send_response(code)
        if code == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
        return True
    def do_POST(self):
        # the OAuth2 refresh-token grant, for identity tokens (scopes space-separated)
        n = int(self.headers.get("Content-Length") or 0)
        q = urllib.parse.parse_qs(self.rfile.read(min(n, 65536)).decode())
        if self.fault():
            return
        if q.get("grant_type") != ["refresh_token"] or q.get("refresh_token") != [refresh]:
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers()
            return
        scopes = [s for f in q.get("scope", []) for s in f.split(" ") if s]
        self.grant(q, scopes)
    def do_GET(self):
        if self.fault():
            return
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if auth != want:
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers()
            return
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        self.grant(q, q.get("scope", []))
    def grant(self, q, scopes):
        access = []
        for s in scopes:
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
        ua = getattr(self, "headers", None) and self.headers.get("User-Agent", "")
        sys.stderr.write("token %s ua=%s\n" % (fmt % args, ua or "")); sys.stderr.flush()

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
	python3 "$1/token-issuer.py" "$1" "$2" "$REG_USER" "$REG_PASS" "$REG_REFRESH_TOKEN" >"$1/token.log" 2>&1 &
	echo $! >"$1/token.pid"
	test_cleanup_add "kill $(cat "$1/token.pid")"
	_reg_wait_port "$2" 10
}

# start_registry NAME [plain|basic|tls|mtls|token]
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
validation:
  manifests:
    urls:
      allow:
        - ^https?://
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
	mtls)
		_reg_server_cert "$_dir" || return 1
		printf '  tls:\n    certificate: %s/server.crt\n    key: %s/server.key\n    clientcas:\n      - %s\n' \
			"$_dir" "$_dir" "$TRASH/ca/ca.crt" >>"$_dir/config.yml"
		mkdir -p "$_dir/certs.d" && cp "$TRASH/ca/ca.crt" "$_dir/certs.d/ca.crt" &&
		printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >"$_dir/client-ext.cnf" &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=opskit test client" \
			-keyout "$_dir/certs.d/client.key" -out "$_dir/client.csr" >/dev/null 2>&1 &&
		openssl x509 -req -in "$_dir/client.csr" -CA "$TRASH/ca/ca.crt" -CAkey "$TRASH/ca/ca.key" \
			-CAcreateserial -days 2 -extfile "$_dir/client-ext.cnf" -out "$_dir/certs.d/client.cert" \
			>/dev/null 2>&1 || return 1
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

# start_fault_proxy NAME UPSTREAM [UPSTREAM_AUTH]   (UPSTREAM = host:port of a real registry)
#   The registry-quirks rig (tests/lib/quirks-proxy.py): a small python3 HTTP proxy in
#   front of a real registry that injects faults and behaves like the registries met in
#   the field. Sets FAULT_<NAME> (host:port), FAULT_<NAME>_RULES (a file, re-read on every
#   request: one rule a line, "METHOD PATH-PREFIX ACTION [COUNT]"; METHOD may be *,
#   PATH-PREFIX may hold * globs; COUNT is how many matching requests get the fault,
#   default unlimited; or "profile NAME" for a named registry: ghcr, dockerhub, gitlab,
#   ecr, harbor, gar, artifactory, quay, see PROFILES in the script), FAULT_<NAME>_LOG (one
#   "METHOD PATH STATUS-OR-ACTION" line per request it saw), FAULT_<NAME>_OFFLOAD (a second
#   listener, host:port, for upload sessions on "another host") and
#   FAULT_<NAME>_OFFLOAD_LOG ("METHOD PATH authorization=yes|no" per request it got; it
#   passes them on with UPSTREAM_AUTH, user:password, when given). ACTIONs:
#     500 503 408 ...     that status (any 3 digits), with an error document
#     429                 429 with Retry-After: 1;  429date[:S]  with Retry-After as an
#                         HTTP date S seconds ahead (default 2) (Docker Hub)
#     401                 401 UNAUTHORIZED with the registry's message (Harbor, a mount
#                         from a project the robot cannot read)
#     hang                holds the request 30 s
#     schema1             a Docker schema 1 manifest, which registries no longer take
#     corrupt             passes it on, flips the first byte of the answer
#     nomount             passes it on without its query: a mount becomes a plain upload
#                         session, 202 (GAR, ECR)
#     nodigest            passes it on, drops Docker-Content-Digest from the answer
#     baddigest           passes it on, Docker-Content-Digest replaced by sha256:000...0
#     othermanifest       asks the registry for the path in the file othermanifest next
#                         to the rules instead (other content than the digest asked for)
#     404                 404 BLOB_UNKNOWN
#     unauth              passes it on without its Authorization header (a token that
#                         expired mid-run)
#     norange             passes it on without its Range header: the whole blob, 200
#                         (a proxy or cache in front of the registry that ignores Range)
#     referrers           answers an OCI referrers listing: the file referrers.json next
#                         to the rules (registries newer than Debian's 2.8)
#     linkpage            the same, one entry a page, with Link: <...>; rel="next"
#     noreferrers         404 for the referrers API (GHCR, GitLab, Docker Hub)
#     dashtag             manifests/sha256-<hex> answered as manifests/sha256:<hex>: the
#                         fallback tag resolves to the image itself (GitLab)
#     immutable           a PUT of a tag that exists: 400 TAG_INVALID with ECR's message
#     delay:S             answers S seconds after the last byte of the request
#     offload             the upload Location points at the offload listener
#     redirect            307 to the same path on the offload listener (blob storage
#                         on another host, as Docker Hub's and GHCR's CDNs)
#     octet               Content-Type: application/octet-stream on the answer
#                         (Artifactory behind a generic proxy)
#     ctparams            "; charset=utf-8" appended to the Content-Type
#   Modifiers apply from every matching rule, besides the first matching ACTION:
#     413:N               a body over N bytes: 413 (a proxy's body limit)
#     minchunk:N          POST answers carry OCI-Chunk-Min-Length: N; a PATCH of fewer
#                         bytes gets 400 BLOB_UPLOAD_INVALID
#     to204               a 2xx answer becomes 204 No Content (headers kept, no body)
start_fault_proxy() {
	_name=$1 _up=$2 _auth=${3:-}
	_dir=$TRASH/fault-$_name
	_port=$(free_port)
	_oport=$(free_port)
	mkdir -p "$_dir" && : >"$_dir/rules" && : >"$_dir/log" && : >"$_dir/offload.log" || return 1
	python3 "${TEST_LIB:-$OPSKIT_ROOT/tests/lib}/quirks-proxy.py" \
		"$_port" "$_up" "$_dir/rules" "$_dir/log" "$_oport" "$_dir/offload.log" $_auth >"$_dir/proxy.err" 2>&1 &
	echo $! >"$_dir/proxy.pid"
	test_cleanup_add "kill $(cat "$_dir/proxy.pid")"
	_up=$(_reg_upper "$_name")
	eval "FAULT_$_up=127.0.0.1:\$_port FAULT_${_up}_RULES=\$_dir/rules FAULT_${_up}_LOG=\$_dir/log"
	eval "FAULT_${_up}_OFFLOAD=localhost:\$_oport FAULT_${_up}_OFFLOAD_LOG=\$_dir/offload.log"
	_reg_wait_port "$_port" 10 && _reg_wait_port "$_oport" 10
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

# push_referrer REGISTRY REPO SUBJECT_DIGEST [ARTIFACT_TYPE [FALLBACK]]
#   Pushes (plain HTTP, no auth) an OCI artifact manifest whose subject is the manifest
#   SUBJECT_DIGEST of REPO, like `oras attach` or `cosign sign` with OCI 1.1 referrers:
#   an empty config, one small layer, artifactType ARTIFACT_TYPE (default
#   application/vnd.example.signature). With FALLBACK=yes (default) it also adds it to
#   the referrers tag schema's index, tag sha256-<hex> of the subject, as clients do on
#   registries without the referrers API (Debian's 2.8). Prints the artifact's digest.
push_referrer() {
	python3 - "$1" "$2" "$3" "${4:-application/vnd.example.signature}" "${5:-yes}" <<'PY'
import hashlib, json, os, sys, urllib.error, urllib.request
reg, repo, subject, atype, fallback = sys.argv[1:6]
base = "http://%s/v2/%s" % (reg, repo)
IDX = "application/vnd.oci.image.index.v1+json"
MAN = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = ", ".join([IDX, MAN, "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.docker.distribution.manifest.v2+json"])

def req(method, url, data=None, headers={}):
    r = urllib.request.Request(url, data=data, method=method, headers=headers)
    return urllib.request.urlopen(r, timeout=20)

def blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = req("POST", base + "/blobs/uploads/", b"").headers["Location"]
    if loc.startswith("/"):
        loc = "http://" + reg + loc
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, data,
        {"Content-Type": "application/octet-stream"})
    return d, len(data)

with req("GET", base + "/manifests/" + subject, headers={"Accept": ACCEPT}) as r:
    sbytes, stype = r.read(), r.headers["Content-Type"].split(";")[0]
cdig, csize = blob(b"{}")
ldig, lsize = blob(os.urandom(64))
m = {"schemaVersion": 2, "mediaType": MAN, "artifactType": atype,
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cdig, "size": csize},
     "layers": [{"mediaType": "application/octet-stream", "digest": ldig, "size": lsize}],
     "subject": {"mediaType": stype, "digest": subject, "size": len(sbytes)},
     "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}}
mb = json.dumps(m).encode()
mdig = "sha256:" + hashlib.sha256(mb).hexdigest()
req("PUT", base + "/manifests/" + mdig, mb, {"Content-Type": MAN})
if fallback == "yes":
    tag = "sha256-" + subject[7:]
    try:
        with req("GET", base + "/manifests/" + tag, headers={"Accept": IDX}) as r:
            idx = json.loads(r.read())
    except urllib.error.HTTPError:
        idx = {"schemaVersion": 2, "mediaType": IDX, "manifests": []}
    idx["manifests"].append({"mediaType": MAN, "digest": mdig, "size": len(mb), "artifactType": atype,
                             "annotations": m["annotations"]})
    req("PUT", base + "/manifests/" + tag, json.dumps(idx).encode(), {"Content-Type": IDX})
print(mdig)
PY
}
