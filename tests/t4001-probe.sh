#!/bin/sh
# ops-pgprobe against a real PostgreSQL: the one-query picture, sessions idle in a
# transaction, a lock wait with its blocker, the output formats, query text hiding.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }

test_expect_success 'a quiet server is OK, exit 0' '
	ops-pgprobe "$PG_DSN" >out &&
	test_grep "^OK  *connections .* of 17 usable connections" out &&
	test_grep "PostgreSQL 15" out &&
	test_grep "ops-pgprobe: OK" out
'

test_expect_success 'json: server block with max_connections, reserved, usable' '
	ops-pgprobe --format json "$PG_DSN" >out.json &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	s = d["server"]
	assert s["max_connections"] == 20 and s["reserved"] == 3 and s["usable"] == 17, s
	assert s["version"].startswith("15"), s
	c = d["connections"]
	assert c["total"] >= 1 and c["by_state"]["active"] >= 1, c
	assert any(a["application"] == "ops-pgprobe" for a in c["by_application"]), c
	assert "walwriter" in c["background"], c
	assert d["sessions"] == [], d["sessions"]
	ids = [k["id"] for k in d["checks"]]
	for want in ("connect", "query", "connections", "application-share", "idle-in-transaction",
	             "idle-in-transaction-count", "long-queries", "lock-waits", "oldest-transaction",
	             "idle-connections"):
	    assert want in ids, (want, ids)
	PY
'

# Sessions for the rest: one holds a row lock idle in transaction, one waits for it,
# one more sits idle in a transaction with a secret in its query text.
pg_session holder
pg_send holder "SET application_name = 'billing'; BEGIN; SELECT * FROM t WHERE id = 1 FOR UPDATE;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'billing' AND state = 'idle in transaction'" 1 ||
	say "the lock holder did not start"
pg_session waiter "host=$PG_DIR port=$PG_PORT user=app dbname=postgres application_name=web"
pg_send waiter "UPDATE t SET v = 'two' WHERE id = 1;"
pg_session idler
pg_send idler "SET application_name = 'reports'; BEGIN; SELECT 'hunter2-not-shown' AS tag;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'" 1 &&
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 2 || say "sessions did not settle"
sleep 1.2

test_expect_code 1 'idle in transaction past -w is WARNING (exit 1)' '
	ops-pgprobe -w idle-in-transaction=1s -w lock-waits=5 "$PG_DSN"
'

test_expect_code 2 'idle in transaction past -c is CRITICAL (exit 2)' '
	ops-pgprobe -c idle-in-transaction=1s "$PG_DSN"
'

test_expect_success 'idle in transaction: count, oldest age and who' '
	ops-pgprobe -w idle-in-transaction=1s --session-age 1s "$PG_DSN" >out; test $? -eq 1 &&
	test_grep "^WARNING  *idle-in-transaction .*oldest session idle in transaction for [0-9.]*s (pid [0-9]*, user postgres, application \"billing\")" out &&
	test_grep "idle-in-transaction-count .* 2 sessions idle in transaction" out
'

test_expect_success 'a lock wait is found with its blocker' '
	holder=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = '"'billing'"'") &&
	ops-pgprobe "$PG_DSN" >out; test $? -eq 1 &&
	test_grep "^WARNING  *lock-waits .*1 session waits on locks.*application \"web\".*blocked by pid $holder" out
'

test_expect_success 'json sessions: waiting with blocked_by, blocking, idle in transaction' '
	holder=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = '"'billing'"'") &&
	ops-pgprobe --format json --session-age 1s "$PG_DSN" >out.json; test $? -eq 1 &&
	python3 - out.json "$holder" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1])); holder = int(sys.argv[2])
	by_kind = {s["kind"]: s for s in d["sessions"]}
	w = by_kind["waiting"]
	assert w["blocked_by"] == [holder] and w["application"] == "web" and w["user"] == "app", w
	assert w["state"] == "active" and w["query"].startswith("UPDATE t SET"), w
	b = by_kind["blocking"]
	assert b["pid"] == holder and b["state"] == "idle in transaction" and b["age_seconds"] >= 1, b
	i = by_kind["idle in transaction"]
	assert i["application"] == "reports" and "hunter2" in i["query"], i
	assert d["connections"]["by_state"]["idle in transaction"] == 2, d["connections"]
	apps = {a["application"]: a for a in d["connections"]["by_application"]}
	assert apps["web"]["waiting"] == 1 and apps["billing"]["idle_in_transaction"] == 1, apps
	PY
