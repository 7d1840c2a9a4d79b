#!/bin/sh
# The version matrix: the core scenario on every PostgreSQL that is installed (12, 13,
# 14, 16, 17, 18 from ci/install-peers.sh, 15 from Debian): sessions idle in a
# transaction, a lock wait and its blocker, a REPEATABLE READ snapshot (oldest-xmin), a
# prepared transaction, --exclude-application, a role at its connection limit
# (rolconnlimit, refused and judged), a database at its limit (datconnlimit), only reserved
# slots left, and a full server.
# A version that is not installed is skipped with the reason, except in CI
# (OPSKIT_REQUIRE_PEERS=1, set by ci/ci.sh after ci/install-peers.sh), where it fails.
# Under SANITIZE=1 only the oldest and the newest installed versions run.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

versions=${PG_VERSIONS:-"12 13 14 15 16 17 18"}
installed=
for v in $versions; do
	if pg_bin_for "$v" >/dev/null; then installed="$installed $v"; fi
done
if [ "${SANITIZE:-}" = 1 ] && [ -z "${PG_VERSIONS:-}" ]; then
	set -- $installed
	first=${1:-} last=
	for v in $installed; do last=$v; done
	installed=$(printf '%s\n' "$first" "$last" | sort -u | tr '\n' ' ')
fi

