#!/bin/sh
# ops-pgprobe where it used to be wrong in the field, on a real server: sessions the role
# cannot see are labelled hidden, track_activities = off is UNKNOWN, lock waits name the
# lock, the root blocker and a prepared transaction (never "pid 0"), managed servers'
# reserved slots are not counted as usable.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

# As on Amazon RDS: rds.rds_superuser_reserved_connections keeps 2 more slots.
PG_OPTIONS="-c rds.rds_superuser_reserved_connections=2"
start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }
pg_sql "INSERT INTO t VALUES (2, 'two')" >/dev/null

test_expect_success 'managed reserved slots (rds.rds_superuser_reserved_connections) are not usable' '
	ops-pgprobe --format json "$PG_DSN" >out.json &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	s = d["server"]
	assert s["usable"] == 15 and s["reserved"] == 5 and s["rds_superuser_reserved"] == 2, s
	assert s["may_use_reserved"] is None, s  # PostgreSQL 15: no reserved_connections
	c = [k for k in d["checks"] if k["id"] == "connections"][0]
	assert "of 15 usable connections" in c["message"], c
	PY
'

# Every reader of the usable count (checks.c's checks_usable_connections) sees the same
# 15: the connections check, a percentage threshold, pool-sizing and the --watch screen.
test_expect_success 'every count of the usable slots leaves the managed reserved slots out' '
	ops-pgprobe --format json -w idle-in-transaction-count=20% --pool web=1x5 "$PG_DSN" >all.json &&
	python3 - all.json <<-\PY &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["server"]["usable"] == 15, d["server"]
	c = {k["id"]: k for k in d["checks"]}
	assert "of 15 usable connections" in c["connections"]["message"], c["connections"]
	m = {m["name"]: m for k in d["checks"] for m in k["metrics"]}
	assert m["idle_in_transaction"]["warn"] == 3, m["idle_in_transaction"]  # 20% of 15
	p = c["pool-sizing"]
	assert "5 connections (web" in p["message"] and "+ 5 reserved = 10 <= max_connections 20: fits with 10 to spare" in p["message"], p
	assert m["pool_connections_needed"]["crit"] == 15, m["pool_connections_needed"]
	PY
	python3 - "$PG_DSN" <<-\PY
	import os, pty, re, select, signal, sys, time
	pid, fd = pty.fork()
	if pid == 0:
	    os.execvp("ops-pgprobe", ["ops-pgprobe", "--watch", "0.5", sys.argv[1]])
	out = b""; end = time.time() + 20
	while b"conns " not in out and time.time() < end:
	    if select.select([fd], [], [], 0.1)[0]:
	        try: out += os.read(fd, 65536)
	        except OSError: break
	os.kill(pid, signal.SIGINT)
	os.waitpid(pid, 0)
	assert re.search(rb"conns [0-9]+/15 ", out), out[-2000:]
	PY
'

# ---- hidden sessions ----

pg_session other "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=other"
pg_send other "BEGIN; SELECT 1;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'other' AND state = 'idle in transaction'" 1

test_expect_success 'sessions the role cannot see are hidden, not local; GRANT pg_monitor in the hint' '
	ops-pgprobe --format json "$PG_APP_DSN" >out.json; test $? -eq 1 &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	c = d["connections"]
	other = [g for g in c["by_application"] if g["application"] == "other"]
	assert other and other[0]["client"] == "hidden", c["by_application"]
	assert c["by_state"].get("hidden") == 1 and "unknown" not in c["by_state"], c["by_state"]
	assert "unknown" not in c["background"] and c["background"].get("hidden", 0) >= 3, c["background"]
	assert c["hidden"] == 1 and c["total"] == 2, c
	v = [k for k in d["checks"] if k["id"] == "visibility"][0]
	assert v["status"] == "warning" and "GRANT pg_monitor TO app" in v["hint"], v
	PY
'

test_expect_success 'text: the hidden session shows as hidden in the client column' '
	ops-pgprobe "$PG_APP_DSN" >out; test $? -eq 1 &&
	test_grep "^  postgres  postgres  other  *hidden  *1 " out
'

# ---- track_activities = off ----

pg_sql "ALTER SYSTEM SET track_activities = off" >/dev/null && pg_sql "SELECT pg_reload_conf()" >/dev/null
pg_wait_for "SHOW track_activities" off

