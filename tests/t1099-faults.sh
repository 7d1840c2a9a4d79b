#!/bin/sh
# ops-envcheck on hostile files: special files (directory, FIFO with and without a
# writer, /dev/null, /dev/zero, a socket), an unreadable file, a 10 MB line, NUL bytes,
# invalid UTF-8, ${} nested 10000 deep, a file that grows or is rewritten while read.
# Each: the documented exit code, bounded in time, no sanitizer report, a whole -o report.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/faults.sh"

# check_file NAME FILE [OPTIONS...]: a JSON lint of FILE into NAME.json, exit code in
# NAME.rc; it must end within 60 s with no sanitizer report and a whole report.
check_file() {
	_n=$1 _f=$2
	shift 2
	run_with_timeout 60 ops-envcheck --no-git --format json -o "$_n.json" "$@" "$_f" 2>"$_n.err"
	echo $? >"$_n.rc"
	no_crash "$_n.err" && whole_or_absent "$_n.json" && test "$(cat "$_n.rc")" -ne 124
}
rc_of() { cat "$1.rc"; }
# message_of NAME ID: the messages of the checks ID in NAME.json
message_of() { json_get "$1.json" "\"\\n\".join(c[\"message\"] for c in d[\"checks\"] if c[\"id\"] == \"$2\")"; }

test_expect_success 'a FIFO nobody writes to: read as empty at once, exit 0' '
	mkfifo idle.fifo && check_file idle idle.fifo && test "$(rc_of idle)" -eq 0
'

test_expect_success 'a pipe with a writer (as <(...) gives): its keys are read' '
	printf "A=1\nB=2\n" | check_file fed /dev/stdin && test "$(rc_of fed)" -eq 0 &&
	message_of fed env-file | grep -q "^2 keys"
'

test_expect_success '/dev/null: 0 keys, exit 0' '
	check_file null /dev/null && test "$(rc_of null)" -eq 0 && message_of null env-file | grep -q "^0 keys"
'

test_expect_success '/dev/zero: unreadable (larger than 64 MiB), exit 3, not read forever' '
	start=$(date +%s) && check_file zero /dev/zero && test "$(rc_of zero)" -eq 3 &&
	test $(( $(date +%s) - start )) -lt 30 && message_of zero file-unreadable | grep -q "larger than 64 MiB"
'

test_expect_success 'a Unix socket: unreadable, exit 3' '
	python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"s.sock\")" &&
	check_file sock s.sock && test "$(rc_of sock)" -eq 3 && message_of sock file-unreadable | grep -q "cannot read"
'

test_expect_success 'a directory with no env file in it: says so, exit 0' '
	mkdir empty && check_file dir empty && test "$(rc_of dir)" -eq 0 &&
	message_of dir env-file | grep -q "no env file"
'

if [ "$(id -u)" = 0 ]; then
	test_skip 'an unreadable file (mode 000): exit 3' 'root reads any file'
else
	test_expect_success 'an unreadable file (mode 000): exit 3, Permission denied' '
		echo A=1 >locked.env && chmod 000 locked.env &&
		check_file locked locked.env && test "$(rc_of locked)" -eq 3 &&
		message_of locked file-unreadable | grep -q "Permission denied"
	'
fi

test_expect_success 'a 10 MB single line: checked, output bounded' '
	python3 -c "import sys; sys.stdout.write(\"BIG=\" + \"ab\" * (5 << 20) + \"\\n\")" >big.env &&
	check_file big big.env && test "$(rc_of big)" -le 2 && test $(wc -c <big.json) -lt 100000
'

test_expect_success 'a 10 MB line without = (one huge word): output bounded' '
	python3 -c "import sys; sys.stdout.write(\"x\" * (10 << 20) + \"\\n\")" >word.env &&
	check_file word word.env && test "$(rc_of word)" -le 2 && test $(wc -c <word.json) -lt 100000 &&
	{ ops-envcheck --no-git word.env >word.txt 2>&1; test $? -eq 1; } && test $(wc -c <word.txt) -lt 100000
'

test_expect_success 'NUL bytes in keys and values: no crash, exit 0-2' '
	printf "A=1\000X\nB\000C=2\nD=\000\n" >nul.env &&
	for d in compose python shell node docker; do
		check_file nul-$d nul.env --dialect $d && test "$(rc_of nul-$d)" -le 2 || return 1
	done
'

test_expect_success 'invalid UTF-8 in keys and values: valid JSON, exit 0-2' '
	printf "A=\377\376\nK\303\050=1\nC=\"\355\240\200\"\n" >utf.env &&
	check_file utf utf.env && test "$(rc_of utf)" -le 2 &&
	{ ops-envcheck --no-git --format sarif utf.env >utf.sarif; test $? -le 2; } &&
	python3 -c "import json,sys; json.load(open(sys.argv[1]))" utf.sarif
'

test_expect_success '${} nested 10000 deep: no stack overflow in any dialect' '
	python3 -c "
import sys
n = 10000
sys.stdout.write(\"V=\" + \"\".join(\"\${A%d:-\" % i for i in range(n)) + \"x\" + \"}\" * n + \"\\n\")" >deep.env &&
	for d in compose python shell; do
		check_file deep-$d deep.env --dialect $d && test "$(rc_of deep-$d)" -le 2 || return 1
	done
'

test_expect_success 'a file that grows while it is read: a whole report, no crash' '
	: >grow.env &&
	{ python3 -c "
import time
end = time.time() + 3
with open(\"grow.env\", \"a\") as f:
    i = 0
    while time.time() < end and i < 2000000:
        f.write(\"K%d=v%d\\n\" % (i, i)); i += 1
" & } && writer=$! &&
	sleep 0.2 && check_file grow grow.env && test "$(rc_of grow)" -le 2 || { wait $writer; exit 1; }
	wait $writer
'

test_expect_success 'a file rewritten (truncated) while it is read: a whole report, no crash' '
	python3 -c "print(\"\\n\".join(\"K%d=v\" % i for i in range(300000)))" >rw.env &&
	{ python3 -c "
import time
end = time.time() + 3; n = 0
while time.time() < end and n < 10000:
    open(\"rw.env\", \"w\").write(\"A=1\\n\" * (n % 7)); n += 1
" & } && writer=$! &&
	check_file rw rw.env && test "$(rc_of rw)" -le 3 || { wait $writer; exit 1; }
	wait $writer
'

test_done
