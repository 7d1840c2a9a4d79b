#!/bin/sh
# ops-promote: resolve, same-repository retag, digest pin, no-op, dry run (plain HTTP).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3

start_registry a plain || { echo "Bail out! registry did not start"; exit 1; }
R=$REG_A

test_expect_success 'setup: single-platform and 2-platform images pushed with skopeo' '
	make_test_image img pr-1 1 4096 1111111 >single.digest &&
	make_test_image img pr-2 2 4096 2222222 >index.digest &&
	push_test_image img pr-1 $R/app:pr-1 &&
	push_test_image img pr-2 $R/app:pr-2
'

test_expect_success 'retag of a single-platform image: 3 requests, digest unchanged' '
	n=$(registry_requests a) &&
	ops-promote --format json $R/app:pr-1 $R/app:staging >out.json &&
	test "$(registry_requests_since a $n)" -le 3 &&
	python3 -c "import json,sys; d=json.load(open(\"out.json\")); \
		assert d[\"action\"] == \"retagged\", d; assert d[\"verified\"] is True; \
		assert d[\"verified_by\"] == \"put\", d; \
		assert d[\"requests\"] <= 3, d[\"requests\"]; \
		assert d[\"media_type\"] == \"application/vnd.oci.image.manifest.v1+json\"; \
		assert d[\"blobs\"] == {\"mounted\": 0, \"copied\": 0, \"chunked\": 0, \"skipped\": 0}; \
		assert d[\"bytes_copied\"] == 0; print(d[\"digest\"])" >got &&
	test_cmp single.digest got &&
	skopeo_digest $R/app:staging >sk && test_cmp single.digest sk
'

test_expect_success 'retag of a 2-platform index: 3 requests, index digest unchanged' '
	n=$(registry_requests a) &&
	ops-promote --format json $R/app:pr-2 $R/app:production >out.json &&
	test "$(registry_requests_since a $n)" -le 3 &&
	python3 -c "import json; d=json.load(open(\"out.json\")); \
		assert d[\"action\"] == \"retagged\" and d[\"verified\"] is True, d; \
		assert d[\"media_type\"] == \"application/vnd.oci.image.index.v1+json\"; print(d[\"digest\"])" >got &&
	test_cmp index.digest got &&
	skopeo inspect --raw --tls-verify=false docker://$R/app:production >raw &&
	skopeo inspect --raw --tls-verify=false docker://$R/app:pr-2 >raw.src &&
	test_cmp raw.src raw
'

test_expect_success 'the retag is GET source, HEAD target, PUT target, in that order' '
	n=$(registry_requests a) &&
	ops-promote $R/app:pr-1 $R/app:order >out &&
	grep "response completed" "$REG_A_LOG" | tail -n "$(registry_requests_since a $n)" |
		sed -n "s/.*http.request.method=\([A-Z]*\) .*http.request.uri=\"\{0,1\}\([^\" ]*\).*/\1 \2/p" >seen &&
	printf "GET /v2/app/manifests/pr-1\nHEAD /v2/app/manifests/order\nPUT /v2/app/manifests/order\n" >want &&
	test_cmp want seen
'

test_expect_success 'rerun is a no-op that says so, exit 0, no PUT' '
	n=$(registry_requests a) &&
	ops-promote $R/app:pr-2 $R/app:production >out &&
	test_grep "already points at $(cat index.digest)" out &&
	test_grep "action *noop" out &&
	test_grep "^verified *yes (HEAD of the target tag)" out &&
	test "$(registry_requests_since a $n)" -le 2 &&
	! grep "response completed" "$REG_A_LOG" | tail -n 2 | grep -q "method=PUT"
'

test_expect_success 'pin with --digest equal to the tested digest promotes' '
	ops-promote --digest $(cat single.digest) $R/app:pr-1 $R/app:qa >out &&
	test_grep "retagged" out
'

test_expect_code 2 'pin refused when the tag moved (exit 2)' '
	ops-promote --digest $(cat single.digest) $R/app:pr-2 $R/app:qa2
