#!/bin/sh
# ops-promote: retries with backoff on 5xx and 429 (Retry-After), never on 4xx, and
# bounded time against a hung endpoint — through a fault-injecting proxy in front of a
# real registry.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3 curl

start_registry a plain || { echo "Bail out! registry did not start"; exit 1; }
start_registry b plain || { echo "Bail out! registry b did not start"; exit 1; }
start_fault_proxy p $REG_A || { echo "Bail out! proxy did not start"; exit 1; }
start_fault_proxy q $REG_B || { echo "Bail out! proxy q did not start"; exit 1; }
P=$FAULT_P Q=$FAULT_Q
rules() { printf '%s\n' "$@" >"$FAULT_P_RULES"; : >"$FAULT_P_LOG"; }
seen() { grep -c "^$1 " "$FAULT_P_LOG"; }

test_expect_success 'setup: an image behind the proxy' '
	make_test_image img pr-1 1 65536 1111111 >pr1.digest &&
	push_test_image img pr-1 $REG_A/app:pr-1
'

test_expect_success 'two injected 500s on the manifest GET are retried, then it works' '
	rules "GET /v2/app/manifests/pr-1 500 2" &&
	ops-promote --format json $P/app:pr-1 $P/app:after500 >out.json &&
	test "$(grep -c "GET /v2/app/manifests/pr-1 " "$FAULT_P_LOG")" -eq 3 &&
	test "$(grep -c "GET /v2/app/manifests/pr-1 500" "$FAULT_P_LOG")" -eq 2 &&
	test "$(skopeo_digest $REG_A/app:after500)" = "$(cat pr1.digest)"
'

test_expect_success 'a 429 with Retry-After: 1 is honoured (waits about 1 s), then it works' '
	rules "PUT /v2/app/manifests/after429 429 1" &&
	start=$(date +%s%N) &&
	ops-promote $P/app:pr-1 $P/app:after429 >out &&
	elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 )) &&
	test $elapsed_ms -ge 900 &&
	test "$(grep -c "PUT /v2/app/manifests/after429 429" "$FAULT_P_LOG")" -eq 1 &&
	test "$(grep -c "PUT /v2/app/manifests/after429 201" "$FAULT_P_LOG")" -eq 1
'

test_expect_success 'a Docker schema 1 manifest is refused with a clear message' '
	rules "GET /v2/app/manifests/old schema1" &&
	{ ops-promote $P/app:old $P/app:x >out; rc=$?; } &&
	test $rc -eq 2 && test_grep "Docker schema 1" out
'

test_expect_success 'a registry without Docker-Content-Digest on HEAD: the no-op is still seen' '
	rules "HEAD /v2/app/manifests/nodigest nodigest" &&
	ops-promote $P/app:pr-1 $P/app:nodigest >out &&
	ops-promote --format json $P/app:pr-1 $P/app:nodigest >out.json &&
	test "$(grep -c "HEAD /v2/app/manifests/nodigest nodigest" "$FAULT_P_LOG")" -eq 2 &&
	python3 -c "import json; d=json.load(open(\"out.json\")); assert d[\"action\"] == \"noop\", d"
'

test_expect_success 'a PUT answered without Docker-Content-Digest: verified with a HEAD instead' '
	rules "PUT /v2/app/manifests/putnodigest nodigest" &&
	ops-promote --format json $P/app:pr-1 $P/app:putnodigest >out.json &&
	test "$(grep -c "PUT /v2/app/manifests/putnodigest nodigest" "$FAULT_P_LOG")" -eq 1 &&
	test "$(grep -c "HEAD /v2/app/manifests/putnodigest" "$FAULT_P_LOG")" -eq 2 &&
	python3 -c "import json; d=json.load(open(\"out.json\")); \
		assert d[\"verified\"] is True and d[\"verified_by\"] == \"head\", d; assert d[\"requests\"] == 4, d"
'

test_expect_success 'a target tag that reads back another digest after the PUT: not verified, exit 2' '
	rules "PUT /v2/app/manifests/baddigest nodigest" "HEAD /v2/app/manifests/baddigest baddigest" &&
	{ ops-promote --format json $P/app:pr-1 $P/app:baddigest >out.json; rc=$?; } &&
	test $rc -eq 2 &&
	test "$(grep -c "HEAD /v2/app/manifests/baddigest baddigest" "$FAULT_P_LOG")" -eq 2 &&
	python3 -c "import json; d=json.load(open(\"out.json\")); \
		assert d[\"verified\"] is False, d; \
		assert \"points at sha256:0000000000\" in d[\"checks\"][0][\"message\"], d[\"checks\"]"
'

