#!/bin/sh
# A primary and its streaming replica probed together: the replica reports replay lag.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_replica || { echo "Bail out! the replica did not start"; exit 1; }

pg_sql "INSERT INTO t VALUES (2, 'two')" >/dev/null
deadline=$(( $(date +%s) + 15 ))
until [ "$(pg_replica_sql "SELECT count(*) FROM t" 2>/dev/null)" = 2 ] || [ "$(date +%s)" -gt $deadline ]; do
	sleep 0.1
done

test_expect_success 'primary and replica in one run: replay lag on the replica only, default levels 30s/5m' '
	ops-pgprobe --format json "$PG_DSN" "$PG_REPLICA_DSN" >out.json &&
	python3 - out.json "$PG_REPLICA_PORT" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	primary, replica = d["targets"]
	assert primary["server"]["in_recovery"] is False, primary["server"]
	assert replica["server"]["in_recovery"] is True, replica["server"]
	assert replica["server"]["replay_lag_seconds"] == 0, replica["server"]
	lag = [c for c in d["checks"] if c["id"] == "replication-lag"]
	assert len(lag) == 1 and lag[0]["subject"].endswith(":%s/postgres" % sys.argv[2]), lag
	assert lag[0]["status"] == "ok", lag
	m = lag[0]["metrics"][0]
	assert (m["warn"], m["crit"]) == (30, 300), ("the default is 30s/5m", m)
	PY
'

# A managed replica that lacks or forbids a piece of the statement (an Aurora reader
# raises on pg_last_wal_receive_lsn()): here the function is revoked from the probe's
# role. The probe falls back to a reduced statement: the lag is UNKNOWN with the reason,
# everything else is still there.
pg_sql "CREATE ROLE mon LOGIN; GRANT pg_monitor TO mon;
	REVOKE EXECUTE ON FUNCTION pg_last_wal_receive_lsn() FROM PUBLIC" >/dev/null
deadline=$(( $(date +%s) + 15 ))
until [ "$(pg_replica_sql "SELECT has_function_privilege('mon', 'pg_last_wal_receive_lsn()', 'EXECUTE')" 2>/dev/null)" = f ] ||
	[ "$(date +%s)" -gt $deadline ]; do
	sleep 0.1
done

test_expect_success 'a replica that refuses a replication function: that check UNKNOWN, never the whole probe' '
	ops-pgprobe --format json "host=127.0.0.1 port=$PG_REPLICA_PORT user=mon dbname=postgres" >out.json; test $? -eq 3 &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	st = {k["id"]: k for k in d["checks"]}
	lag = st["replication-lag"]
	assert lag["status"] == "unknown" and "permission denied for function pg_last_wal_receive_lsn" in lag["message"], lag
	assert "Aurora" in lag["hint"], lag
	assert all(k["status"] == "ok" for i, k in st.items() if i != "replication-lag"), st
	assert d["server"]["in_recovery"] is True and d["connections"]["total"] >= 1, d
	PY
'

pg_sql "GRANT EXECUTE ON FUNCTION pg_last_wal_receive_lsn() TO PUBLIC" >/dev/null

# Bounded polling, never fixed sleeps: pausing replay takes effect asynchronously, the
# last replayed transaction must be over 1s old, and the insert must reach the replica.
pg_replica_wait_for() {
	_deadline=$(( $(date +%s) + 15 ))
	until [ "$(pg_replica_sql "$1" 2>/dev/null)" = "$2" ]; do
		[ "$(date +%s)" -le $_deadline ] || { say "replica never gave $2 for: $1"; return 1; }
		sleep 0.05
	done
}
pg_replica_sql "SELECT pg_wal_replay_pause()" >/dev/null
pg_replica_wait_for "SELECT pg_get_wal_replay_pause_state()" paused
pg_replica_wait_for "SELECT now() - pg_last_xact_replay_timestamp() > interval '1.2s'" t
pg_sql "INSERT INTO t VALUES (3, 'three')" >/dev/null
pg_replica_wait_for "SELECT pg_last_wal_receive_lsn() <> pg_last_wal_replay_lsn()" t

test_expect_success 'replication-lag: -w and -c take effect on its levels' '
	ops-pgprobe --format json -w replication-lag=7s -c replication-lag=8m "$PG_REPLICA_DSN" >lv.json &&
	python3 -c "import json; m = [c for c in json.load(open(\"lv.json\"))[\"checks\"] if c[\"id\"] == \"replication-lag\"][0][\"metrics\"][0]; assert (m[\"warn\"], m[\"crit\"]) == (7, 480), m"
'

test_expect_success 'replay paused behind the primary: replication-lag raised' '
	ops-pgprobe -w replication-lag=1s "$PG_REPLICA_DSN" >out; test $? -eq 1 &&
	test_grep "^WARNING  *replication-lag .*replica replays [0-9.]*s behind the primary" out
'

pg_replica_sql "SELECT pg_wal_replay_resume()" >/dev/null

# Cut the replica off its primary: with no WAL receiver, "all received is replayed"
# must not read as "no lag".
pg_replica_sql "ALTER SYSTEM SET primary_conninfo = ''" >/dev/null &&
pg_replica_sql "SELECT pg_reload_conf()" >/dev/null
pg_replica_wait_for "SELECT count(*) FROM pg_stat_wal_receiver" 0
pg_replica_wait_for "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()" t
pg_replica_wait_for "SELECT now() - pg_last_xact_replay_timestamp() > interval '1.2s'" t

test_expect_success 'a replica that is not streaming says so, with the age of its last replay' '
	ops-pgprobe -w replication-lag=1s --format json "$PG_REPLICA_DSN" >out.json; test $? -eq 1 &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["server"]["streaming"] is False and d["server"]["replay_lag_seconds"] >= 1, d["server"]
	lag = [c for c in d["checks"] if c["id"] == "replication-lag"][0]
	assert lag["status"] == "warning" and "not streaming" in lag["message"], lag
	assert "primary_conninfo" in lag["hint"], lag
	PY
'

test_done
