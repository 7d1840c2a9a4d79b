#!/bin/sh
# The report library in every format, data-driven: each tests/data/report/<case>/ is a
# case as tests/README says, run once per format (the variants), with
#   script              a report script for `opskit-test-helper report FORMAT` (see
#                       tests/helper/test-helper.c); cmd renders it in format $VARIANT
#   expected.<format>   the exact output in that format (absent: none, as for github
#                       when every check is OK)
#   exit                the exit code (the worst status), the same in every format
#   secrets             strings that must not appear in any format (optional)
# Every output is also checked against the consumers' rules (validate.py: Prometheus
# exposition, Nagios perfdata, SARIF, GitHub commands, JSON envelope).
# tests/data/report/status-combos lists statuses and the exit code they give.
# To regenerate the expected files after a deliberate change (then review git diff):
#   OPSKIT_REGEN=1 make test T=tests/t0010-report.sh
. "$(dirname "$0")/test-lib.sh"
test_require_cmd python3

DATA=$TEST_DATA/report
FORMATS="text json prometheus nagios sarif github"

for dir in "$DATA"/*/; do
	case=$(basename "$dir")
	want_rc=$(data_case_exit "$dir")
	for fmt in $FORMATS; do
		test_data_case "$dir" $fmt
		test_expect_success "$case [$fmt]: valid $fmt" "
			python3 '$DATA/validate.py' $fmt '$TRASH/case-$case.$fmt/actual.out' $want_rc
		"
	done
	if test -f "$dir/secrets"; then
		test_expect_success "$case: no secret in any format" "
			for fmt in $FORMATS; do
				out='$TRASH/case-$case.'\$fmt/actual.out
				while IFS= read -r secret; do
					if grep -F -n -- \"\$secret\" \"\$out\" '$TRASH/case-$case.'\$fmt/actual.err; then
						echo \"secret '\$secret' leaked in \$fmt output\"; exit 1
					fi
				done <'$dir/secrets'
				grep -q -F '***' \"\$out\" || { echo \"\$fmt: nothing was masked?\"; exit 1; }
			done
		"
	fi
done

# Worst status decides the exit code; CRITICAL outranks UNKNOWN.
grep -v '^#' "$DATA/status-combos" | while read -r line; do
	want=${line##* }
	statuses=${line% *}
	printf '%s\n' "$statuses|$want"
done >combos
while IFS='|' read -r statuses want; do
	test_expect_success "checks [$statuses] exit $want in every format" "
		for st in $statuses; do
			test \"\$st\" = - || printf 'check\tc-%s\t%s\tsubj\tmessage\n' \$st \$st
		done >script &&
		for fmt in $FORMATS; do
			opskit-test-helper report \$fmt <script >out; rc=\$?
			test \$rc -eq $want || { echo \"\$fmt: exit \$rc, wanted $want\"; exit 1; }
		done &&
		opskit-test-helper report json <script | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d[\"exit_code\"] != $want)'
	"
done <combos

test_expect_success 'text is aligned on character width, not bytes' '
	printf "check\ta\twarning\tünïcödé\tm1\ncheck\tbb\twarning\tplain\tm2\n" |
	opskit-test-helper report text >out; test $? -eq 1 &&
	python3 -c "
import sys
lines = [l for l in open(\"out\", encoding=\"utf-8\") if l.startswith(\"WARNING\")]
cols = {l.index(\"m1\") if \"m1\" in l else l.index(\"m2\") for l in lines}
sys.exit(len(lines) != 2 or len(cols) != 1)"
'

test_expect_success 'colour only on demand: none with NO_COLOR or when not a TTY' '
	printf "check\ta\tcritical\ts\tm\n" | NO_COLOR=1 opskit-test-helper report text >out;
	! grep -q "$(printf "\033")" out &&
	{ printf "check\ta\tcritical\ts\tm\n" | NO_COLOR= opskit-test-helper report text >out; test $? -eq 2; } &&
	! grep -q "$(printf "\033")" out
'

if command -v script >/dev/null 2>&1; then
	test_expect_success 'colour on a TTY unless NO_COLOR is set' '
		printf "check\ta\tcritical\ts\tm\n" >in &&
		{ NO_COLOR= script -qec "opskit-test-helper report text <in" /dev/null >tty.out; test $? -eq 2; } &&
		grep -q "$(printf "\033")\[1;31m" tty.out &&
		{ NO_COLOR=1 script -qec "opskit-test-helper report text <in" /dev/null >tty.out; test $? -eq 2; } &&
		! grep -q "$(printf "\033")" tty.out
	'
else
	test_skip 'colour on a TTY unless NO_COLOR is set' 'script(1) is not installed'
fi

test_done
