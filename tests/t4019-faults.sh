#!/bin/sh
# ops-pgprobe under faults: the server restarted mid-probe, the probe's backend
# terminated, its statement timeout, a socket that stalls after connect (fault proxy,
# tests/lib/fault-proxy.py), a corrupted reply, PgBouncer paused. Each: CRITICAL, exit 2
# (the man page: a target that cannot be probed is CRITICAL), bounded in time, a clear
# message, no sanitizer report, a whole -o file. t4002 holds the plain failures.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
. "$TEST_LIB/faults.sh"
test_require_cmd psql

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_fault_tcp_proxy "$PG_PORT" 300 || { echo "Bail out! fault proxy did not start"; exit 1; }
PROXY_DSN="host=127.0.0.1 port=$FAULT_TCP_PORT user=postgres dbname=postgres sslmode=disable"
LOCK_WAITERS="SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"

# probe_bg NAME TIMEOUT: a JSON probe in the background writing NAME.json / NAME.err.
probe_bg() {
	run_with_timeout 60 ops-pgprobe --format json -o "$1.json" --timeout "$2" "$PROXY_DSN" 2>"$1.err" &
	probe_pid=$!
}

# critical_within NAME RC START SECONDS PATTERN: exit 2 in time, no crash, whole report
# whose worst check's message matches PATTERN.
critical_within() {
	test "$2" -eq 2 && test $(( $(date +%s) - $3 )) -le "$4" && no_crash "$1.err" &&
	whole_or_absent "$1.json" && test "$(json_get "$1.json" "d[\"status\"]")" = critical &&
	json_get "$1.json" "[c[\"message\"] for c in d[\"checks\"] if c[\"status\"] == \"critical\"]" >"$1.why" &&
	test_grep "$5" "$1.why"
}

test_expect_success 'through the proxy passing everything: a normal probe' '
	fault_rule pass &&
	{ ops-pgprobe --format json "$PROXY_DSN" >pass.json 2>pass.err; test $? -le 1; } && no_crash pass.err
'

test_expect_success 'a socket that stalls after connect: CRITICAL within --timeout' '
	fault_rule "stall-at up SELECT" &&
	start=$(date +%s) && probe_bg stall 2s && { wait $probe_pid; rc=$?; } &&
	critical_within stall $rc $start 8 "within\|timeout\|no answer"
'

test_expect_success 'a stall before the startup answer: CRITICAL within --timeout' '
	fault_rule stall &&
	start=$(date +%s) && probe_bg stall0 2s && { wait $probe_pid; rc=$?; } &&
	critical_within stall0 $rc $start 8 "no answer\|within\|timeout"
'

test_expect_success 'a corrupted reply: CRITICAL, no crash' '
	fault_rule "corrupt down 0" &&
	start=$(date +%s) && probe_bg bad 3s && { wait $probe_pid; rc=$?; } &&
	critical_within bad $rc $start 10 "."
'

test_expect_success 'the connection cut mid-reply: CRITICAL, no crash' '
	fault_rule "cut down 600" &&
	start=$(date +%s) && probe_bg cut 3s && { wait $probe_pid; rc=$?; } &&
	critical_within cut $rc $start 10 "."
'

# A lock on a view the probe reads (pg_locks: a function underneath, nothing login needs)
# makes it wait, deterministically, on the server.
pg_session locker
test_expect_success 'statement timeout while blocked on a lock: CRITICAL, says so' '
	fault_rule pass &&
	pg_send locker "BEGIN; LOCK TABLE pg_catalog.pg_locks IN ACCESS EXCLUSIVE MODE; SELECT 1 AS locked;" &&
	pg_wait_output locker locked &&
	start=$(date +%s) && probe_bg lockto 2s && { wait $probe_pid; rc=$?; } &&
	critical_within lockto $rc $start 8 "statement_timeout (SQLSTATE 57014)"
'

test_expect_success 'the probe backend terminated while it waits: CRITICAL, connection lost' '
	probe_bg term 20s &&
	pg_wait_for "$LOCK_WAITERS" 1 &&
	start=$(date +%s) &&
	pg_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event_type = '"'Lock'"'" >/dev/null || { wait $probe_pid; exit 1; }
	wait $probe_pid; rc=$?
	critical_within term $rc $start 8 "connection lost\|terminat"
'

test_expect_success 'the server restarted (fast) mid-probe: CRITICAL, then the next probe is OK' '
	probe_bg restart 20s &&
	pg_wait_for "$LOCK_WAITERS" 1 &&
	start=$(date +%s) &&
	_pg_as_postgres "$PG_BIN/pg_ctl -D $PG_DIR -l $PG_DIR/server.log -m fast -w -t 30 restart" >/dev/null 2>&1 || { wait $probe_pid; exit 1; }
	wait $probe_pid; rc=$?
	critical_within restart $rc $start 35 "connection lost\|terminat\|shut" &&
	{ ops-pgprobe "$PROXY_DSN" >after.out 2>after.err; test $? -le 1; }
'
pg_kill_sessions

start_pgbouncer || { echo "Bail out! PgBouncer did not start"; exit 1; }
# PgBouncer 1.18 paused before its first server connection never wakes its waiting
# clients on RESUME: one probe first, as in production (a pool with idle servers).
ops-pgprobe "$PGB_APP_DSN" >/dev/null 2>&1

test_expect_success 'PgBouncer paused: the probe through it does not hang (CRITICAL within --timeout)' '
	psql -X -q -c "PAUSE app" "$PGB_ADMIN_DSN" >/dev/null 2>&1 &&
	test_cleanup_add "psql -X -q -c \"RESUME app\" \"$PGB_ADMIN_DSN\" >/dev/null 2>&1" &&
	start=$(date +%s) &&
	{ run_with_timeout 30 ops-pgprobe --format json -o paused.json --timeout 2s "$PGB_APP_DSN" 2>paused.err; rc=$?; } || { psql -X -q -c "RESUME app" "$PGB_ADMIN_DSN" >/dev/null 2>&1; exit 1; }
	psql -X -q -c "RESUME app" "$PGB_ADMIN_DSN" >/dev/null 2>&1
	critical_within paused $rc $start 8 "."
'

test_expect_success 'after RESUME the same probe is not critical' '
	ops-pgprobe "$PGB_APP_DSN" >resumed.out 2>resumed.err; test $? -le 1
'

test_done
