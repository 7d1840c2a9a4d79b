#!/bin/sh
# bench/pgprobe.sh — ops-pgprobe against check_postgres on the same loopback server, side
# by side in one hyperfine run: one ops-pgprobe probe (every check in one query) versus
# the five check_postgres actions it replaces (backends, txn_idle, txn_time, query_time,
# locks; each its own psql process). Then the server is filled to max_connections and the
# probe must still answer CRITICAL within --timeout.
# Needs: hyperfine, check_postgres (package check-postgres), PostgreSQL 15, python3.
set -u
OPSKIT_ROOT=${OPSKIT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
export OPSKIT_ROOT
# The test library gives the throwaway server, a trash directory and the teardown.
. "$OPSKIT_ROOT/tests/test-lib.sh"
. "$TEST_LIB/postgres.sh"

for c in hyperfine psql python3; do
	command -v $c >/dev/null 2>&1 || { echo "bench pgprobe: $c is not installed (ci/install-deps.sh bench)"; exit 1; }
done
CP=$(command -v check_postgres || command -v check_postgres.pl) ||
	{ echo "bench pgprobe: check_postgres is not installed (ci/install-deps.sh bench)"; exit 1; }
RUNS=${PGPROBE_BENCH_RUNS:-20}
MAX=12

start_postgres $MAX 2 >/dev/null || { echo "bench pgprobe: PostgreSQL did not start"; exit 1; }

# Something to look at: two sessions idle in a transaction, one waiting on a lock.
pg_session holder
pg_send holder "BEGIN; SELECT * FROM t WHERE id = 1 FOR UPDATE;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 1 >/dev/null
pg_session waiter
pg_send waiter "UPDATE t SET v = 'w' WHERE id = 1;"
pg_session idler
pg_send idler "BEGIN; SELECT 1;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'" 1 >/dev/null

probe="ops-pgprobe --format nagios 'host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres' >/dev/null"
cp_args="--host=127.0.0.1 --port=$PG_PORT --dbuser=postgres --dbname=postgres --warning=1m --critical=10m"
peer="for a in txn_idle txn_time query_time; do $CP --action=\$a $cp_args; done >/dev/null;"
peer="$peer $CP --action=backends --host=127.0.0.1 --port=$PG_PORT --dbuser=postgres --dbname=postgres >/dev/null;"
peer="$peer $CP --action=locks --host=127.0.0.1 --port=$PG_PORT --dbuser=postgres --dbname=postgres >/dev/null"

echo "server: PostgreSQL 15 on 127.0.0.1:$PG_PORT, max_connections $MAX, 2 idle in transaction, 1 lock wait"
hyperfine -N --style basic -i --warmup 3 --runs "$RUNS" --export-json bench.json \
	-n "ops-pgprobe (one probe, all checks)" "sh -c \"$probe\"" \
	-n "check_postgres (backends txn_idle txn_time query_time locks)" "sh -c \"$peer\"" >hyperfine.out 2>&1 ||
	{ cat hyperfine.out; exit 1; }
python3 - bench.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
a, b = r[0], r[1]
print("%-62s %8.1f ms ± %.1f" % (a["command"], a["mean"] * 1000, a["stddev"] * 1000))
print("%-62s %8.1f ms ± %.1f" % (b["command"], b["mean"] * 1000, b["stddev"] * 1000))
ratio = b["mean"] / a["mean"]
print("ratio: ops-pgprobe is %.1fx faster (target >= 20x)%s" % (ratio, "" if ratio >= 20 else "  ** BELOW TARGET **"))
PY

# Fill every slot (superusers included): the probe must say 53300, within --timeout.
pg_kill_sessions
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" 0 >/dev/null
i=0
while [ $i -lt $MAX ]; do
	i=$((i + 1))
	pg_session full$i
	pg_send full$i "SELECT 'full$i-ready';"
	pg_wait_output full$i "full$i-ready" 5 2>/dev/null || break
done
start=$(date +%s%N)
timeout -k 2 10 ops-pgprobe --timeout 2s --format nagios "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" >full.out
rc=$?
end=$(date +%s%N)
printf 'server at max_connections: exit %d in %d ms (--timeout 2s): %s\n' $rc $(( (end - start) / 1000000 )) "$(head -n 1 full.out)"
[ $rc -eq 2 ] && grep -q 53300 full.out