test_expect_success 'a registry serving other content for a pinned digest is refused (exit 2)' '
	make_test_image img2 pr-2 1 4096 2222222 >pr2.digest &&
	push_test_image img2 pr-2 $REG_A/app:pr-2 &&
	echo /v2/app/manifests/pr-2 >"$(dirname "$FAULT_P_RULES")/othermanifest" &&
	rules "GET /v2/app/manifests/sha256: othermanifest" &&
	{ ops-promote "$P/app@$(cat pr1.digest)" $P/app:other >out; rc=$?; } &&
	test $rc -eq 2 &&
	test_grep "app@$(cat pr1.digest) served content that hashes to $(cat pr2.digest)" out &&
	! skopeo inspect --raw --tls-verify=false docker://$REG_A/app:other >/dev/null 2>&1
'

test_expect_success 'a 404 is never retried' '
	rules &&
	! ops-promote $P/app:missing $P/app:x >out &&
	test "$(grep -c "GET /v2/app/manifests/missing" "$FAULT_P_LOG")" -eq 1 &&
	test_grep "does not exist" out
'

test_expect_success 'persistent 500s: gives up after --retries, exit 2, one clear sentence' '
	rules "GET /v2/app/manifests/pr-1 500" &&
	{ ops-promote --retries 2 $P/app:pr-1 $P/app:x >out; rc=$?; } &&
	test $rc -eq 2 &&
	test "$(grep -c "GET /v2/app/manifests/pr-1 500" "$FAULT_P_LOG")" -eq 3 &&
	test_grep "HTTP 500" out
'

test_expect_success 'a hung endpoint times out in bounded time (--timeout 1s --retries 1)' '
	rules "GET /v2/app/manifests/pr-1 hang" &&
	start=$(date +%s) &&
	{ run_with_timeout 20 ops-promote --timeout 1s --retries 1 $P/app:pr-1 $P/app:x >out; rc=$?; } &&
	test $rc -eq 2 &&
	test $(( $(date +%s) - start )) -le 6 &&
	test_grep "timed out\|Timeout" out
'

test_expect_success '--total-timeout bounds the whole run even with many retries' '
	rules "GET /v2/app/manifests/pr-1 hang" &&
	start=$(date +%s) &&
	{ run_with_timeout 20 ops-promote --timeout 10s --total-timeout 2s --retries 10 $P/app:pr-1 $P/app:x >out; rc=$?; } &&
	test $rc -eq 2 && test $(( $(date +%s) - start )) -le 5
'

test_expect_success 'cross-registry: a 500 on a blob upload is retried and the copy completes' '
	rules &&
	printf "PUT /v2/far/blobs/uploads/ 500 1\n" >"$FAULT_Q_RULES" && : >"$FAULT_Q_LOG" &&
	ops-promote --format json $REG_A/app:pr-1 $Q/far:prod >out.json &&
	test "$(grep -c "^PUT /v2/far/blobs/uploads/.* 500" "$FAULT_Q_LOG")" -eq 1 &&
	test "$(skopeo_digest $REG_B/far:prod)" = "$(cat pr1.digest)"
'

test_expect_success 'cross-registry: a failed blob upload is one sentence from the registry error document' '
	printf "PUT /v2/far3/blobs/uploads/ 500\n" >"$FAULT_Q_RULES" && : >"$FAULT_Q_LOG" &&
	{ ops-promote --retries 0 --no-referrers $REG_A/app:pr-1 $Q/far3:prod >out; rc=$?; } &&
	test $rc -eq 2 &&
	test_grep "PUT blob sha256:[0-9a-f]* to $Q/far3 failed with HTTP 500: injected fault (UNKNOWN)" out &&
	test_grep_not "_state" out
'

test_expect_success 'a mount answered 202 (not mounted) falls back to a streamed copy' '
	rules "POST /v2/fallback/app/blobs/uploads/ nomount" &&
	ops-promote --format json $P/app:pr-1 $P/fallback/app:1 >out.json &&
	test "$(grep -c "nomount" "$FAULT_P_LOG")" -eq 2 &&
	python3 -c "import json; d=json.load(open(\"out.json\")); b=d[\"blobs\"]; \
		assert b[\"copied\"] == 2 and b[\"mounted\"] == 0, b; assert d[\"action\"] == \"copied\", d; \
		assert d[\"verified\"] is True" &&
	test "$(skopeo_digest $REG_A/fallback/app:1)" = "$(cat pr1.digest)"
'