# core_scenario MAJOR: one server of that version, every step a test.
core_scenario() {
	v=$1
	PG_VERSION=$v
	# 8 slots, 2 reserved for superusers: 6 for ordinary roles; from 16, 1 of them for
	# roles with pg_use_reserved_connections (reserved_connections).
	reserved=0 PG_OPTIONS=
	if [ "$v" -ge 16 ]; then reserved=1 PG_OPTIONS="-c reserved_connections=1"; fi
	start_postgres 8 2 || { test_expect_success "PostgreSQL $v starts" false; return; }
	pg_sql "CREATE ROLE lim LOGIN CONNECTION LIMIT 1; ALTER DATABASE template1 CONNECTION LIMIT 0" >/dev/null

	pg_session idler "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=idler"
	pg_send idler "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;"
	pg_session holder "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=holder"
	pg_send holder "BEGIN; UPDATE t SET v = 'held' WHERE id = 1;"
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 2 ||
		say "PostgreSQL $v: the sessions never went idle in a transaction"
	pg_session waiter "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=waiter"
	pg_send waiter "UPDATE t SET v = 'waited' WHERE id = 1;"
	pg_wait_for "SELECT count(*) FROM pg_locks WHERE NOT granted" 1 || say "PostgreSQL $v: no lock wait"
	holder=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'holder'")
	pg_sql "CREATE TABLE p(id int)" >/dev/null
	pg_sql "BEGIN; INSERT INTO p VALUES (1); PREPARE TRANSACTION 'core-$v'" >/dev/null ||
		say "PostgreSQL $v: no prepared transaction"
	pg_wait_clients 3 || say "PostgreSQL $v: other clients than idler, holder and waiter"

	test_expect_success "PostgreSQL $v: idle in transaction and a lock wait with its blocker" '
		ops-pgprobe --format json -w idle-in-transaction=1ms --idle-tx-age 0 -w oldest-xmin=1 "$PG_DSN" >out-$v.json; test $? -eq 1 &&
		python3 - out-$v.json "$v" "$holder" "$reserved" <<-\PY
		import json, sys
		d = json.load(open(sys.argv[1])); v = sys.argv[2]; holder = int(sys.argv[3]); res = int(sys.argv[4])
		s = d["server"]
		assert s["version_num"] // 10000 == int(v), s
		assert s["max_connections"] == 8 and s["usable"] == 6 - res and s["reserved"] == 2 + res, s
		assert s["may_use_reserved"] is (True if int(v) >= 16 else None), s
		assert d["connections"]["total"] == 4 and d["connections"]["hidden"] == 0, d["connections"]
		c = {k["id"]: k for k in d["checks"]}
		assert all(k["status"] != "unknown" for k in d["checks"]), [k for k in d["checks"] if k["status"] == "unknown"]
		assert c["idle-in-transaction"]["status"] == "warning", c["idle-in-transaction"]
		assert c["idle-in-transaction-count"]["metrics"][0]["value"] == 2, c["idle-in-transaction-count"]
		lw = c["lock-waits"]
		assert lw["status"] == "warning" and "blocked by pid %d" % holder in lw["message"], lw
		w = [x for x in d["sessions"] if x["kind"] == "waiting"]
		assert len(w) == 1 and w[0]["blocked_by"] == [holder] and w[0]["application"] == "waiter", d["sessions"]
		# pg_locks.waitstart is 14+: the real wait there, null before
		assert (w[0]["wait_seconds"] is None) == (int(v) < 14), w
		assert w[0]["lock_mode"] == "ShareLock" and w[0]["lock_type"] == "transactionid", w
		assert any(x["pid"] == holder and x["kind"] == "blocking" for x in d["sessions"]), d["sessions"]
		m = {m["name"]: m["value"] for k in d["checks"] for m in k["metrics"]}
		assert c["oldest-xmin"]["status"] == "warning" and m["oldest_xmin_age"] >= 1, c["oldest-xmin"]
		assert "oldest backend xmin is" in c["oldest-xmin"]["message"], c["oldest-xmin"]
		pt = c["prepared-transactions"]
		assert pt["status"] == "ok" and m["prepared_transactions"] == 1 and "gid \"core-%s\"" % v in pt["message"], pt
		PY
	'

	if [ $reserved = 1 ]; then
		test_expect_success "PostgreSQL $v: a role without pg_use_reserved_connections is told what to GRANT" '
			ops-pgprobe -w connections=1 "$PG_APP_DSN" >out; test $? -eq 1 &&
			test_grep "^WARNING  *connections " out &&
			test_grep "GRANT pg_use_reserved_connections TO app so that the probe still gets in" out
		'
	fi

	pg_session lim "host=127.0.0.1 port=$PG_PORT user=lim dbname=postgres"
	pg_send lim "SELECT 'lim-ready';"
	pg_wait_output lim lim-ready || say "PostgreSQL $v: role lim did not get in"

	test_expect_success "PostgreSQL $v: role and database limits judged; --exclude-application" '
		ops-pgprobe --format json --idle-tx-age 0 --exclude-application idler "$PG_DSN" >lim-$v.json; test $? -eq 2 &&
		python3 - lim-$v.json <<-\PY
		import json, sys
		d = json.load(open(sys.argv[1]))
		c = {k["id"]: k for k in d["checks"]}
		r = c["role-connection-limit"]
		assert r["status"] == "critical" and r["message"] == "role lim uses 1 of its 1 connections", r
		assert "ALTER ROLE lim CONNECTION LIMIT" in r["hint"], r
		assert c["database-connection-limit"]["status"] == "ok", c["database-connection-limit"]
		l = d["connection_limits"]
		assert {"name": "template1", "used": 0, "limit": 0} in l["databases"], l
		assert c["idle-in-transaction-count"]["metrics"][0]["value"] == 1 and d["excluded_sessions"] == 1, c
		PY
	'

	test_expect_success "PostgreSQL $v: a role at its connection limit (rolconnlimit)" '
		ops-pgprobe "host=127.0.0.1 port=$PG_PORT user=lim dbname=postgres" >out; test $? -eq 2 &&
		test_grep "^CRITICAL  *connect .*role lim is at its connection limit (SQLSTATE 53300, rolconnlimit)" out &&
		test_grep "ALTER ROLE lim CONNECTION LIMIT" out
	'

	test_expect_success "PostgreSQL $v: a database at its connection limit (datconnlimit)" '
		ops-pgprobe "host=127.0.0.1 port=$PG_PORT user=app dbname=template1" >out; test $? -eq 2 &&
		test_grep "^CRITICAL  *connect .*database template1 is at its connection limit (SQLSTATE 53300, datconnlimit)" out &&
		test_grep "ALTER DATABASE template1 CONNECTION LIMIT" out
	'

	# 4 client connections so far; role app fills the ordinary slots that are left, then
	# superusers every slot. The refused probes above leave a moment after their refusal:
	# a session that finds its slot still taken tries again (pg_session_in), so that the
	# server is exactly as full as each test says.
	for i in $(seq 1 $((2 - reserved))); do
		pg_session_in app$i "host=$PG_DIR port=$PG_PORT user=app dbname=postgres" ||
			say "PostgreSQL $v: app session $i did not start"
	done

	test_expect_success "PostgreSQL $v: only reserved slots left" '
		ops-pgprobe "$PG_APP_DSN" >out; test $? -eq 2 &&
		test_grep "^CRITICAL  *connect .*only reserved connection slots are left (SQLSTATE 53300)" out &&
		if [ $reserved = 1 ]; then test_grep "GRANT pg_use_reserved_connections TO" out; fi
	'

	for i in $(seq 1 $((2 + reserved))); do
		pg_session_in su$i || say "PostgreSQL $v: superuser session $i did not start"
	done

	test_expect_success "PostgreSQL $v: a full server (53300, every slot taken)" '
		run_with_timeout 15 ops-pgprobe --timeout 8s "$PG_DSN" >out; test $? -eq 2 &&
		test_grep "^CRITICAL  *connect .*too many clients (SQLSTATE 53300): every max_connections slot is taken" out
	'
	stop_postgres
}

for v in $versions; do
	case " $installed " in
	*" $v "*) core_scenario "$v" ;;
	*)
		if pg_bin_for "$v" >/dev/null; then
			test_skip "PostgreSQL $v: core scenario" "only the oldest and newest versions run under SANITIZE=1"
		elif [ "${OPSKIT_REQUIRE_PEERS:-}" = 1 ]; then
			test_expect_success "PostgreSQL $v: core scenario (OPSKIT_REQUIRE_PEERS=1, not in $OPSKIT_PEERS)" false
		else
			test_skip "PostgreSQL $v: core scenario" "PostgreSQL $v is not installed (ci/install-peers.sh puts it in $OPSKIT_PEERS)"
		fi
		;;
	esac
done

test_done
