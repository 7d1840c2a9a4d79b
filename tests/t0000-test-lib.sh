#!/bin/sh
# test-lib.sh itself: the TAP it prints for known breakages, the data-case reader (the
# layout of tests/README: cmd, exit, expected, stderr, variants, OPSKIT_REGEN), and the
# data under tests/data keeping to that layout. Sub-scripts run test-lib.sh in their own
# trash directories; their TAP is compared line by line.
. "$(dirname "$0")/test-lib.sh"

# run_sub SCRIPT: runs a test script made of test-lib.sh calls; TAP in out, exit in rc.
run_sub() {
	{ printf '. "%s/test-lib.sh"\n' "$TEST_DIR"; cat "$1"; } >"$1.sh" &&
	{ env -u TEST_VERBOSE -u OPSKIT_REGEN -u KEEP_TRASH -u SANITIZE sh "$1.sh" >out 2>err; echo $? >rc; }
}

test_expect_success 'test_expect_failure: a failing body is a known breakage, not a failure' '
	cat >sub <<-\EOF &&
	test_expect_success "passes" "true"
	test_expect_failure "still broken" "false"
	test_done
	EOF
	run_sub sub &&
	cat >expect <<-\EOF &&
	ok 1 - passes
	not ok 2 - still broken # TODO known breakage
	1..2
	# still have 1 known breakage(s)
	EOF
	test_cmp expect out && test "$(cat rc)" = 0
'

test_expect_success 'test_cleanup_add: commands registered in a test body run at exit, last first' '
	cat >sub <<-EOF &&
	test_cleanup_add "echo first >>$TRASH/ran"
	test_expect_success "registers in its subshell" "test_cleanup_add \"echo second >>$TRASH/ran\""
	test_done
	EOF
	run_sub sub &&
	printf "second\nfirst\n" >expect &&
	test_cmp expect ran
'

test_expect_success 'test_expect_failure: a passing body is reported as vanished' '
	cat >sub <<-\EOF &&
	test_expect_failure "was broken" "true"
	test_expect_failure "still broken" "exit 3"
	test_done
	EOF
	run_sub sub &&
	cat >expect <<-\EOF &&
	ok 1 - was broken # TODO known breakage vanished
	not ok 2 - still broken # TODO known breakage
	1..2
	# 1 known breakage(s) vanished; turn them into test_expect_success
	# still have 1 known breakage(s)
	EOF
	test_cmp expect out && test "$(cat rc)" = 0
'

test_expect_success 'a real failure still fails the script, and the plan counts every test' '
	cat >sub <<-\EOF &&
	test_expect_failure "known" "false"
	test_expect_success "broken" "false"
	test_skip "later" "no reason"
	test_done
	EOF
	run_sub sub &&
	grep -v "^#" out >tap &&
	cat >expect <<-\EOF &&
	not ok 1 - known # TODO known breakage
	not ok 2 - broken
	ok 3 - later # SKIP no reason
	1..3
	EOF
	test_cmp expect tap && test "$(cat rc)" = 1 && test_grep "failed 1 of 3" out
'

if command -v prove >/dev/null 2>&1; then
	test_expect_success 'prove agrees: TODO tests pass, a vanished one is a bonus' '
		cat >sub <<-\EOF &&
		test_expect_failure "known" "false"
		test_expect_failure "fixed" "true"
		test_done
		EOF
		run_sub sub &&
		prove --exec sh sub.sh >prove.out 2>&1 && test_grep "^Result: PASS" prove.out &&
		test_grep "TODO passed: *2" prove.out
	'
else
	test_skip 'prove agrees: TODO tests pass, a vanished one is a bonus' 'prove is not installed'
fi

# ---- the data-case reader ----

# mkcase AREA NAME CMD: a case directory with that cmd.
mkcase() {
	mkdir -p "$1/$2" && printf '%s\n' "$3" >"$1/$2/cmd"
}

test_expect_success 'data cases: absent files mean exit 0, no output, no stderr' '
	mkcase area quiet "true" &&
	mkcase area talks "echo hello" &&
	mkcase area complains "echo oops >&2" &&
	mkcase area fails "exit 2" &&
	mkdir area/no-cmd &&
	echo "test_data_cases \"$TRASH/area\"; test_done" >sub &&
	run_sub sub &&
	grep "^ok\|^not ok" out >tap &&
	cat >expect <<-\EOF &&
	not ok 1 - case complains
	not ok 2 - case fails
	not ok 3 - case no-cmd
	ok 4 - case quiet
	not ok 5 - case talks
	EOF
	test_cmp expect tap &&
	test_grep "standard error but no stderr file" err &&
	test_grep "exit 2, wanted 0" err &&
	test_grep "has no cmd file" err &&
	test_grep "standard output but no expected file" err
