#!/bin/sh
# PgBouncer's refusals (SQLSTATE 08P01) of a target DSN, each provoked for real on 1.18
# (Debian), 1.21 and 1.25 (ci/install-peers.sh), and classified with its hint:
# query_wait_timeout (a pool of 1 held by a long transaction), "server login has been
# failing" (the pool's role can no longer log in: on 1.25 the first client gets the
# server's error, before that it waits in the pool until query_wait_timeout; the next
# gets PgBouncer's cached refusal), max_db_client_connections (1.25; older
# versions have no such setting), and a paused database (PAUSE): bounded by --timeout
# and named, or ended by query_wait_timeout.
# max_client_conn and a disabled database are in t4011. A version that is not installed
# is skipped with the reason (it fails in CI, OPSKIT_REQUIRE_PEERS=1).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }
pg_sql "CREATE ROLE gate LOGIN" >/dev/null

# admin SQL: one command on PgBouncer's admin console (PAUSE waits for the pool's
# servers to be released, so it has a bound too).
admin() { timeout -k 2 10 psql -X -q -At -c "$1" "$PGB_ADMIN_DSN"; }

# start_refusing_bouncer VERSION: pool app of 1 with query_wait_timeout 1 s; pool gate
# logs in as role gate; pool fresh is never used before it is paused; on 1.25, pool
# capped takes one client (max_db_client_connections).
start_refusing_bouncer() {
	PGB_VERSION=$1 PGB_INI_USERS= PGB_INI_EXTRA="query_wait_timeout = 1"
	start_pgbouncer 1 20 || return 1
	_dbs="gate = host=127.0.0.1 port=$PG_PORT dbname=postgres user=gate
fresh = host=127.0.0.1 port=$PG_PORT dbname=postgres"
	if [ "$1" = 1.25 ]; then
		_dbs="$_dbs
capped = host=127.0.0.1 port=$PG_PORT dbname=postgres max_db_client_connections=1"
	fi
	printf '%s\n' "$_dbs" >"$TRASH/extra-dbs"
	sed -i "/^\[databases\]/r $TRASH/extra-dbs" "$PGB_DIR/pgbouncer.ini"
	printf '"gate" ""\n' >>"$PGB_DIR/userlist.txt"
	admin "RELOAD" >/dev/null
}

# probe_through NAME DB [ARGS...]: the probe on database DB through PgBouncer -> NAME
# (bounded whatever PgBouncer does; exit 2 wanted).
probe_through() {
	_n=$1 _db=$2; shift 2
	run_with_timeout 15 ops-pgprobe "$@" "host=127.0.0.1 port=$PGB_PORT user=postgres dbname=$_db" >"$_n"
	_rc=$?
	test $_rc -eq 2 || { echo "ops-pgprobe exited $_rc, wanted 2"; cat "$_n"; return 1; }
}

