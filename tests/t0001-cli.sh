#!/bin/sh
# The common command line of all four binaries.
. "$(dirname "$0")/test-lib.sh"

# Column where the description of the first option line under heading $2 starts.
description_column() {
	sed -n "/^$2\$/,/^[a-z]/p" "$1" | grep '^  -' |
		awk '{ rest = substr($0, 3); if (match(rest, /  +[^ ]/)) { print 2 + RSTART + RLENGTH - 1; exit } }'
}

# The common block ends --help: 7 options, aligned with the tool's own options.
check_common_options() {
	sed -n '/^common options:$/,$p' "$1" >common &&
	test "$(wc -l <common)" -eq 8 &&
	for o in '--config FILE' '--format FMT' '-o, --output FILE' '-q, --quiet' \
		'-v, --verbose' '-h, --help' '-V, --version'; do
		test_grep "^  $o  *[a-z]" common || return 1
	done &&
	own=$(description_column "$1" options:) && shared=$(description_column "$1" "common options:") &&
	test -n "$own" && test "$own" -eq "$shared" ||
	{ echo "descriptions start at column $own (options) and $shared (common options)"; false; }
}

for tool in ops-promote ops-pgprobe ops-redisaudit ops-envcheck; do
	test_expect_success "$tool --help prints usage and exits 0" "
		$tool --help >out && test_grep '^usage: $tool' out
	"
	test_expect_success "$tool --version prints name and version" "
		$tool --version >out && test_grep '^$tool [0-9][0-9.]*' out
	"
	test_expect_code 3 "$tool: unknown option exits 3" "$tool --no-such-option"
	test_expect_success "$tool: unknown option names the option and shows usage" "
		! $tool --no-such-option 2>err && test_grep 'unknown option --no-such-option' err &&
		test_grep '^usage:' err
	"
	test_expect_success "$tool --help ends with the common options, lined up with its own" "
		$tool --help >out && check_common_options out
	"
	test_expect_success "$tool: a usage error shows the synopsis and points to --help" "
		! $tool --no-such-option 2>err && test_grep_not '^common options:' err &&
		test_grep \"Run '$tool --help'\" err
	"
	test_expect_success "$tool: a mistyped --option=value never echoes the value" "
		! $tool --pasword=hunter2-xyz 2>err && test_grep 'unknown option --pasword' err &&
		test_grep_not hunter2-xyz err
	"
	test_expect_code 3 "$tool: unknown format exits 3" "$tool --format xml"
	test_expect_success "$tool: malformed config is located, exit 3, in every format" "
		printf 'defaults:\n  timeout: [oops\n' >bad.yaml &&
		for f in text json prometheus nagios; do
			$tool --config bad.yaml --format \$f >out 2>err; test \$? -eq 3 &&
			test_grep 'bad.yaml:[0-9]*:[0-9]*: ' err || return 1
		done &&
		{ $tool --config bad.yaml --format nagios >out 2>/dev/null; test \$? -eq 3; } &&
		test_grep 'UNKNOWN - .*bad.yaml:' out
	"
	test_expect_success "$tool: missing --config file is an error" "
		! $tool --config /nonexistent/opskit.yaml 2>err && test_grep 'cannot read config' err
	"
done

# lib/cli's option table, through the test helper's table of every kind (opskit-test-helper cli).
cli() { opskit-test-helper cli "$@"; }
# test_expect_code_of CODE CMD...: CMD exits with CODE.
test_expect_code_of() {
	want=$1; shift
	"$@"; got=$?
	test "$got" -eq "$want" || { echo "exit $got, expected $want: $*"; return 1; }
}

test_expect_success 'cli: without flags or config every row takes its default' '
	cli >out &&
	test_grep "^flag=0 on=1 count=0 num=7 number=0 bounded=0 defaulted=42$" out &&
	test_grep "^wait_ms=0 fallback_ms=5000 seconds=60 size=1024$" out &&
	test_grep "word=alpha format=text" out
'

test_expect_success 'cli: flags of every kind are parsed and stored' '
	cli -f -cc -n 3 --no-on --wait 1s --wait 2s --size 10MiB --seconds 90s --item a --item b \
		--word beta --format json -q op1 >out &&
	test_grep "^flag=1 on=0 count=2 num=3 " out &&
	test_grep "^wait_ms=2000 .* seconds=90 size=1.04858e+07$" out &&
	test_grep "word=beta format=json quiet=1" out &&
	test_grep "given-num=1" out &&
	test_grep "^item=a$" out && test_grep "^item=b$" out && test_grep "^operand=op1$" out
'

test_expect_success 'cli: a bare number is milliseconds where the row says so' '
	cli --wait 1500 >out && test_grep "^wait_ms=1500 " out
'

test_expect_success 'cli: the config fills what the command line left, the command line wins' '
	printf "test:\n  duration: 2s\n  list: [x, y]\n  bool: false\n  number: 2.5\n" >c.yaml &&
	cli --config c.yaml >out &&
	test_grep "number=2.5 " out && test_grep "on=0" out && test_grep "fallback_ms=2000" out &&
	test_grep "^item=x$" out && test_grep "^item=y$" out &&
	cli --config c.yaml --number 3 --fallback 1s --item z >out &&
	test_grep "number=3 " out && test_grep "fallback_ms=1000" out &&
	test_grep "^item=z$" out && test_grep_not "^item=x$" out
