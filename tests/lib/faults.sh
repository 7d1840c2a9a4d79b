# faults.sh — a TCP fault proxy in front of one local server, and the checks every fault
# test makes on a tool's run (source after test-lib.sh).
#
#   start_fault_tcp_proxy UPSTREAM_PORT [LIFETIME_S]
#       tests/lib/fault-proxy.py on a free loopback port, relaying to 127.0.0.1:UPSTREAM_PORT
#       (LIFETIME_S default 120: it exits then, stalled connections included). Sets:
#         FAULT_TCP_PORT    its port
#         FAULT_TCP_RULES   its rules file, re-read on every new connection (empty: pass)
#   fault_rule RULE...      replace the rules with these lines ("stall-at up SCAN", ...;
#                           the rule language is in fault-proxy.py's header)
#   no_crash FILE           FILE (a tool's standard error) holds no sanitizer report,
#                           segfault or abort
#   clear_error FILE ERE    FILE holds a line matching ERE, at most 3 lines in all, none
#                           longer than 300 characters: an error a person reads at once
#   whole_or_absent FILE    a report written with -o FILE --format json is either absent
#                           or whole (parses), and no temporary file is left beside it
#
# The proxy is killed at exit through test_cleanup_add. Under SANITIZE=1 a sanitizer
# report exits 99, so that it fails a test even where exit 1-3 is expected.

test_require_cmd python3

if [ "${SANITIZE:-}" = 1 ]; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=99" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=99"
fi

start_fault_tcp_proxy() {
	_fp_dir=$TRASH/fault-proxy.$$.$(date +%s%N)
	mkdir -p "$_fp_dir" && : >"$_fp_dir/rules" || return 1
	FAULT_TCP_RULES=$_fp_dir/rules
	FAULT_TCP_LOG=$_fp_dir/log
	python3 "$TEST_LIB/fault-proxy.py" "$_fp_dir/port" "$1" "$FAULT_TCP_RULES" "${2:-120}" \
		>"$_fp_dir/log" 2>&1 &
	test_cleanup_add "kill $! 2>/dev/null"
	_n=0
	while [ ! -s "$_fp_dir/port" ] && [ $_n -lt 100 ]; do sleep 0.05; _n=$((_n + 1)); done
	FAULT_TCP_PORT=$(cat "$_fp_dir/port" 2>/dev/null)
	[ -n "$FAULT_TCP_PORT" ]
}

fault_rule() {
	printf '%s\n' "$@" >"$FAULT_TCP_RULES"
}

no_crash() {
	! grep -E "Sanitizer|runtime error|Segmentation|Aborted|stack-overflow" "$1"
}

clear_error() {
	grep -Eq "$2" "$1" && test "$(wc -l <"$1")" -le 3 &&
	test "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$1")" -le 300 || {
		echo "not one clear error matching /$2/:"; cat "$1"; return 1
	}
}

whole_or_absent() {
	if [ -e "$1" ]; then
		python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$1" || {
			echo "$1 is half written:"; head -c 500 "$1"; return 1
		}
	fi
	! ls -a "$(dirname "$1")" | grep -F "$(basename "$1")." | grep -v "^$(basename "$1")\$"
}
