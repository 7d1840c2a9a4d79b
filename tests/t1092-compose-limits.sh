#!/bin/sh
# ops-envcheck --compose on files no compose file should be: the compose file is read as
# env files are, under their 64 MiB cap. A sparse file of exactly the cap is read, one
# byte more is refused with the env files' own message; /dev/zero, an endless pipe and a
# FIFO nobody writes to all end at once. Each: exit 3 (0 for the empty FIFO), bounded in
# time, no sanitizer report, a whole -o report. Sparse files (truncate) use no disk.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/faults.sh"

CAP=$((64 << 20))
echo APP_ENV=test >.env

# check_compose NAME COMPOSE: a JSON run with --compose COMPOSE into NAME.json, exit code
# in NAME.rc; it must end within 60 s with no sanitizer report and a whole report.
check_compose() {
	run_with_timeout 60 ops-envcheck --no-git --format json -o "$1.json" --compose "$2" .env 2>"$1.err"
	echo $? >"$1.rc"
	no_crash "$1.err" && whole_or_absent "$1.json" && test "$(cat "$1.rc")" -ne 124
}
rc_of() { cat "$1.rc"; }
# message_of NAME ID: the messages of the checks ID in NAME.json
message_of() { json_get "$1.json" "\"\\n\".join(c[\"message\"] for c in d[\"checks\"] if c[\"id\"] == \"$2\")"; }

test_expect_success 'a compose file one byte over 64 MiB: compose-unreadable, exit 3' '
	truncate -s $((CAP + 1)) over.yml &&
	check_compose over over.yml && test "$(rc_of over)" -eq 3 &&
	message_of over compose-unreadable >msg && test_grep "^cannot read over.yml: " msg
'

test_expect_success 'the message is the one an env file over 64 MiB gets' '
	truncate -s $((CAP + 1)) over.env &&
	{ run_with_timeout 60 ops-envcheck --no-git --format json -o env.json over.env; test $? -eq 3; } &&
	message_of env file-unreadable | sed "s/over\.env/FILE/g" >expect &&
	message_of over compose-unreadable | sed "s/over\.yml/FILE/g" >actual &&
	test_cmp expect actual
'

test_expect_success 'a compose file of exactly 64 MiB is read (its NUL bytes are bad YAML)' '
	truncate -s $CAP at.yml &&
	check_compose at at.yml && test "$(rc_of at)" -eq 3 &&
	message_of at compose-unreadable >msg && test_grep "^at\.yml:1:1: " msg
'

test_expect_success '/dev/zero as the compose file: refused at the cap, not read forever' '
	start=$(date +%s) && check_compose zero /dev/zero && test "$(rc_of zero)" -eq 3 &&
	test $(( $(date +%s) - start )) -lt 30 &&
	message_of zero compose-unreadable >msg && test_grep "^cannot read /dev/zero: .*larger than 64 MiB" msg
'

test_expect_success 'an endless pipe of valid YAML (comments) is cut at the cap too' '
	{ yes "# a comment" | check_compose endless /dev/stdin; } && test "$(rc_of endless)" -eq 3 &&
	message_of endless compose-unreadable >msg && test_grep "^cannot read /dev/stdin: " msg
'

test_expect_success 'a FIFO nobody writes to as the compose file: read as empty at once, exit 0' '
	mkfifo idle.fifo && check_compose idle idle.fifo && test "$(rc_of idle)" -eq 0 &&
	message_of idle compose >msg && test_grep "^0 interpolations" msg
'

test_done