'

test_expect_success 'data cases: exit, expected, and every stderr pattern are checked' '
	mkcase area2 right "echo out; echo \"warn: a\" >&2; echo \"error: b\" >&2; exit 3" &&
	echo 3 >area2/right/exit && echo out >area2/right/expected &&
	printf "^warn: a\$\n^error: b\$\n" >area2/right/stderr &&
	cp -r area2/right area2/one-pattern-missing &&
	echo "^fatal" >>area2/one-pattern-missing/stderr &&
	cp -r area2/right area2/wrong-output && echo other >area2/wrong-output/expected &&
	cp -r area2/right area2/wrong-exit && echo 1 >area2/wrong-exit/exit &&
	mkcase area2 reads-input "cat input.txt" &&
	echo data >area2/reads-input/input.txt && echo data >area2/reads-input/expected &&
	echo "test_data_cases \"$TRASH/area2\"; test_done" >sub &&
	run_sub sub &&
	grep "^ok\|^not ok" out >tap &&
	cat >expect <<-\EOF &&
	not ok 1 - case one-pattern-missing
	ok 2 - case reads-input
	ok 3 - case right
	not ok 4 - case wrong-exit
	not ok 5 - case wrong-output
	EOF
	test_cmp expect tap && test_grep "does not match: ^fatal" err &&
	! test -e area2/right/actual.out
'

test_expect_success 'data cases: variants use expected.VARIANT and see $VARIANT' '
	mkcase area3 v "test \"\$VARIANT\" = b || echo \"in \$VARIANT\"" &&
	echo "in a" >area3/v/expected.a &&
	echo "test_data_cases \"$TRASH/area3\" a b c; test_done" >sub &&
	run_sub sub &&
	grep "^ok\|^not ok" out >tap &&
	cat >expect <<-\EOF &&
	ok 1 - case v [a]
	ok 2 - case v [b]
	not ok 3 - case v [c]
	EOF
	test_cmp expect tap
'

test_expect_success 'data cases: OPSKIT_REGEN=1 rewrites exit and expected, removes what is empty' '
	mkcase area4 c "echo new; exit 1" && echo old >area4/c/expected &&
	mkcase area4 quiet "true" && echo stale >area4/quiet/expected && echo 2 >area4/quiet/exit &&
	mkcase area4 v "echo \$VARIANT" &&
	echo "test_data_cases \"$TRASH/area4\"; test_data_case \"$TRASH/area4/v\" x; test_done" >sub &&
	{ printf ". \"%s/test-lib.sh\"\n" "$TEST_DIR"; cat sub; } >regen.sh &&
	OPSKIT_REGEN=1 sh regen.sh >out 2>err &&
	test_grep "^ok 1 - case c (regenerated expected)" out &&
	test "$(cat area4/c/expected)" = new && test "$(cat area4/c/exit)" = 1 &&
	! test -e area4/quiet/expected && ! test -e area4/quiet/exit &&
	test "$(cat area4/v/expected.x)" = x &&
	run_sub sub && test_grep_not "^not ok" out && test "$(cat rc)" = 0
'

# The binaries need not be TSan builds for this: a report file is what test_done reads.
test_expect_success 'SANITIZE=thread: a ThreadSanitizer report of any run fails the file' '
	cat >tsan <<-\EOF &&
	test_expect_success "a run that raced" "echo WARNING: data race >\"\$TSAN_REPORTS/report.42\""
	test_done
	EOF
	{ printf ". \"%s/test-lib.sh\"\n" "$TEST_DIR"; cat tsan; } >tsan.sh &&
	{ env -u TEST_VERBOSE -u KEEP_TRASH SANITIZE=thread sh tsan.sh >out 2>err; echo $? >rc; } &&
	cat >expect <<-\EOF &&
	ok 1 - a run that raced
	not ok 2 - no ThreadSanitizer report
	1..2
	EOF
	sed "/^#/d" out >got && test_cmp expect got && test "$(cat rc)" = 1 &&
	test_grep "WARNING: data race" err
'

# ---- tests/data keeps to the layout ----

test_expect_success 'tests/data: every case has a cmd, and no file is empty' '
	find "$TEST_DATA" -type f -empty >empty && { ! test -s empty || { cat empty; exit 1; }; } &&
	for dir in "$TEST_DATA"/*/*/; do
		test -f "$dir/cmd" || { echo "$dir: no cmd"; exit 1; }
	done
'

test_expect_success 'tests/data: exit files hold one exit code' '
	for f in "$TEST_DATA"/*/*/exit; do
		grep -qx "[0-9][0-9]*" "$f" && test "$(wc -l <"$f")" -eq 1 ||
		{ echo "$f: $(cat "$f")"; exit 1; }
	done
'

test_done
