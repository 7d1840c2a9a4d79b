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
# Servers: . "$TEST_LIB/postgres.sh" etc. (see tests/lib/README).
# Environment: OPSKIT_BIN (the binaries; default ./bin), OPSKIT_ROOT (the project).

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
_cleanups=
_script=$(basename "$0" .sh)

TRASH=$(mktemp -d "/tmp/opskit-$_script.XXXXXX")
chmod 755 "$TRASH"   # servers run as other users (postgres) need to reach their dirs
cd "$TRASH" || exit 1

# Register a shell command to run at exit, last registered first.
test_cleanup_add() {
	_cleanups="$1
$_cleanups"
}

_run_cleanups() {
	_status=$?
	trap - EXIT INT TERM
	printf '%s\n' "$_cleanups" | while IFS= read -r cmd; do
		[ -n "$cmd" ] && eval "$cmd" >/dev/null 2>&1
	done
	cd /
	if [ -z "${KEEP_TRASH:-}" ]; then rm -rf "$TRASH"; fi
	exit $_status
}
trap _run_cleanups EXIT
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

# Runs the body in a subshell with errexit-like && chains; output shown only on failure
# (or always with -v / TEST_VERBOSE=1).
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

# A free TCP port on 127.0.0.1 (the kernel picks it). $1 (optional): highest allowed.
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

# run_cmd_with_timeout SECONDS CMD...: like timeout(1), exit 124 on expiry.
run_with_timeout() { timeout --kill-after=5 "$@"; }

# Data-driven cases (after curl's tests/data): each directory under $1 holds
#   cmd        the command line (sh), run in a copy of the case directory
#   expected   expected standard output (optional)
#   exit       expected exit code (default 0)
#   stderr     a grep pattern the standard error must match (optional)
test_data_cases() {
	for _case in "$1"/*/; do
		[ -f "$_case/cmd" ] || continue
		_name=$(basename "$_case")
		_work="$TRASH/case-$_name"
		rm -rf "$_work" && cp -r "$_case" "$_work"
		_want_rc=0; [ -f "$_case/exit" ] && _want_rc=$(cat "$_case/exit")
		(cd "$_work" && sh ./cmd >actual.out 2>actual.err)
		_rc=$?
		_why=
		[ "$_rc" -eq "$_want_rc" ] || _why="exit $_rc, wanted $_want_rc"
		if [ -z "$_why" ] && [ -f "$_case/expected" ] && ! diff -u "$_case/expected" "$_work/actual.out" >"$_work/diff"; then
			_why="output differs:
$(cat "$_work/diff")"
		fi
		if [ -z "$_why" ] && [ -f "$_case/stderr" ] && ! grep -q -f "$_case/stderr" "$_work/actual.err"; then
			_why="stderr does not match $(cat "$_case/stderr"): $(cat "$_work/actual.err")"
		fi
		if [ -z "$_why" ]; then _test_ok "case $_name"
		else _test_not_ok "case $_name" "$(cat "$_case/cmd")
$_why
stderr: $(head -c 2000 "$_work/actual.err")"; fi
	done
}

test_done() {
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
