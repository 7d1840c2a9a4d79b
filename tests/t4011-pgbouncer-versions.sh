#!/bin/sh
# The PgBouncer side of the version matrix: 1.18 (Debian), 1.21 and 1.25
# (ci/install-peers.sh), whose SHOW columns differ. On each: a client waiting on a full
# pool, the pool's effective size, and a target DSN refused (08P01) because its database
# is disabled or at max_client_conn.
# On 1.25 the pool size comes from the user ([users] pool_size, 1.23+), and
# default_pool_size = 0 means unlimited (1.24+). The pools, databases and users tables
# show a size or limit that means none as "unlimited" (0 in JSON) and one that is not set
# as "-" (null in JSON). A version that is not installed is skipped with the reason (it
# fails in CI, OPSKIT_REQUIRE_PEERS=1).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }

# bouncer_scenario VERSION: a pool of 1 with one client served and one waiting.
bouncer_scenario() {
	v=$1
	PGB_VERSION=$v
	case $v in
	1.18|1.21) PGB_INI_USERS= pool=1 ;;
	*) PGB_INI_USERS="postgres = pool_size=1" pool=5 ;;   # the user's size wins
	esac
	start_pgbouncer $pool 4 || { test_expect_success "PgBouncer $v starts" false; return; }
	pg_session b1-$v "$PGB_APP_DSN application_name=b1"
	pg_send b1-$v "SELECT 'b1-ready';"
	pg_wait_output b1-$v b1-ready || say "PgBouncer $v: the first client did not get a server"
	pg_session b2-$v "$PGB_APP_DSN application_name=b2"
	pg_send b2-$v "SELECT 'b2-ready';"
	pgb_wait_for_waiting 1 || say "PgBouncer $v: the second client never waited a second"

	test_expect_success "PgBouncer $v: a waiting client, the pool full at its effective size" '
		ops-pgprobe --format json -c pgbouncer-maxwait=1h --pgbouncer "$PGB_ADMIN_DSN" >out-$v.json; test $? -eq 2 &&
		python3 - out-$v.json "$v" <<-\PY
		import json, sys
		d = json.load(open(sys.argv[1])); v = tuple(int(x) for x in sys.argv[2].split("."))
		c = {k["id"]: k for k in d["checks"]}
		assert all(k["status"] != "unknown" for k in d["checks"]), d["checks"]
		assert c["pgbouncer-waiting"]["status"] == "warning" and c["pgbouncer-waiting"]["message"].startswith("1 client waiting"), c
		s = c["pgbouncer-saturation"]
		assert s["status"] == "critical" and "pool app/postgres has 1 of 1 server connections busy (100%)" in s["message"], s
		b = d["pgbouncer"][0]
		p = [p for p in b["pools"] if p["database"] == "app"][0]
		assert p["pool_size"] == 1 and p["cl_waiting"] == 1 and p["sv_active"] == 1, p
		assert b["clients"].get("waiting") == 1 and b["max_client_conn"] == 4, b
		# 1.25 shows a client linked to no server (the probe on the admin console) as idle
		assert (b["clients"].get("idle", 0) >= 1) == (v >= (1, 25)), b["clients"]
		assert p["reserve_pool_size"] == 0, p
		assert [x["max_db_connections"] for x in b["databases"] if x["name"] == "app"] == [0], b["databases"]
		PY
	'
	test_expect_success "PgBouncer $v: text: max_db_connections 0 reads unlimited, the pool its size" '
		ops-pgprobe -c pgbouncer-maxwait=1h --pgbouncer "$PGB_ADMIN_DSN" >out-$v.txt; test $? -eq 2 &&
		test_grep "^  app  *postgres  *session  *1  *0  " out-$v.txt &&
		test_grep "^  app  *127\.0\.0\.1  *[0-9]*  *$pool  *0  *unlimited  " out-$v.txt
	'

	timeout -k 2 10 psql -X -q -c "DISABLE app" "$PGB_ADMIN_DSN"
	test_expect_success "PgBouncer $v: a target whose database is disabled (08P01) is classified" '
		run_with_timeout 10 ops-pgprobe --timeout 2s "$PGB_APP_DSN" >out; test $? -eq 2 &&
		test_grep "^CRITICAL  *connect .*PgBouncer refuses this database: it is disabled" out &&
		test_grep "hint: ENABLE it" out
	'
	timeout -k 2 10 psql -X -q -c "ENABLE app" "$PGB_ADMIN_DSN"

	# Two clients above; two more fill max_client_conn (4), and wait in the pool.
	pg_session b3-$v "$PGB_APP_DSN application_name=b3"
	pg_session b4-$v "$PGB_APP_DSN application_name=b4"
	pg_send b3-$v "SELECT 'b3-sent';"
	pg_send b4-$v "SELECT 'b4-sent';"
	test_expect_success "PgBouncer $v: a target refused at max_client_conn (08P01) is classified" '
		deadline=$(( $(date +%s) + 15 )) &&
		until ops-pgprobe --timeout 1s "$PGB_APP_DSN" >out; test $? -eq 2 && grep -q max_client_conn out; do
			test "$(date +%s)" -le $deadline || break; sleep 0.1
		done &&
		test_grep "^CRITICAL  *connect .*PgBouncer refuses new clients: max_client_conn is reached (SQLSTATE 08P01)" out &&
		test_grep "hint: raise max_client_conn" out
	'
	pg_kill_sessions
	stop_pgbouncer
}

