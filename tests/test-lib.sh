# test-lib.sh — TAP test library for opskit's shell tests (after git's t/test-lib.sh).
#
#   . "$(dirname "$0")/test-lib.sh"
#   test_expect_success 'what it shows' '
#       ops-envcheck print good.env >out && test_cmp expect out
#   '
#   test_expect_code 3 'bad option exits 3' 'ops-pgprobe --bogus'
#   test_done
#
# Every test script runs in its own trash directory ($TRASH, cwd), removed on exit along
# with every server a test started: register teardown with test_cleanup_add.
# Servers: . "$TEST_LIB/postgres.sh", redis.sh, registry.sh (each documented in its
# header; tests/README lists them). Data-driven cases: test_data_cases, below.
# Environment: OPSKIT_BIN (the binaries; default $OPSKIT_ROOT/bin), OPSKIT_ROOT (the
# project), KEEP_TRASH=1 (keep $TRASH), TEST_VERBOSE=1 (show every body's output),
# OPSKIT_REGEN=1 (rewrite expected output), SANITIZE=1 (binaries built with ASan+UBSan),
# SANITIZE=thread (binaries built with TSan: every report fails the file, see test_done).

set -u
OPSKIT_ROOT=${OPSKIT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
OPSKIT_BIN=${OPSKIT_BIN:-$OPSKIT_ROOT/bin}
TEST_DIR=$OPSKIT_ROOT/tests
TEST_LIB=$TEST_DIR/lib
TEST_DATA=$TEST_DIR/data
PATH=$OPSKIT_BIN:$PATH
export OPSKIT_ROOT OPSKIT_BIN PATH
# Tests see no user config, no colour, a fixed locale.
unset OPSKIT_CONFIG XDG_CONFIG_HOME REDISCLI_AUTH PGPASSWORD PGHOST PGPORT PGUSER PGDATABASE
export NO_COLOR=1 LC_ALL=C TZ=UTC
export HOME=${HOME:-/root}

test_count=0
test_failed=0
test_skipped=0
test_broken=0   # test_expect_failure that failed, as expected
test_fixed=0    # test_expect_failure that passed: the breakage vanished
_script=$(basename "$0" .sh)

TRASH=$(mktemp -d "/tmp/opskit-$_script.XXXXXX")
chmod 755 "$TRASH"   # servers run as other users (postgres) need to reach their dirs
cd "$TRASH" || exit 1

# Register a shell command to run at exit, last registered first. Kept in a file, not a
# variable: test bodies run in subshells, and a server started in one must be stopped too.
test_cleanup_add() {
	printf '%s\n' "$1" >>"$TRASH/.cleanups"
}

_run_cleanups() {
	_status=$?
	trap - EXIT INT TERM
	if [ -f "$TRASH/.cleanups" ]; then
		tac "$TRASH/.cleanups" | while IFS= read -r cmd; do
			[ -n "$cmd" ] && eval "$cmd" >/dev/null 2>&1
		done
	fi
	cd /
	if [ -z "${KEEP_TRASH:-}" ]; then rm -rf "$TRASH"; fi
	exit $_status
}
trap _run_cleanups EXIT

# Under SANITIZE=thread each report goes to a file of its own, not to the tool's stderr:
# a race in a background exporter, or in a run whose failure a test expects, must still
# fail the file (test_done reads them); exit 99 also fails the run's own test.
TSAN_REPORTS=$TRASH/.tsan
if [ "${SANITIZE:-}" = thread ]; then
	mkdir -p "$TSAN_REPORTS"
	export TSAN_OPTIONS="${TSAN_OPTIONS:-}:exitcode=99:log_path=$TSAN_REPORTS/report"
fi
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

say() { printf '# %s\n' "$*"; }

# skip_all REASON: the whole script is skipped (TAP "1..0 # SKIP").
skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	exit 0
}

test_require_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip_all "$_c is not installed (run ci/install-deps.sh)"
	done
}

_test_ok() { test_count=$((test_count + 1)); printf 'ok %d - %s\n' "$test_count" "$1"; }
_test_not_ok() {
	test_count=$((test_count + 1)); test_failed=$((test_failed + 1))
	printf 'not ok %d - %s\n' "$test_count" "$1"
	# on stderr, like Test::More's diag: prove shows it without -v, so a failure in
	# CI's log says what failed and what it printed
	printf '%s\n' "$2" | sed 's/^/#\t/' >&2
}

# test_expect_success DESC BODY: runs the body (a string; chain with &&) in a subshell;
# its output is shown only on failure (or always with TEST_VERBOSE=1).
test_expect_success() {
	_desc=$1 _body=$2
	if [ -n "${TEST_VERBOSE:-}" ]; then
		( eval "$_body" ) </dev/null
	else
		( eval "$_body" ) </dev/null >"$TRASH/.test-out" 2>&1
	fi
	_rc=$?
	if [ $_rc -eq 0 ]; then
		_test_ok "$_desc"
	else
		_test_not_ok "$_desc" "$_body
--- exit $_rc, output:
$(tail -n 40 "$TRASH/.test-out" 2>/dev/null)"
	fi
}

