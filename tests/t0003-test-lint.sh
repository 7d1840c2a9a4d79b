#!/bin/sh
# tests/lint-tests.py, the checker of test bodies: on hand-made scripts it finds an &&
# chain that a ';' or a newline ends before the body's end (`a && cmd; test $? -eq 2`
# reads a's status as cmd's), in bodies and helper functions, and accepts the grouped
# form, and a chain put in the background whole by a final '&' (`a && cmd &`: $! is a
# subshell that ignores SIGINT); then every tests/t*.sh passes it, so neither pattern can
# come back.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd python3

LINT=$TEST_DIR/lint-tests.py

test_expect_success 'the checker passes its own examples' '
	python3 "$LINT" --self-test >out && test_grep "^self-test: 0 of [0-9]* failed" out
'

test_expect_success 'a ; ending a chain before test $? is found, with its file and line' '
	cat >t9991-semicolon.sh <<-\EOF &&
	test_expect_success "masked" "
		setup &&
		ops-tool >out; test \$? -eq 2 &&
		test_grep foo out
	"
	EOF
	{ python3 "$LINT" t9991-semicolon.sh >out; test $? -eq 1; } &&
	test_grep "^t9991-semicolon.sh:3: the && chain from line 2 ends at .;. before the body.s end" out &&
	test "$(wc -l <out)" -eq 1
'

test_expect_success 'a newline ending a chain is found in test_expect_code bodies and helpers' '
	cat >t9992-newline.sh <<-\EOF &&
	run_sub() {
		cat "$1" >"$1.sh" &&
		sh "$1.sh" >out 2>err
		echo $? >rc
	}
	test_expect_code 3 "masked too" "
		setup &&
		ops-tool >out
		rc=\$? && test_grep foo out && exit \$rc
	"
	EOF
	{ python3 "$LINT" t9992-newline.sh >out; test $? -eq 1; } &&
	test_grep "^t9992-newline.sh:3: the && chain from line 2 ends at a newline" out &&
	test_grep "^t9992-newline.sh:8: the && chain from line 7 ends at a newline" out &&
	test "$(wc -l <out)" -eq 2
'

test_expect_success 'grouped status checks, a first command and handled failures are fine' '
	cat >t9993-good.sh <<-\EOF &&
	helper() {
		a && b || return 1
		[ -s pid ] && kill "$(cat pid)" || :
		c
	}
	test_expect_success "grouped" "
		ops-tool >first; test \$? -eq 1 &&
		setup && { ops-tool >out; test \$? -eq 2; } && test_grep foo out &&
		cat >x <<-\EOT &&
		a && b; c
		EOT
		{ ops-tool >out; rc=\$?; } || { kill \$stub; exit 1; }
		kill \$stub
		for i in 1 2; do a && b && break
			sleep 1; done &&
		echo \"x && y; z\" && test \$rc -eq 2
	"
	a && b; c
	EOF
	python3 "$LINT" t9993-good.sh >out && test_cmp /dev/null out
'

test_expect_success 'a chain put in the background whole is found; the command alone or a group is fine' '
	cat >t9995-background.sh <<-\EOF &&
	test_expect_success "whole chain" "
		setup | load &&
		ops-tool --slow >out &
		pid=\$! && kill -INT \$pid && { wait \$pid; rc=\$?; } && test \$rc -eq 3
	"
	test_expect_success "the command alone" "
		setup | load && { ops-tool --slow >out & } &&
		pid=\$! && kill -INT \$pid && { wait \$pid; rc=\$?; } && test \$rc -eq 3
	"
	test_expect_success "chains wrapped on purpose" "
		{ a && b; } & ( a && b ) & wait
	"
	EOF
	{ python3 "$LINT" t9995-background.sh >out; test $? -eq 1; } &&
	test_grep "^t9995-background.sh:3: the && chain from line 2 is put in the background whole" out &&
	test "$(wc -l <out)" -eq 1
'

test_expect_success 'a script it cannot parse is an error, not a pass' '
	printf "test_expect_success \"x\" \"a && { b\"\n" >t9994-broken.sh &&
	{ python3 "$LINT" t9994-broken.sh >out; test $? -eq 2; } &&
	test_grep "^t9994-broken.sh: cannot parse" out
'

test_expect_success 'every test script and test-lib.sh keep their && chains whole' '
	python3 "$LINT" "$TEST_DIR"/t[0-9]*.sh "$TEST_DIR"/test-lib.sh >out ||
	{ cat out; exit 1; }
'

test_done