pgb_each_version bouncer_scenario "core scenario"

# 1.24+: default_pool_size = 0 is an unlimited pool, never a saturated one. The tables
# show a size or limit of 0 that means none as "unlimited" (0 in JSON, as PgBouncer gives
# it) and one that is not set as "-" (null), in each of pools, databases and users.
if pgb_bin_for 1.25 >/dev/null; then
	PGB_VERSION=1.25
	PGB_INI_EXTRA=$(printf '%s\n' "[databases]" "capped = host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres pool_size=3 max_db_connections=5")
	PGB_INI_USERS=$(printf '%s\n' "postgres = max_user_connections=4" "app = pool_size=0")
	start_pgbouncer 0 10 || { echo "Bail out! PgBouncer 1.25 did not start"; exit 1; }
	pg_session u1 "$PGB_APP_DSN application_name=u1"
	pg_send u1 "SELECT 'u1-ready';"
	pg_wait_output u1 u1-ready || say "PgBouncer 1.25: the client did not get a server"
	test_expect_success 'PgBouncer 1.25: default_pool_size 0 is unlimited, not 0 of 0' '
		ops-pgprobe --format json --pgbouncer "$PGB_ADMIN_DSN" >out.json &&
		python3 - out.json <<-\PY
		import json, sys
		d = json.load(open(sys.argv[1]))
		s = [k for k in d["checks"] if k["id"] == "pgbouncer-saturation"][0]
		assert s["status"] == "ok" and "unlimited pool size" in s["message"], s
		p = [p for p in d["pgbouncer"][0]["pools"] if p["database"] == "app"][0]
		assert p["pool_size"] == 0 and p["sv_active"] == 1, p
		PY
	'
	test_expect_success 'PgBouncer 1.25: unlimited and not set read alike in pools, databases and users (text)' '
		ops-pgprobe --pgbouncer "$PGB_ADMIN_DSN" >tables.txt &&
		test_grep "^  app  *postgres  *session  *unlimited  *0  " tables.txt &&
		test_grep "^  app  *127\.0\.0\.1  *[0-9]*  *unlimited  *0  *unlimited  *1  " tables.txt &&
		test_grep "^  capped  *127\.0\.0\.1  *[0-9]*  *3  *0  *5  *0  " tables.txt &&
		test_grep "^users with their own settings (-: not set" tables.txt &&
		test_grep "^  postgres  *unlimited  *-  *4  *1$" tables.txt &&
		test_grep "^  app  *unlimited  *-  *unlimited  *0$" tables.txt &&
		test_grep_not "[ (]-1[ )]" tables.txt
	'
	test_expect_success 'PgBouncer 1.25: unlimited is 0 (as PgBouncer gives it), not set is null (JSON)' '
		ops-pgprobe --format json --pgbouncer "$PGB_ADMIN_DSN" >tables.json &&
		python3 - tables.json <<-\PY
		import json, sys
		b = json.load(open(sys.argv[1]))["pgbouncer"][0]
		p = {x["database"]: x for x in b["pools"]}
		assert (p["app"]["pool_size"], p["app"]["reserve_pool_size"]) == (0, 0), p
		db = {x["name"]: x for x in b["databases"]}
		assert (db["app"]["pool_size"], db["app"]["max_db_connections"]) == (0, 0), db
		assert (db["capped"]["pool_size"], db["capped"]["max_db_connections"]) == (3, 5), db
		u = {x["name"]: x for x in b["users"]}
		assert (u["postgres"]["reserve_pool_size"], u["postgres"]["max_user_connections"]) == (None, 4), u
		assert (u["app"]["pool_size"], u["app"]["max_user_connections"]) == (0, 0), u
		assert not [x for t in (b["pools"], b["databases"], b["users"]) for x in t for v in x.values() if v == -1], b
		PY
	'
	pg_kill_sessions
else
	test_skip 'PgBouncer 1.25: default_pool_size 0 is unlimited' "PgBouncer 1.25 is not installed"
fi

test_done