test_expect_success 'track_activities = off: the session checks are UNKNOWN, not OK' '
	ops-pgprobe --format json "$PG_DSN" >out.json; test $? -eq 3 &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	st = {k["id"]: k for k in d["checks"]}
	for id in ("idle-in-transaction", "idle-in-transaction-count", "long-queries", "oldest-transaction", "idle-connections"):
	    assert st[id]["status"] == "unknown" and "track_activities is off" in st[id]["message"], st[id]
	assert "track_activities = on" in st["idle-in-transaction"]["hint"], st["idle-in-transaction"]
	assert st["connections"]["status"] == "ok", st["connections"]
	PY
'

pg_sql "ALTER SYSTEM RESET track_activities" >/dev/null && pg_sql "SELECT pg_reload_conf()" >/dev/null
pg_wait_for "SHOW track_activities" on
pg_end_sessions

# ---- lock waits: a chain with its root blocker ----
# root holds row 1; mid holds row 2 and then waits for row 1; tail waits for row 2 (the
# longest wait, behind mid, whose own blocker is root).

pg_session root "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=root"
pg_send root "BEGIN; UPDATE t SET v = 'r' WHERE id = 1;"
pg_session mid "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=mid"
pg_send mid "BEGIN; UPDATE t SET v = 'm' WHERE id = 2;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 2
pg_session tail "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=tail"
pg_send tail "UPDATE t SET v = 't' WHERE id = 2;"
pg_wait_for "SELECT count(*) FROM pg_locks WHERE NOT granted" 1
pg_send mid "UPDATE t SET v = 'm' WHERE id = 1;"
pg_wait_for "SELECT count(*) FROM pg_locks WHERE NOT granted" 2
rootpid=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'root'")
midpid=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'mid'")

test_expect_success 'lock waits: the lock, the direct blocker, the root blocker, the real wait' '
	ops-pgprobe --format json "$PG_DSN" >out.json; test $? -eq 1 &&
	python3 - out.json "$rootpid" "$midpid" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1])); root, mid = int(sys.argv[2]), int(sys.argv[3])
	lw = [k for k in d["checks"] if k["id"] == "lock-waits"][0]
	m = lw["message"]
	assert m.startswith("2 sessions wait on locks; the longest for "), m
	assert "application \"tail\"" in m and "waiting for ShareLock on transactionid" in m, m
	assert "blocked by pid %d (root blocker pid %d)" % (mid, root) in m, m
	assert "pid 0" not in m and "root blocker" in lw["hint"], lw
	w = {s["application"]: s for s in d["sessions"] if s["kind"] == "waiting"}
	assert w["tail"]["blocked_by"] == [mid] and w["mid"]["blocked_by"] == [root], w
	assert w["tail"]["wait_seconds"] > w["mid"]["wait_seconds"] >= 0, w
	assert w["mid"]["lock_mode"] == "ShareLock" and w["mid"]["blocked_by_prepared"] is False, w
	assert all(s["blocked_by"].count(p) == 1 for s in d["sessions"] for p in s["blocked_by"]), d["sessions"]
	PY
'

pg_end_sessions

# ---- a prepared transaction holds the lock: never "blocked by pid 0" ----

pg_sql "BEGIN; UPDATE t SET v = 'p' WHERE id = 1; PREPARE TRANSACTION 'opskit_p1'" >/dev/null
test_cleanup_add "pg_sql \"ROLLBACK PREPARED 'opskit_p1'\""
pg_session waiter "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=waiter"
pg_send waiter "UPDATE t SET v = 'w' WHERE id = 1;"
pg_wait_for "SELECT count(*) FROM pg_locks WHERE NOT granted" 1

test_expect_success 'a lock held by a prepared transaction: said so, with COMMIT/ROLLBACK PREPARED' '
	ops-pgprobe --format json "$PG_DSN" >out.json; test $? -eq 1 &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	lw = [k for k in d["checks"] if k["id"] == "lock-waits"][0]
	assert lw["status"] == "warning" and "blocked by a prepared transaction" in lw["message"], lw
	assert "pid 0" not in lw["message"] and "ROLLBACK PREPARED" in lw["hint"], lw
	w = [s for s in d["sessions"] if s["kind"] == "waiting"]
	assert len(w) == 1 and w[0]["blocked_by"] == [] and w[0]["blocked_by_prepared"] is True, w
	PY
'

pg_sql "ROLLBACK PREPARED 'opskit_p1'" >/dev/null
pg_end_sessions

test_done