'

test_expect_success 'cli: a key with a fallback key takes it before its own default' '
	printf "test:\n  duration: 3s\n" >f.yaml && cli --config f.yaml >out && test_grep "fallback_ms=3000" out &&
	printf "test:\n  fallback: 4s\n  duration: 3s\n" >f.yaml && cli --config f.yaml >out && test_grep "fallback_ms=4000" out
'

test_expect_success 'cli: bounds on the command line: named option, value and range, exit 3' '
	test_expect_code_of 3 cli --num 101 2>err && test_grep "^opskit-test-helper: --num: must be from 0 to 100, not 101$" err &&
	test_expect_code_of 3 cli --bounded 0 2>err && test_grep "bounded: must be from 1 to 10, not 0" err &&
	test_expect_code_of 3 cli --wait 10ms 2>err && test_grep "wait: must be at least 1.0s, not 10ms" err &&
	cli --bounded 10 --num 100 --num 0 --wait 1s >/dev/null
'

test_expect_success 'cli: a keyless duration stored in seconds is bounded in milliseconds, as cli.h says' '
	test_expect_code_of 3 cli --seconds 2h 2>err && test_grep "seconds: must be from 1.0s to 1h" err &&
	test_expect_code_of 3 cli --seconds 500ms 2>err && test_grep "seconds: must be from" err &&
	cli --seconds 1s >/dev/null && cli --seconds 1h >/dev/null
'

test_expect_success 'cli: a value of the wrong kind is named with its option' '
	test_expect_code_of 3 cli --number x 2>err && test_grep "number: \"x\" is not a number" err &&
	test_expect_code_of 3 cli --seconds soon 2>err && test_grep "seconds: \"soon\" is not a duration" err &&
	test_expect_code_of 3 cli --size 10Q 2>err && test_grep "size: \"10Q\" is not a size" err &&
	test_expect_code_of 3 cli --word gamma 2>err && test_grep "word: \"gamma\" is neither alpha nor beta" err
'

test_expect_success 'cli: a bad config value is located (file:line:column) and exit 3' '
	printf "test:\n  bounded: 11\n" >b.yaml &&
	test_expect_code_of 3 cli --config b.yaml 2>err &&
	test_grep "b.yaml:2:[0-9]*: test.bounded must be from 1 to 10" err
'

test_expect_success 'cli: credentials are registered as secrets; a malformed one is not echoed' '
	cli --creds bob:hunter2-xyz >out && test_grep "^creds=bob:\*\*\*" out && test_grep_not hunter2-xyz out &&
	test_expect_code_of 3 cli --creds hunter2-xyz 2>err && test_grep "creds: needs user:password" err &&
	test_grep_not hunter2-xyz err
'

test_expect_success 'cli: --dump-options lists every row with its default and config key' '
	cli --dump-options >table &&
	test_grep "^-n	num	N	int	7	-	-	an int, no config$" table &&
	test_grep "^-	defaulted	N	int	42	test.defaulted	" table &&
	test_grep "^-	word	WORD	call	alpha	-	alpha|beta	" table &&
	test_grep "^-	format	FMT	call	-	-	text|json|prometheus|nagios|sarif|github	" table
'

test_expect_success 'cli: --help shows each default once, from the table' '
	cli --help >out &&
	test_grep "^  -n, --num N  *an int, no config (default 7)$" out &&
	test_grep "^  --defaulted N  *an int whose default is in the schema (default 42)$" out
'

test_expect_success '-o replaces a report whole (a new file, renamed over the old), mode after umask' '
	printf "A=1\n" >ok.env &&
	echo old >report.txt && ln report.txt old-link &&
	(umask 022 && ops-envcheck --no-git -o report.txt ok.env) &&
	test_grep "ops-envcheck: OK" report.txt && test "$(cat old-link)" = old &&
	test "$(stat -c %a report.txt)" = 644 &&
	! ls report.txt.* 2>/dev/null | grep . &&
	ops-envcheck --no-git -o /dev/stdout ok.env >stdout.txt && test_grep "ops-envcheck: OK" stdout.txt
'

test_expect_success '-o replacing a report keeps its permissions' '
	chmod 640 report.txt &&
	(umask 022 && ops-envcheck --no-git -o report.txt ok.env) &&
	test "$(stat -c %a report.txt)" = 640
'

test_expect_success '-o into a directory that does not exist: exit 3, nothing left behind' '
	test_expect_code_of 3 ops-envcheck --no-git -o no/such/dir/report.txt ok.env 2>err &&
	test_grep "cannot write no/such/dir/report.txt" err
'

for tool in ops-promote ops-pgprobe ops-redisaudit ops-envcheck; do
	test_expect_success "$tool: --dump-options agrees with --help, row for row" "
		$tool --dump-options >table && $tool --help >help &&
		awk -F '\t' '\$1 != \"subcommand\" { print \$2 }' table | while read -r long; do
			grep -q -- \"--\$long\\\\b\" help || { echo \"--\$long is in the table but not in --help\"; exit 1; }
		done
	"
	test_expect_success "$tool: the synopsis lists the formats it writes" "
		$tool --dump-options | awk -F '\t' '\$2 == \"format\" { print \$7 }' >formats &&
		$tool --help | head -n 1 >first &&
		test_grep \"\\\\[--format \$(cat formats)\\\\]\" first
	"
done

test_done
