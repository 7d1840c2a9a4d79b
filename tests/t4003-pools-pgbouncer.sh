#!/bin/sh
# Pool sizing (flags, config, an env file) against the server's real max_connections,
# PgBouncer's admin console with clients waiting, and several targets in parallel.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3 pgbouncer

start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_pgbouncer 1 10 || { echo "Bail out! PgBouncer did not start"; exit 1; }

# ---- pool sizing: 17 usable slots (20 - 3 reserved) ----

test_expect_success 'pools that fit: OK, and by how much' '
	ops-pgprobe --pool web=2x5+1 --pool worker=1x3 "$PG_DSN" >out &&
	test_grep "^OK  *pool-sizing .*pools can open 15 connections (web 2 x (5 + 1) = 12, worker 1 x (3 + 0) = 3) + 3 reserved = 18 <= max_connections 20: fits with 2 to spare" out
'

test_expect_success 'pools that fit with less than 10% to spare: WARNING' '
	ops-pgprobe --pool web=4x4 "$PG_DSN" >out; test $? -eq 1 &&
	test_grep "^WARNING  *pool-sizing .*= 19 <= max_connections 20: fits with 1 to spare" out
'

test_expect_success 'pools that overflow: CRITICAL, and by how much' '
	ops-pgprobe --pool web=4x5+2 "$PG_DSN" >out; test $? -eq 2 &&
	test_grep "^CRITICAL  *pool-sizing .*pools can open 28 connections .* + 3 reserved = 31 > max_connections 20: overflows by 11" out &&
	test_grep "hint: pool sizes are per process" out
'

test_expect_success 'pool sizing from the config, in json' '
	cat >pools.yaml <<-EOF &&
	postgres:
	  targets:
	    main:
	      dsn: "$PG_DSN"
	  pools:
	    web:
	      workers: 3
	      pool_min: 2
	      pool_max: 4
	      overflow: 2
	    jobs:
	      workers: 1
	      pool_max: 2
	      target: main
	EOF
	{ ops-pgprobe --config pools.yaml --format json >out.json; test $? -eq 2; } &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	c = [c for c in d["checks"] if c["id"] == "pool-sizing"][0]
	assert c["status"] == "critical" and "overflows by 3" in c["message"], c
	m = {x["name"]: x["value"] for x in c["metrics"]}
	assert m["pool_connections_needed"] == 20 and m["pool_connections_spare"] == -3, m
	pools = {p["name"]: p for p in d["pools"]}
	assert pools["web"]["peak"] == 18 and pools["web"]["pool_min"] == 2 and pools["jobs"]["target"] == "main", pools
	PY
'

test_expect_success 'pool sizing from the application env file (the env file wins)' '
	printf "WEB_CONCURRENCY=2\nDB_POOL_MAX=3\nDATABASE_PASSWORD=Sup3rSecretValue\nJOBS_POOL=1\n" >app.env &&
	cat >env.yaml <<-EOF &&
	postgres:
	  pools:
	    web:
	      workers: 50
	      pool_max: 50
	      env_file: app.env
	    jobs:
	      env_file: app.env
	      env_dialect: python
	      env_keys:
	        workers: JOBS_POOL
	        pool_max: JOBS_POOL
	        pool_min: JOBS_POOL
	        overflow: JOBS_POOL
	EOF
	ops-pgprobe --config env.yaml "$PG_DSN" >out &&
	test_grep "^OK  *pool-sizing .*web 2 x (3 + 0) = 6, jobs 1 x (1 + 1) = 2" out &&
	test_grep_not Sup3rSecretValue out
'

test_expect_success 'a bad number in the env file is located, value not shown, exit 3' '
	printf "WEB_CONCURRENCY=lots\n" >bad.env &&
	printf "postgres:\n  pools:\n    web:\n      pool_max: 2\n      env_file: bad.env\n" >bad.yaml &&
	{ ops-pgprobe --config bad.yaml "$PG_DSN" >out 2>err; test $? -eq 3; } &&
	test_grep "bad.env:1: WEB_CONCURRENCY is not a whole number" err && test_grep_not lots err
'

# ---- PgBouncer: pool_size 1, two clients of database app ----

pg_session b1 "$PGB_APP_DSN application_name=b1"
pg_send b1 "SELECT 'b1-ready';"
pg_wait_output b1 b1-ready || say "first PgBouncer client did not get a server"
pg_session b2 "$PGB_APP_DSN application_name=b2"
pg_send b2 "SELECT 'b2-ready';"
pgb_wait_for_waiting 1 || say "the second PgBouncer client never waited a second"

test_expect_success 'PgBouncer: a client waiting is reported with the pool saturated' '
	ops-pgprobe -c pgbouncer-maxwait=1h --pgbouncer "$PGB_ADMIN_DSN" >out; test $? -eq 2 &&
	test_grep "^WARNING  *pgbouncer-waiting .*1 client waiting for a server connection" out &&
	test_grep "^CRITICAL  *pgbouncer-saturation .*pool app/postgres has 1 of 1 server connections busy (100%)" out &&
	test_grep "^WARNING  *pgbouncer-maxwait .*oldest waiting client has waited [1-9][0-9.]*s in pool app" out &&
	test_grep "^OK  *pgbouncer-clients .* of max_client_conn 10 client connections" out &&
	test_grep "^pools:" out &&
	! awk "prev == \"\" && \$0 == \"\" && NR > 1 { bad = 1 } { prev = \$0 } END { exit !bad }" out
'

