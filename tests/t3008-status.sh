#!/bin/sh
# ops-promote status TAG...: deployment divergence checked from the other side: the
# digest each tag points at, its revision, created time and referrers, and whether the
# tags agree (exit 2 naming both digests when they do not).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3

start_registry a plain || { echo "Bail out! registry did not start"; exit 1; }
R=$REG_A

test_expect_success 'setup: staging and production at one image (signed), next at another' '
	make_test_image img pr-1 1 1024 1111111 >one.digest &&
	make_test_image img pr-2 2 1024 2222222 >two.digest &&
	push_test_image img pr-1 $R/app:staging &&
	push_test_image img pr-1 $R/app:production &&
	push_test_image img pr-2 $R/app:next &&
	push_referrer $R app $(cat one.digest) >sig.digest
'

test_expect_success 'tags that agree: exit 0, each with digest, revision, created, referrers' '
	ops-promote status --format json $R/app:staging $R/app:production >out.json &&
	json_assert out.json "t = d[\"tags\"]; assert [x[\"digest\"] for x in t] == [\"$(cat one.digest)\"] * 2, t; \
		assert all(x[\"revision\"] == \"1111111\" and x[\"referrers\"] == 1 for x in t), t; \
		assert d[\"same_digest\"] is True and d[\"exit_code\"] == 0, d" &&
	ops-promote status $R/app:staging $R/app:production >out &&
	test_grep "all 2 tags point at $(cat one.digest)" out
'

test_expect_success 'tags that differ: exit 2, both digests named' '
	rc=0; ops-promote status $R/app:production $R/app:next >out || rc=$? &&
	test $rc -eq 2 &&
	test_grep "$R/app:next points at $(cat two.digest), but $R/app:production points at $(cat one.digest)" out
'

test_expect_success 'a missing tag is critical; one tag alone just reports' '
	rc=0; ops-promote status $R/app:staging $R/app:gone >out || rc=$? &&
	test $rc -eq 2 && test_grep "does not exist" out &&
	ops-promote status --format json $R/app:next >out.json &&
	json_assert out.json "assert d[\"tags\"][0][\"revision\"] == \"2222222\" and \"same_digest\" not in d, d"
'

test_expect_success 'status needs a tag' '
	rc=0; ops-promote status >out 2>err || rc=$? &&
	test $rc -eq 3 && test_grep "expected at least one TAG" err
'

test_done
