#!/bin/sh
# ops-promote: cross-repository mount, cross-registry streamed copy, signatures and
# referrers travel along.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3

start_registry a plain || { echo "Bail out! registry a did not start"; exit 1; }
start_registry b plain || { echo "Bail out! registry b did not start"; exit 1; }
A=$REG_A B=$REG_B

test_expect_success 'setup: a 2-platform image with 6 MiB layers, a single one, a signature' '
	make_test_image img pr-7 2 6291456 7777777 >index.digest &&
	make_test_image img pr-8 1 1048576 8888888 >single.digest &&
	push_test_image img pr-7 $A/team/app:pr-7 &&
	push_test_image img pr-8 $A/team/app:pr-8 &&
	sig=sha256-$(sed "s/^sha256://" index.digest).sig &&
	make_test_image img "$sig" 1 300 7777777 >sig.digest &&
	push_test_image img "$sig" "$A/team/app:$sig" &&
	echo "$sig" >sig.tag
'

test_expect_success 'cross-repo: every blob mounted, zero bytes copied, digest as skopeo sees it' '
	ops-promote --format json $A/team/app:pr-7 $A/prod/app:1.0 >out.json &&
	json_assert out.json "assert d[\"action\"] == \"mounted\", d; assert d[\"bytes_copied\"] == 0; \
		assert d[\"blobs\"][\"mounted\"] >= 4 and d[\"blobs\"][\"copied\"] == 0, d[\"blobs\"]; \
		assert d[\"verified\"] is True" &&
	test "$(skopeo_digest $A/prod/app:1.0)" = "$(cat index.digest)" &&
	! grep "response completed" "$REG_A_LOG" | grep "prod/app/blobs/uploads" | grep -v "mount=" | grep -q .
'

test_expect_success 'cross-repo: the cosign signature tag was copied with it' '
	json_assert out.json "assert d[\"referrers\"] == 1, d[\"referrers\"]" &&
	test "$(skopeo_digest $A/prod/app:$(cat sig.tag))" = "$(cat sig.digest)"
'

test_expect_success 'cross-repo: the platform images are usable (skopeo copies them back out)' '
	skopeo copy -q --all --src-tls-verify=false docker://$A/prod/app:1.0 oci:back1:x >/dev/null
'

test_expect_success 'cross-registry: blobs streamed and verified, digest unchanged' '
	ops-promote --jobs 3 --format json $A/team/app:pr-7 $B/app:production >out.json &&
	json_assert out.json "assert d[\"action\"] == \"copied\", d; b = d[\"blobs\"]; \
		assert b[\"copied\"] >= 4 and b[\"mounted\"] == 0, b; \
		assert d[\"bytes_copied\"] > 2 * 6291456, d[\"bytes_copied\"]; assert d[\"verified\"] is True" &&
	test "$(skopeo_digest $B/app:production)" = "$(cat index.digest)" &&
	test "$(skopeo_digest $B/app:$(cat sig.tag))" = "$(cat sig.digest)" &&
	skopeo copy -q --all --src-tls-verify=false docker://$B/app:production oci:back2:x >/dev/null
'

test_expect_success 'cross-registry rerun: no-op' '
	ops-promote --format json $A/team/app:pr-7 $B/app:production >out.json &&
	json_assert out.json "assert d[\"action\"] == \"noop\" and d[\"verified\"] is True, d"
'

test_expect_success 'cross-registry to a new tag: blobs the target has are skipped' '
	ops-promote --no-referrers --format json $A/team/app:pr-7 $B/app:copy2 >out.json &&
	json_assert out.json "b = d[\"blobs\"]; assert b[\"skipped\"] >= 4 and b[\"copied\"] == 0, b; \
		assert d[\"bytes_copied\"] == 0"
'

test_expect_success 'single-platform cross-registry copy with --jobs 1' '
	ops-promote --jobs 1 --format json $A/team/app:pr-8 $B/other:pr-8 >out.json &&
	json_assert out.json "assert d[\"blobs\"][\"copied\"] == 2 and d[\"verified\"] is True, d" &&
	test "$(skopeo_digest $B/other:pr-8)" = "$(cat single.digest)"
'

