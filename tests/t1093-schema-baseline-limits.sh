#!/bin/sh
# ops-envcheck --schema and --baseline on files no schema or baseline should be: both are
# read as env files are, under their 64 MiB cap, with their message ("cannot read FILE:
# why"). One byte over the cap, /dev/zero, an endless pipe: exit 3 at once; a FIFO nobody
# writes to reads as empty. Each run bounded in time, no sanitizer report, a whole -o
# report. Sparse files (truncate) use no disk.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/faults.sh"

CAP=$((64 << 20))
echo APP_ENV=test >.env

# check_run NAME OPTION FILE: a JSON run with OPTION FILE into NAME.json, exit code in
# NAME.rc; it must end within 20 s with no sanitizer report and a whole report.
check_run() {
	run_with_timeout 20 ops-envcheck --no-git --format json -o "$1.json" "$2" "$3" .env 2>"$1.err"
	echo $? >"$1.rc"
	no_crash "$1.err" && whole_or_absent "$1.json" && test "$(cat "$1.rc")" -ne 124
}
rc_of() { cat "$1.rc"; }
# message_of NAME ID: the messages of the checks ID in NAME.json
message_of() { json_get "$1.json" "\"\\n\".join(c[\"message\"] for c in d[\"checks\"] if c[\"id\"] == \"$2\")"; }

test_expect_success 'a schema one byte over 64 MiB: schema-invalid with the env files message, exit 3' '
	truncate -s $((CAP + 1)) over.yaml && truncate -s $((CAP + 1)) over.env &&
	check_run schema --schema over.yaml && test "$(rc_of schema)" -eq 3 &&
	{ run_with_timeout 20 ops-envcheck --no-git --format json -o env.json over.env; test $? -eq 3; } &&
	message_of env file-unreadable | sed "s/over\.env/FILE/g" >expect &&
	message_of schema schema-invalid | sed "s/over\.yaml/FILE/g" >actual &&
	test_cmp expect actual
'

test_expect_success '/dev/zero and an endless pipe as the schema: refused at the cap' '
	check_run zero --schema /dev/zero && test "$(rc_of zero)" -eq 3 &&
	message_of zero schema-invalid >msg && test_grep "^cannot read /dev/zero: .*larger than 64 MiB" msg &&
	{ yes "# a comment" | check_run endless --schema /dev/stdin; } && test "$(rc_of endless)" -eq 3 &&
	message_of endless schema-invalid >msg && test_grep "^cannot read /dev/stdin: .*larger than 64 MiB" msg
'

test_expect_success 'print with /dev/zero as the schema: one line, exit 3, nothing printed' '
	{ run_with_timeout 20 ops-envcheck --schema /dev/zero print .env >out 2>err; test $? -eq 3; } &&
	test ! -s out && clear_error err "cannot read /dev/zero: .*larger than 64 MiB"
'

test_expect_success 'a FIFO nobody writes to as the schema: an empty schema at once (schema-invalid)' '
	mkfifo idle-schema.fifo && check_run idle-schema --schema idle-schema.fifo &&
	test "$(rc_of idle-schema)" -eq 3 &&
	message_of idle-schema schema-invalid >msg && test_grep "must be a mapping" msg
'

test_expect_success 'a baseline one byte over 64 MiB, /dev/zero, an endless pipe: the baseline check, exit 3' '
	truncate -s $((CAP + 1)) over.txt &&
	check_run bover --baseline over.txt && test "$(rc_of bover)" -eq 3 &&
	message_of bover baseline >msg && test_grep "^cannot read over\.txt: .*larger than 64 MiB" msg &&
	check_run bzero --baseline /dev/zero && test "$(rc_of bzero)" -eq 3 &&
	message_of bzero baseline >msg && test_grep "^cannot read /dev/zero: .*larger than 64 MiB" msg &&
	{ yes "x	y	z	w" | check_run bendless --baseline /dev/stdin; } && test "$(rc_of bendless)" -eq 3 &&
	message_of bendless baseline >msg && test_grep "^cannot read /dev/stdin: .*larger than 64 MiB" msg
'

test_expect_success 'a FIFO nobody writes to as the baseline: empty at once, exit 0' '
	mkfifo idle-base.fifo && check_run idle-base --baseline idle-base.fifo && test "$(rc_of idle-base)" -eq 0
'

test_expect_success 'a baseline still applies after the change (comments, last line without newline)' '
	printf "b=1\na=2\n" >l.env && chmod 600 l.env &&
	ops-envcheck --no-git --baseline base.txt --write-baseline l.env >out &&
	{ printf "# kept\n\n"; grep -v unordered-key base.txt; } | head -c -1 >base2.txt &&
	{ ops-envcheck --no-git --baseline base2.txt l.env >out; test $? -eq 1; } &&
	test_grep_not "^WARNING .*lowercase-key" out && test_grep "^WARNING .*unordered-key" out
'

test_done