# test_expect_failure DESC BODY: a known breakage, like git's. A failing body is
# "not ok N - DESC # TODO known breakage"; a passing one is "ok N - DESC # TODO known
# breakage vanished" (then turn it into test_expect_success). Neither fails the script:
# TAP counts TODO tests apart, and test_done says how many of each there were.
test_expect_failure() {
	_desc=$1 _body=$2
	if [ -n "${TEST_VERBOSE:-}" ]; then
		( eval "$_body" ) </dev/null
	else
		( eval "$_body" ) </dev/null >"$TRASH/.test-out" 2>&1
	fi
	_rc=$?
	test_count=$((test_count + 1))
	if [ $_rc -eq 0 ]; then
		test_fixed=$((test_fixed + 1))
		printf 'ok %d - %s # TODO known breakage vanished\n' "$test_count" "$_desc"
	else
		test_broken=$((test_broken + 1))
		printf 'not ok %d - %s # TODO known breakage\n' "$test_count" "$_desc"
	fi
}

# test_expect_code CODE DESC COMMAND: the command (a string) exits with CODE.
test_expect_code() {
	_want=$1 _desc=$2 _body=$3
	( eval "$_body" ) </dev/null >"$TRASH/.test-out" 2>&1
	_rc=$?
	if [ "$_rc" -eq "$_want" ]; then
		_test_ok "$_desc"
	else
		_test_not_ok "$_desc" "$_body
--- wanted exit $_want, got $_rc, output:
$(tail -n 40 "$TRASH/.test-out")"
	fi
}

test_skip() {
	test_count=$((test_count + 1)); test_skipped=$((test_skipped + 1))
	printf 'ok %d - %s # SKIP %s\n' "$test_count" "$1" "$2"
}

# test_cmp EXPECTED ACTUAL: files equal, with a diff when not.
test_cmp() { diff -u "$1" "$2"; }

# json_assert FILE 'python statement(s) on d': asserts on a JSON document (d = the parsed FILE).
json_assert() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$1"; }
# json_get FILE EXPR: print a Python expression over the JSON document d of FILE.
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# checks_of FILE ID: the checks of one id in a JSON report, as "status subject" lines.
checks_of() { python3 -c "
import json,sys
d = json.load(open(sys.argv[1]))
for c in d['checks']:
    if c['id'] == sys.argv[2]: print(c['status'], c['subject'])" "$@"; }

# test_grep PATTERN FILE: like grep -q, but shows the file when the pattern is missing.
test_grep() {
	if ! grep -q -- "$1" "$2"; then
		echo "pattern not found: $1 in $2:"; cat "$2"; return 1
	fi
}
test_grep_not() {
	if grep -q -- "$1" "$2"; then
		echo "pattern found but must not be: $1 in $2:"; grep -n -- "$1" "$2"; return 1
	fi
}

# free_port [HIGHEST]: a free TCP port on 127.0.0.1 (the kernel picks it; with HIGHEST,
# a random free one in 20000..HIGHEST).
free_port() {
	python3 - "${1:-65535}" <<'PY'
import random, socket, sys
hi = int(sys.argv[1])
for _ in range(200):
    s = socket.socket()
    try:
        port = random.randint(20000, min(hi, 60999)) if hi < 65535 else 0
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1]); break
    except OSError:
        continue
    finally:
        s.close()
PY
}

# wait_for_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
wait_for_port() {
	_deadline=$(( $(date +%s) + ${2:-20} ))
	while [ "$(date +%s)" -le $_deadline ]; do
		# /dev/tcp is bash's; tests themselves run under sh
		if bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1 after ${2:-20}s" >&2
	return 1
}

# start_exporter TOOL PORT [CONFIG]: TOOL --config CONFIG (default exporter.yaml) --listen
# 127.0.0.1:PORT in the background, stderr appended to exporter.err, stopped at exit;
# EXPORTER is its pid. Returns once it listens.
start_exporter() {
	"$1" --config "${3:-exporter.yaml}" --listen "127.0.0.1:$2" >/dev/null 2>>exporter.err &
	EXPORTER=$!
	test_cleanup_add "kill $EXPORTER 2>/dev/null"
	wait_for_port "$2"
}

# run_with_timeout SECONDS CMD...: like timeout(1), exit 124 on expiry.
run_with_timeout() { timeout --kill-after=5 "$@"; }

# ---- data-driven cases: one layout for every area (tests/README) ----
# Each directory tests/data/<area>/<case>/ is one case (after curl's tests/data):
#   cmd        the command (sh), run in a scratch copy of the case directory (required)
#   exit       the exit code it must return (absent: 0)
#   expected   its exact standard output (absent: it prints nothing)
#   stderr     patterns (grep BRE), one a line, each of which its standard error must
#              match (absent: it prints nothing there)
#   anything else is input the command reads (.env, opskit.yaml, script, ...).
# An area whose cases run in several variants (t0010: one per output format) passes them
# to test_data_cases: cmd sees the variant in $VARIANT, and expected.VARIANT replaces
# expected. OPSKIT_REGEN=1 rewrites exit and expected[.VARIANT] from what the command did
# (review the result with git diff); stderr patterns are written by hand.

