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
		$tool --config bad.yaml --format nagios >out 2>/dev/null;
		test_grep 'UNKNOWN - .*bad.yaml:' out
	"
	test_expect_success "$tool: missing --config file is an error" "
		! $tool --config /nonexistent/opskit.yaml 2>err && test_grep 'cannot read config' err
	"
done

test_done