test_expect_success 'PgBouncer json: pools, clients and servers summary, config' '
	ops-pgprobe --format json --pgbouncer "$PGB_ADMIN_DSN" >out.json; test $? -eq 2 &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	b = d["pgbouncer"][0]
	assert b["max_client_conn"] == 10 and b["default_pool_size"] == 1, b
	p = [p for p in b["pools"] if p["database"] == "app"][0]
	assert p["cl_waiting"] == 1 and p["sv_active"] == 1 and p["pool_size"] == 1, p
	assert b["clients"].get("waiting") == 1, b["clients"]
	assert "server" not in d, "no PostgreSQL target was asked for"
	PY
'

test_expect_success 'PgBouncer and PostgreSQL in one run' '
	ops-pgprobe -w pgbouncer-waiting=5 -c pgbouncer-waiting=9 -c pgbouncer-saturation=101% \
		-w pgbouncer-saturation=101% -w pgbouncer-maxwait=1h -c pgbouncer-maxwait=1h \
		--pgbouncer "$PGB_ADMIN_DSN" "$PG_DSN" >out &&
	test_grep "^OK  *pgbouncer-waiting" out && test_grep "^OK  *connections" out
'

test_expect_success 'PgBouncer admin refused: a clear CRITICAL' '
	ops-pgprobe --pgbouncer "host=127.0.0.1 port=$PGB_PORT user=app dbname=pgbouncer" >out; test $? -eq 2 &&
	test_grep "^CRITICAL  *pgbouncer-connect " out &&
	test_grep "^pgbouncer 127.0.0.1:$PGB_PORT/pgbouncer: not probed" out &&
	{ ops-pgprobe --format json --pgbouncer "host=127.0.0.1 port=$PGB_PORT user=app dbname=pgbouncer" >out.json; test $? -eq 2; } &&
	python3 -c "import json; b = json.load(open(\"out.json\"))[\"pgbouncer\"][0]; assert sorted(b) == [\"error\", \"name\"] and b[\"error\"], b"
'

pg_kill_sessions  # PgBouncer keeps its server connection: no wait for zero

# ---- several targets ----

test_expect_success 'several targets in parallel: one failure does not hide the others' '
	port=$(free_port) &&
	cat >multi.yaml <<-EOF &&
	postgres:
	  targets:
	    primary:
	      dsn: "$PG_DSN"
	    reporting:
	      dsn: "postgresql://app@127.0.0.1:$PG_PORT/postgres"
	    gone:
	      dsn: "host=127.0.0.1 port=$port connect_timeout=2"
	EOF
	{ ops-pgprobe --config multi.yaml --format json >out.json; test $? -eq 2; } &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	names = [t["name"] for t in d["targets"]]
	assert names == ["primary", "reporting", "gone"], names
	assert d["targets"][0]["server"]["max_connections"] == 20
	assert "connection refused" in d["targets"][2]["error"], d["targets"][2]
	st = {(c["id"], c["subject"]): c["status"] for c in d["checks"]}
	assert st[("connect", "primary")] == "ok" and st[("connect", "reporting")] == "ok", st
	assert st[("connect", "gone")] == "critical", st
	PY
'

test_expect_success 'a target named on the command line picks it from the config' '
	# (exit 1 is fine: role app may get a visibility WARNING for the PgBouncer connection)
	ops-pgprobe --config multi.yaml reporting >out; test $? -le 1 &&
	test_grep "^OK  *connections  *reporting " out && test_grep_not primary out
'

test_expect_success 'every check id with thresholds: -w and -c take effect on its metric' '
	python3 - "$PG_DSN" "$PGB_ADMIN_DSN" <<-\PY
	import json, subprocess, sys
	# id: (metric, -w, -c, the levels the metric must show); percentages of the 17 usable
	# slots (of 100 for saturation, of max_client_conn 10 for pgbouncer-clients)
	ids = {
	    "connect": ("connect_seconds", "1100ms", "3s", (1.1, 3)),
	    "query": ("query_seconds", "1200ms", "4s", (1.2, 4)),
	    "connections": ("connections", "11", "100%", (11, 17)),
	    "application-share": ("application_connections", "12", "13", (12, 13)),
	    "idle-in-transaction": ("idle_in_transaction_seconds", "90s", "2h", (90, 7200)),
	    "idle-in-transaction-count": ("idle_in_transaction", "14", "15", (14, 15)),
	    "long-queries": ("long_queries_seconds", "16s", "17s", (16, 17)),
	    "lock-waits": ("lock_waits", "2", "3", (2, 3)),
	    "oldest-transaction": ("oldest_transaction_seconds", "18m", "19m", (1080, 1140)),
	    "idle-connections": ("idle_connections", "4", "6", (4, 6)),
	    "pgbouncer-waiting": ("pgbouncer_clients_waiting", "21", "22", (21, 22)),
	    "pgbouncer-maxwait": ("pgbouncer_maxwait_seconds", "23s", "24s", (23, 24)),
	    "pgbouncer-saturation": ("pgbouncer_pool_used_percent", "25%", "26%", (25, 26)),
	    "pgbouncer-clients": ("pgbouncer_clients", "30%", "8", (3, 8)),
	}
	args = ["ops-pgprobe", "--format", "json", "--pgbouncer", sys.argv[2]]
	for i, (m, w, c, _) in ids.items():
	    args += ["-w", "%s=%s" % (i, w), "-c", "%s=%s" % (i, c)]
	p = subprocess.run(args + [sys.argv[1]], capture_output=True, text=True, timeout=60)
	assert p.returncode <= 2 and not p.stderr, (p.returncode, p.stderr)
	d = json.loads(p.stdout)
	got = {m["name"]: (m.get("warn"), m.get("crit")) for c in d["checks"] for m in c["metrics"]}
	for i, (m, w, c, want) in ids.items():
	    assert got[m] == want, (i, got[m], want)
	PY
'

test_done