# data_case_exit CASEDIR: the exit code the case wants.
data_case_exit() {
	if [ -f "$1/exit" ]; then cat "$1/exit"; else echo 0; fi
}

# test_data_case CASEDIR [VARIANT]: one case (in one variant) as one TAP test, named
# "case NAME" or "case NAME [VARIANT]". What the command printed stays in
# $TRASH/case-NAME[.VARIANT]/actual.out and actual.err for the test's own checks.
test_data_case() {
	_case=${1%/} _variant=${2:-}
	_name=$(basename "$_case")
	_title="case $_name${_variant:+ [$_variant]}"
	_expected=$_case/expected${_variant:+.$_variant}
	_work=$TRASH/case-$_name${_variant:+.$_variant}
	if [ ! -f "$_case/cmd" ]; then
		_test_not_ok "$_title" "$_case has no cmd file (see tests/README)"
		return
	fi
	rm -rf "$_work" && cp -r "$_case" "$_work" || return
	_want_rc=$(data_case_exit "$_case")
	(cd "$_work" && VARIANT=$_variant run_with_timeout 120 sh ./cmd >actual.out 2>actual.err) </dev/null
	_rc=$?
	_why= _regen=
	if [ -n "${OPSKIT_REGEN:-}" ]; then
		if [ "$_rc" -ne "$_want_rc" ]; then
			if [ "$_rc" -eq 0 ]; then rm -f "$_case/exit"; else echo "$_rc" >"$_case/exit"; fi
			_regen=" (regenerated exit)"
		fi
		if [ -s "$_work/actual.out" ]; then
			cmp -s "$_work/actual.out" "$_expected" ||
			{ cp "$_work/actual.out" "$_expected" && _regen=" (regenerated ${_expected##*/})"; }
		elif [ -f "$_expected" ]; then
			rm -f "$_expected" && _regen=" (regenerated: no ${_expected##*/})"
		fi
		_want_rc=$_rc
	fi
	[ "$_rc" -eq "$_want_rc" ] || _why="exit $_rc, wanted $_want_rc"
	if [ -f "$_expected" ]; then
		diff -u "$_expected" "$_work/actual.out" >"$_work/diff" ||
			_why="$_why${_why:+; }standard output differs from ${_expected##*/}:
$(head -n 60 "$_work/diff")"
	elif [ -s "$_work/actual.out" ]; then
		_why="$_why${_why:+; }standard output but no ${_expected##*/} file:
$(head -c 2000 "$_work/actual.out")"
	fi
	if [ -f "$_case/stderr" ]; then
		while IFS= read -r _pat; do
			grep -q -e "$_pat" "$_work/actual.err" ||
				_why="$_why${_why:+; }standard error does not match: $_pat"
		done <"$_case/stderr"
	elif [ -s "$_work/actual.err" ]; then
		_why="$_why${_why:+; }standard error but no stderr file"
	fi
	if [ -z "$_why" ]; then
		_test_ok "$_title$_regen"
	else
		_test_not_ok "$_title" "$(cat "$_case/cmd")
--- $_why
--- standard error:
$(head -c 2000 "$_work/actual.err")"
	fi
}

# test_data_cases AREADIR [VARIANT...]: every case of an area, in each variant.
test_data_cases() {
	for _dir in "$1"/*/; do
		[ -d "$_dir" ] || continue
		if [ $# -le 1 ]; then
			test_data_case "$_dir"
		else
			for _v in $(shift; echo "$@"); do test_data_case "$_dir" "$_v"; done
		fi
	done
}

# Every ThreadSanitizer report the file's runs wrote, as one failing test.
_tsan_reports_test() {
	[ "${SANITIZE:-}" = thread ] || return 0
	_reports=$(cat "$TSAN_REPORTS"/report.* 2>/dev/null)
	if [ -z "$_reports" ]; then
		_test_ok "no ThreadSanitizer report"
	else
		_test_not_ok "no ThreadSanitizer report" "$(printf '%s\n' "$_reports" | head -n 120)"
	fi
}

test_done() {
	_tsan_reports_test
	printf '1..%d\n' "$test_count"
	if [ "$test_fixed" -gt 0 ]; then
		say "$test_fixed known breakage(s) vanished; turn them into test_expect_success"
	fi
	if [ "$test_broken" -gt 0 ]; then
		say "still have $test_broken known breakage(s)"
	fi
	if [ "$test_failed" -gt 0 ]; then
		say "failed $test_failed of $test_count (trash: $TRASH, set KEEP_TRASH=1 to keep it)"
		exit 1
	fi
	exit 0
}
