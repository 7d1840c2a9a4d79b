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

test_expect_success 'primary and replica in one run: replay lag on the replica only' '
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
	PY
'

pg_replica_sql "SELECT pg_wal_replay_pause()" >/dev/null
sleep 1.1
pg_sql "INSERT INTO t VALUES (3, 'three')" >/dev/null
sleep 0.5

test_expect_success 'replay paused behind the primary: replication-lag raised' '
	ops-pgprobe -w replication-lag=1s "$PG_REPLICA_DSN" >out; test $? -eq 1 &&
	test_grep "^WARNING  *replication-lag .*replica replays [0-9.]*s behind the primary" out
'

pg_replica_sql "SELECT pg_wal_replay_resume()" >/dev/null

test_done