test_expect_success 'cross-registry: a corrupted blob stream is refused and never committed' '
	printf "GET /v2/app/blobs/ corrupt\n" >"$FAULT_P_RULES" &&
	{ ops-promote --no-referrers $P/app:pr-1 $REG_B/bad:prod >out; rc=$?; } &&
	test $rc -eq 2 && test_grep "hash to" out &&
	for d in $(skopeo inspect --raw --tls-verify=false docker://$REG_A/app:pr-1 |
		python3 -c "import json,sys; m=json.load(sys.stdin); print(\" \".join(l[\"digest\"] for l in m[\"layers\"]))"); do
		code=$(python3 -c "import urllib.request,sys
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method=\"HEAD\")); print(200)
except Exception as e: print(getattr(e, \"code\", 0))" "http://$REG_B/v2/bad/blobs/$d") &&
		test "$code" = 404 || return 1
	done
'

test_expect_success 'cross-registry: a blob GET answered 404 fails at once, never retried' '
	printf "GET /v2/app/blobs/ 404\n" >"$FAULT_P_RULES" && : >"$FAULT_P_LOG" &&
	{ ops-promote --retries 3 --no-referrers $P/app:pr-1 $REG_B/gone:prod >out; rc=$?; } &&
	test $rc -eq 2 &&
	n=$(grep -c "^GET /v2/app/blobs/sha256:[0-9a-f]* 404$" "$FAULT_P_LOG") &&
	{ test $n -ge 1 && test $n -le 2 || { cat "$FAULT_P_LOG" out; false; }; } &&
	test_grep "404" out
'

test_expect_success 'cross-registry: a hung blob GET is bounded by --total-timeout' '
	printf "GET /v2/app/blobs/ hang\n" >"$FAULT_P_RULES" &&
	start=$(date +%s) &&
	{ run_with_timeout 20 ops-promote --total-timeout 3s --no-referrers $P/app:pr-1 $REG_B/far2:prod >out; rc=$?; } &&
	test $rc -eq 2 && test $(( $(date +%s) - start )) -le 7 &&
	! skopeo inspect --raw --tls-verify=false docker://$REG_B/far2:prod >/dev/null 2>&1
'

test_expect_success 'setup: an image of two blobs' '
	make_test_image img two 1 65536 2222222 >/dev/null &&
	push_test_image img two $REG_A/app:two
'

# Both blob GETs hang, one on a worker thread, when the signal comes: each must see it.
# (The promote starts a list of its own: "a && b &" would put the shell around it in
# the background, and a background shell ignores SIGINT.)
test_expect_success 'cross-registry: SIGINT during parallel transfers ends the run at once, exit 2' '
	printf "GET /v2/app/blobs/ hang\n" >"$FAULT_P_RULES" && : >"$FAULT_P_LOG" || return 1
	ops-promote --jobs 4 --total-timeout 20s --no-referrers $P/app:two $REG_B/int:prod >int.out 2>&1 &
	pid=$! && n=0 &&
	while test "$(grep -c " hang$" "$FAULT_P_LOG")" -lt 2 && test $n -lt 200; do sleep 0.05; n=$((n + 1)); done &&
	start=$(date +%s) && kill -INT $pid && { wait $pid; rc=$?; } &&
	{ test $rc -eq 2 || { echo "exit $rc"; cat int.out; false; }; } &&
	{ test $(( $(date +%s) - start )) -le 5 || { echo "took $(( $(date +%s) - start )) s"; false; }; } &&
	test_grep "interrupted" int.out
'

# Debian's registry (2.8) has no referrers API: a stub answer stands in for a newer
# registry's, listing an artifact that lives in the real registry, found only by digest.
# A listed manifest whose subject is another image is not copied.
test_expect_success 'referrers API: a listed artifact is copied by digest, a stranger is not' '
	push_referrer $REG_A app $(cat pr1.digest) application/vnd.example.signature no >sig.digest &&
	make_test_image sig stranger 1 64 5555555 >stranger.digest &&
	push_test_image sig stranger $REG_A/app:stranger &&
	size=$(curl -s -H "Accept: application/vnd.oci.image.manifest.v1+json" http://$REG_A/v2/app/manifests/$(cat sig.digest) | wc -c) &&
	ssize=$(skopeo inspect --raw --tls-verify=false docker://$REG_A/app:stranger | wc -c) &&
	printf "%s" "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$(cat sig.digest)\",\"size\":$size,\"artifactType\":\"application/vnd.example.signature\"},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$(cat stranger.digest)\",\"size\":$ssize}]}" \
		>"$(dirname "$FAULT_P_RULES")/referrers.json" &&
	rules "GET /v2/app/referrers/ referrers" &&
	ops-promote --format json $P/app:pr-1 $REG_B/refapi:1 >out.json &&
	json_assert out.json "assert d[\"referrers\"] == 1, d" &&
	test "$(grep -c "^GET /v2/app/referrers/$(cat pr1.digest) referrers" "$FAULT_P_LOG")" -eq 1 &&
	test "$(skopeo_digest $REG_B/refapi@$(cat sig.digest))" = "$(cat sig.digest)" &&
	! skopeo inspect --raw --tls-verify=false docker://$REG_B/refapi@$(cat stranger.digest) >/dev/null 2>&1
'

test_expect_success 'referrers API: Debian 2.8 as target answers no OCI-Subject, so its fallback index lists it' '
	curl -s -H "Accept: application/vnd.oci.image.index.v1+json" \
		http://$REG_B/v2/refapi/manifests/sha256-$(sed "s/^sha256://" pr1.digest) >fallback.json &&
	json_assert fallback.json "assert [m[\"digest\"] for m in d[\"manifests\"]] == [\"$(cat sig.digest)\"], d; \
		assert d[\"manifests\"][0][\"artifactType\"] == \"application/vnd.example.signature\", d"
'

test_done