'

test_expect_success 'the refusal names both digests and the target is untouched' '
	! ops-promote --digest $(cat single.digest) $R/app:pr-2 $R/app:qa2 >out &&
	test_grep "$(cat single.digest)" out && test_grep "$(cat index.digest)" out &&
	test_grep "refusing" out &&
	! skopeo inspect --raw --tls-verify=false docker://$R/app:qa2 >/dev/null 2>&1
'

test_expect_success 'SOURCE@digest pins too (tag@digest refused when moved)' '
	ops-promote "$R/app@$(cat index.digest)" $R/app:bydigest >out &&
	test "$(skopeo_digest $R/app:bydigest)" = "$(cat index.digest)" &&
	! ops-promote "$R/app:pr-2@$(cat single.digest)" $R/app:qa3 >out 2>&1 &&
	test_grep "not at the pinned" out
'

test_expect_success '--dry-run prints the plan and changes nothing' '
	n=$(registry_requests a) &&
	ops-promote --dry-run --format json $R/app:pr-1 $R/app:dry >out.json &&
	python3 -c "import json; d=json.load(open(\"out.json\")); \
		assert d[\"action\"] == \"dry-run\", d; assert d[\"plan\"] and \"put manifest\" in d[\"plan\"][0], d" &&
	! grep "response completed" "$REG_A_LOG" | tail -n "$(registry_requests_since a $n)" | grep -q "method=PUT"
'

test_expect_success 'a digest in upper case is refused before any request (exit 3)' '
	up=sha256:$(printf "%064d" 0 | tr 0 A) &&
	{ ops-promote "$R/app@$up" "$R/app:x" >out 2>err; test $? -eq 3; } &&
	test_grep "64 lowercase hex digits" err &&
	{ ops-promote --digest "$up" "$R/app:pr-1" "$R/app:x" >out 2>err; test $? -eq 3; } &&
	test_grep "lowercase" err
'

test_expect_success 'a missing source fails with exit 2 and one clear sentence' '
	test_expect_rc=0; ops-promote $R/app:nope $R/app:x >out 2>&1 || test_expect_rc=$? &&
	test $test_expect_rc -eq 2 && test_grep "does not exist" out
'

test_expect_success 'text output names the action, digest and verification' '
	ops-promote $R/app:pr-1 $R/app:text >out &&
	test_grep "^action *retagged" out && test_grep "^verified *yes" out &&
	test_grep "^digest *$(cat single.digest)" out
'

test_expect_success 'nagios and prometheus formats carry the requests metric' '
	ops-promote --format nagios $R/app:pr-1 $R/app:nagios >out &&
	test_grep "^PROMOTE OK" out && test_grep "requests.=3c" out &&
	ops-promote --format prometheus $R/app:pr-1 $R/app:prom >out &&
	test_grep "^opskit_promote_requests" out
'

test_expect_success 'Docker manifest list (v2s2): retagged with its media type, digest unchanged' '
	skopeo copy -q --all --format v2s2 --dest-tls-verify=false oci:img:pr-2 docker://$R/docker:list &&
	want=$(skopeo_digest $R/docker:list) &&
	ops-promote --format json $R/docker:list $R/docker:prod >out.json &&
	python3 -c "import json; d=json.load(open(\"out.json\")); \
		assert d[\"media_type\"] == \"application/vnd.docker.distribution.manifest.list.v2+json\", d; \
		assert d[\"action\"] == \"retagged\"; print(d[\"digest\"])" >got &&
	echo "$want" >want && test_cmp want got &&
	test "$(skopeo_digest $R/docker:prod)" = "$want"
'

test_expect_success 'Docker v2 schema 2 image manifest: cross-repo mount keeps it' '
	skopeo copy -q --format v2s2 --dest-tls-verify=false oci:img:pr-1 docker://$R/docker:single &&
	want=$(skopeo_digest $R/docker:single) &&
	ops-promote --format json $R/docker:single $R/docker2:prod >out.json &&
	python3 -c "import json; d=json.load(open(\"out.json\")); \
		assert d[\"media_type\"] == \"application/vnd.docker.distribution.manifest.v2+json\", d; \
		assert d[\"action\"] == \"mounted\", d" &&
	test "$(skopeo_digest $R/docker2:prod)" = "$want"