refusal_scenario() {
	v=$1
	start_refusing_bouncer "$v" || { test_expect_success "PgBouncer $v starts" false; return; }

	pg_session hold-$v "$PGB_APP_DSN application_name=hold"
	pg_send hold-$v "BEGIN; SELECT 'hold-ready';"
	pg_wait_output hold-$v hold-ready || say "PgBouncer $v: the holder did not get the server"
	test_expect_success "PgBouncer $v: query_wait_timeout (a pool of 1 held by a transaction)" '
		probe_through qwt-$v app --timeout 8s &&
		test_grep "^CRITICAL  *query .*PgBouncer gave up waiting for a server connection (query_wait_timeout, SQLSTATE 08P01): query_wait_timeout$" qwt-$v &&
		test_grep "hint: the pool is full, the database paused (PAUSE) or the server unreachable" qwt-$v &&
		test_grep_not "server closed the connection" qwt-$v
	'
	pg_kill_sessions

	# The pool has logged in once (PgBouncer keeps the server's welcome); then the role
	# loses LOGIN and its server connection goes.
	pg_session gate-$v "host=127.0.0.1 port=$PGB_PORT user=gate dbname=gate"
	pg_send gate-$v "SELECT 'gate-ready';"
	pg_wait_output gate-$v gate-ready || say "PgBouncer $v: pool gate did not log in"
	pg_kill_sessions
	pg_sql "ALTER ROLE gate NOLOGIN" >/dev/null
	pg_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'gate'" >/dev/null
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE usename = 'gate'" 0 || say "gate's server stayed"
	test_expect_success "PgBouncer $v: server login failing: the server's error, then server_login_retry" '
		probe_through login1-$v gate --timeout 8s &&
		if [ "$v" = 1.25 ]; then
			test_grep "^CRITICAL  *query .*PgBouncer'"'"'s login to the server failed for this client: the role may not log in (SQLSTATE 28000, NOLOGIN): role \"gate\" is not permitted to log in$" login1-$v &&
			test_grep "hint: check the role, password and database PgBouncer logs in with" login1-$v
		else
			test_grep "^CRITICAL  *query .*(query_wait_timeout, SQLSTATE 08P01)" login1-$v
		fi &&
		probe_through login2-$v gate --timeout 8s &&
		test_grep "^CRITICAL  *[a-z]*  .*PgBouncer cannot log in to the server and refuses clients meanwhile (server_login_retry, SQLSTATE 08P01): server login has been failing" login2-$v &&
		test_grep "hint: the cached error says why" login2-$v
	'
	pg_sql "ALTER ROLE gate LOGIN" >/dev/null

	if [ "$v" = 1.25 ]; then
		pg_session cap-$v "host=127.0.0.1 port=$PGB_PORT user=postgres dbname=capped"
		pg_send cap-$v "SELECT 'cap-ready';"
		pg_wait_output cap-$v cap-ready || say "PgBouncer $v: pool capped did not serve its client"
		test_expect_success "PgBouncer $v: max_db_client_connections reached" '
			probe_through cap-$v capped --timeout 8s &&
			test_grep "^CRITICAL  *connect .*PgBouncer refuses new clients of this database: max_db_client_connections is reached (SQLSTATE 08P01)" cap-$v &&
			test_grep "hint: raise max_db_client_connections for this database" cap-$v
		'
		pg_kill_sessions
	else
		test_skip "PgBouncer $v: max_db_client_connections reached" "max_db_client_connections is new in PgBouncer 1.25"
	fi

	# PAUSE returns once the pool's server is released (the holder is gone).
	admin "PAUSE app" >/dev/null || say "PgBouncer $v: PAUSE app did not return"
	test_expect_success "PgBouncer $v: a paused database ends in query_wait_timeout" '
		probe_through paused1-$v app --timeout 8s &&
		test_grep "^CRITICAL  *query .*(query_wait_timeout, SQLSTATE 08P01)" paused1-$v &&
		test_grep "hint: .*the database paused (PAUSE)" paused1-$v
	'
	admin "SET query_wait_timeout = 0" >/dev/null
	test_expect_success "PgBouncer $v: a paused database without query_wait_timeout: bounded by --timeout, the pause named" '
		start=$(date +%s) &&
		probe_through paused2-$v app --timeout 2s --pgbouncer "$PGB_ADMIN_DSN" &&
		test $(( $(date +%s) - start )) -le 6 &&
		test_grep "^CRITICAL  *query .*the probe query got no answer within [0-9.]*s (--timeout)" paused2-$v &&
		test_grep "hint: .*through PgBouncer, the database may be paused (PAUSE)" paused2-$v &&
		test_grep "^WARNING  *pgbouncer-databases .*paused (PAUSE): app" paused2-$v
	'
	admin "RESUME app" >/dev/null

	# A pool with no server connection yet: PgBouncer holds the login itself.
	admin "PAUSE fresh" >/dev/null || say "PgBouncer $v: PAUSE fresh did not return"
	test_expect_success "PgBouncer $v: a paused database never connected: the login bounded by --timeout, the pause named" '
		start=$(date +%s) &&
		probe_through paused3-$v fresh --timeout 2s &&
		test $(( $(date +%s) - start )) -le 6 &&
		test_grep "^CRITICAL  *connect .*no answer within [0-9.]*s (--timeout): .*a PgBouncer holds the login while the database is paused" paused3-$v &&
		test_grep "hint: .*through PgBouncer, see SHOW DATABASES (paused)" paused3-$v
	'
	admin "RESUME fresh" >/dev/null
	pg_kill_sessions
	stop_pgbouncer
}

pgb_each_version refusal_scenario "refusals"

test_done