'

test_expect_success '--no-query-text hides every query text' '
	ops-pgprobe --no-query-text --format json --session-age 1s "$PG_DSN" >out.json; test $? -eq 1 &&
	test_grep_not hunter2 out.json && test_grep_not "UPDATE t" out.json &&
	test_grep "\"query\": null" out.json &&
	ops-pgprobe --no-query-text --session-age 1s "$PG_DSN" >out.txt; test $? -eq 1 &&
	test_grep_not hunter2 out.txt
'

test_expect_success '--query-length truncates query text' '
	ops-pgprobe --query-length 6 --format json --session-age 1s "$PG_DSN" >out.json; test $? -eq 1 &&
	test_grep "\"query\": \"UPDATE\"" out.json
'

test_expect_success 'nagios: one status line with perfdata, then one line per check' '
	ops-pgprobe --format nagios -w idle-in-transaction=1s "$PG_DSN" >out; test $? -eq 1 &&
	head -n 1 out >first &&
	test_grep "^PGPROBE WARNING - .*idle in transaction.* | .*connections.=[0-9]*;" first &&
	test_grep "^WARNING: lock-waits " out &&
	test_grep "^OK: connect " out
'

test_expect_success 'prometheus: status and metrics for the textfile collector' '
	ops-pgprobe --format prometheus "$PG_DSN" >out.prom; test $? -eq 1 &&
	test_grep "^opskit_check_status{tool=\"ops-pgprobe\",check=\"lock-waits\",subject=\"127.0.0.1:$PG_PORT/postgres\"} 1$" out.prom &&
	test_grep "^opskit_pgprobe_connections{check=\"connections\",subject=\"127.0.0.1:$PG_PORT/postgres\"} [0-9]" out.prom &&
	test_grep "^opskit_pgprobe_lock_waits{" out.prom &&
	test_grep "^# TYPE opskit_pgprobe_idle_in_transaction_seconds gauge" out.prom
'

test_expect_success 'percent and count thresholds on connections' '
	ops-pgprobe -w connections=1 -c connections=50% "$PG_DSN" >out; test $? -eq 1 &&
	test_grep "^WARNING  *connections " out &&
	ops-pgprobe -c connections=10% "$PG_DSN" >out; test $? -eq 2 &&
	test_grep "^CRITICAL  *connections " out
'

test_expect_success 'thresholds from the config; flags win over it' '
	cat >cfg.yaml <<-EOF &&
	postgres:
	  targets:
	    main:
	      dsn: "$PG_DSN"
	  thresholds:
	    idle_in_transaction:
	      critical: 1s
	EOF
	ops-pgprobe --config cfg.yaml >out; test $? -eq 2 &&
	test_grep "^CRITICAL  *idle-in-transaction  *main " out &&
	ops-pgprobe --config cfg.yaml -c idle-in-transaction=1h -c lock-waits=9 -w lock-waits=9 main >out; test $? -eq 0
'

test_expect_success 'the probe costs one connection: it does not see itself twice' '
	ops-pgprobe --format json "$PG_DSN" >out.json; test $? -eq 1 &&
	python3 -c "import json,sys; d=json.load(open(\"out.json\")); a=[x for x in d[\"connections\"][\"by_application\"] if x[\"application\"]==\"ops-pgprobe\"]; assert a[0][\"total\"]==1, a"
'

test_expect_success '--watch redraws on a terminal until interrupted' '
	python3 - "$PG_DSN" <<-\PY
	import os, pty, select, signal, sys, time
	pid, fd = pty.fork()
	if pid == 0:
	    os.execvp("ops-pgprobe", ["ops-pgprobe", "--watch", "0.5", sys.argv[1]])
	out = b""; end = time.time() + 1.8
	while time.time() < end:
	    if select.select([fd], [], [], 0.1)[0]:
	        try: out += os.read(fd, 65536)
	        except OSError: break
	os.kill(pid, signal.SIGINT)
	status = os.waitpid(pid, 0)[1]
	screens = out.count(b"ops-pgprobe every 0.5s")
	assert screens >= 2, (screens, out[-2000:])
	assert b"lock-waits" in out, out[-2000:]
	assert os.waitstatus_to_exitcode(status) in (0, 1, 2), status
	PY
'

pg_end_sessions

test_expect_success 'after the sessions end the server is OK again' '
	ops-pgprobe "$PG_DSN" >out && test_grep "no session waits on a lock" out
'

test_done