'

test_expect_success 'several targets in one run: each retagged, reported and counted on its own' '
	ops-promote --format json $R/app:pr-1 $R/app:1.4.2 $R/app:1.4 $R/app:prod >out.json &&
	json_assert out.json "t = d[\"targets\"]; assert [x[\"target\"].split(\":\")[-1] for x in t] == [\"1.4.2\", \"1.4\", \"prod\"], t; \
		assert all(x[\"action\"] == \"retagged\" and x[\"verified\"] and x[\"digest\"] == \"$(cat single.digest)\" for x in t), t; \
		assert all(x[\"requests\"] <= 3 for x in t), t; assert d[\"target\"].endswith(\":1.4.2\"), d; \
		assert [c[\"status\"] for c in d[\"checks\"] if c[\"id\"] == \"promote\"] == [\"ok\"] * 3, d[\"checks\"]" &&
	for t in 1.4.2 1.4 prod; do test "$(skopeo_digest $R/app:$t)" = "$(cat single.digest)" || return 1; done &&
	ops-promote $R/app:pr-1 $R/app:1.4.2 $R/app:1.4 $R/app:prod >out &&
	test "$(grep -c "already points at" out)" -eq 3
'

test_expect_success 'several targets: one that fails is reported, the others are done, exit 2' '
	ops-promote $R/app:pr-2 $R/app:multi-ok >/dev/null &&
	printf "promote:\n  protected_tags: [locked]\n" >opskit.yaml &&
	ops-promote $R/app:pr-1 $R/app:locked >/dev/null 2>&1 || true &&
	{ ops-promote --config opskit.yaml --format json $R/app:pr-2 $R/app:locked $R/app:multi-ok $R/app:multi-new >out.json; rc=$?; } &&
	test $rc -eq 2 &&
	json_assert out.json "t = {x[\"target\"].split(\":\")[-1]: x[\"action\"] for x in d[\"targets\"]}; \
		assert t == {\"locked\": \"failed\", \"multi-ok\": \"noop\", \"multi-new\": \"retagged\"}, t" &&
	test "$(skopeo_digest $R/app:multi-new)" = "$(cat index.digest)"
'

test_expect_success '--platform promotes one child of the index by its digest, never a new index' '
	child=$(skopeo inspect --raw --tls-verify=false docker://$R/app:pr-2 |
		python3 -c "import json,sys; print(json.load(sys.stdin)[\"manifests\"][1][\"digest\"])") &&
	ops-promote --format json --digest $(cat index.digest) --platform linux/arm64 $R/app:pr-2 $R/app:arm >out.json &&
	json_assert out.json "assert d[\"digest\"] == \"$child\" and d[\"index_digest\"] == \"$(cat index.digest)\", d; \
		assert d[\"platform\"] == \"linux/arm64\" and d[\"media_type\"].endswith(\"manifest.v1+json\"), d" &&
	test "$(skopeo_digest $R/app:arm)" = "$child" &&
	ops-promote --format json --digest $(cat index.digest) --platform linux/arm64/v8 $R/app:pr-2 $R/app:arm >out.json &&
	json_assert out.json "assert d[\"action\"] == \"noop\", d"
'

test_expect_success '--platform: a platform the index lacks, or a single image, is refused' '
	rc=0; ops-promote --platform linux/s390x $R/app:pr-2 $R/app:x >out || rc=$? &&
	test $rc -eq 2 && test_grep "has no linux/s390x manifest (it has: linux/amd64, linux/arm64/v8)" out &&
	{ ops-promote --platform linux/amd64 $R/app:pr-1 $R/app:x >out; rc=$?; } &&
	test $rc -eq 2 && test_grep "needs an index" out
'

test_data_cases "$TEST_DATA/promote"

test_done