test_expect_success 'referrers tag schema fallback (sha256-<hex>): its referrers are copied and indexed' '
	make_test_image img pr-9 1 2048 9999999 >pr9.digest &&
	push_test_image img pr-9 $A/team/app:pr-9 &&
	ref=sha256-$(sed "s/^sha256://" pr9.digest) &&
	push_referrer $A team/app $(cat pr9.digest) >ref.digest &&
	ops-promote --format json $A/team/app:pr-9 $B/refs/app:1 >out.json &&
	json_assert out.json "assert d[\"referrers\"] == 1, d" &&
	test "$(skopeo_digest $B/refs/app@$(cat ref.digest))" = "$(cat ref.digest)" &&
	skopeo inspect --raw --tls-verify=false docker://$B/refs/app:$ref >fallback.json &&
	json_assert fallback.json "assert [m[\"digest\"] for m in d[\"manifests\"]] == [\"$(cat ref.digest)\"], d"
'

test_expect_success 'a fallback tag that is not a referrers index (an image) is not copied' '
	make_test_image img pr-10 1 2048 1010101 >pr10.digest &&
	push_test_image img pr-10 $A/team/app:pr-10 &&
	ref=sha256-$(sed "s/^sha256://" pr10.digest) &&
	make_test_image img "$ref" 1 100 1010101 >ref10.digest &&
	push_test_image img "$ref" "$A/team/app:$ref" &&
	ops-promote --format json $A/team/app:pr-10 $B/refs/app:2 >out.json &&
	json_assert out.json "assert d[\"referrers\"] == 0, d" &&
	! skopeo inspect --raw --tls-verify=false docker://$B/refs/app:$ref >/dev/null 2>&1
'

test_expect_success 'an index nested in an index is copied recursively, children first' '
	make_nested_index img nested pr-7 >nested.digest &&
	push_nested_index img nested pr-7 $A team/app &&
	ops-promote --format json $A/team/app:nested $B/nested/app:1 >out.json &&
	json_assert out.json "assert d[\"action\"] == \"copied\" and d[\"verified\"] is True, d" &&
	test "$(skopeo_digest $B/nested/app:1)" = "$(cat nested.digest)" &&
	test "$(skopeo_digest $B/nested/app@$(cat index.digest))" = "$(cat index.digest)"
'

# A Windows-style image: its base layer is non-distributable (foreign), its bytes are at
# its urls and in no registry. It is left out of the copy and reported.
test_expect_success 'a foreign (non-distributable) layer is not copied, and the report says so' '
	python3 - $A <<-\PY &&
	import hashlib, json, os, sys, urllib.request
	reg = sys.argv[1]
	base = "http://%s/v2/win/app" % reg
	def req(method, url, data=None, headers={}):
	    return urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers), timeout=20)
	def blob(data):
	    d = "sha256:" + hashlib.sha256(data).hexdigest()
	    loc = req("POST", base + "/blobs/uploads/", b"").headers["Location"]
	    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, data, {"Content-Type": "application/octet-stream"})
	    return {"digest": d, "size": len(data)}
	cfg = blob(json.dumps({"architecture": "amd64", "os": "windows", "rootfs": {"type": "layers", "diff_ids": []}}).encode())
	cfg["mediaType"] = "application/vnd.docker.container.image.v1+json"
	own = blob(os.urandom(512)); own["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	foreign = {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	           "digest": "sha256:" + hashlib.sha256(b"windows base layer").hexdigest(), "size": 18,
	           "urls": ["https://mcr.example.invalid/windows/base"]}
	m = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
	     "config": cfg, "layers": [foreign, own]}
	req("PUT", base + "/manifests/ltsc", json.dumps(m).encode(),
	    {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
	PY
	ops-promote --format json $A/win/app:ltsc $B/win/app:prod >out.json &&
	json_assert out.json "assert d[\"foreign_layers\"] == 1 and d[\"blobs\"][\"copied\"] == 2, d; \
		assert d[\"action\"] == \"copied\" and d[\"verified\"] is True, d" &&
	ops-promote $A/win/app:ltsc $A/win/mounted:prod >out &&
	test_grep "^foreign *1 non-distributable layers not copied" out
'

test_expect_success '--no-referrers leaves the signature behind' '
	ops-promote --no-referrers $A/team/app:pr-7 $A/noref/app:1.0 >out &&
	! skopeo inspect --raw --tls-verify=false docker://$A/noref/app:$(cat sig.tag) >/dev/null 2>&1
'

test_expect_success '--dry-run across registries plans the copy and writes nothing' '
	ops-promote --dry-run --format json $A/team/app:pr-8 $B/dry/app:x >out.json &&
	json_assert out.json "assert d[\"action\"] == \"dry-run\"; assert d[\"bytes_planned\"] > 1048576; \
		assert any(\"copy\" in l for l in d[\"plan\"]), d[\"plan\"]" &&
	! skopeo inspect --raw --tls-verify=false docker://$B/dry/app:x >/dev/null 2>&1
'

test_done
