#!/bin/sh
# ops-pgprobe's thresholds at their boundaries: a value at a level raises that status, a
# value just below it does not, for counts and for percentages of the usable slots; the
# documented defaults (man/ops-pgprobe.1) relied on with no config file; and sessions
# idle in a transaction that failed ("idle in transaction (aborted)"), created for real.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

# 23 slots, 3 reserved: 20 usable, so that 5%, 60%, 80%, 85% and 95% are whole sessions.
start_postgres 23 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }

# status FILE CHECK-ID: the status of that check in a JSON report (one target).
status() {
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print(*[c['status'] for c in d['checks'] if c['id'] == sys.argv[2]])" "$1" "$2"
}
# probe NAME ARGS...: ops-pgprobe --format json ARGS "$PG_DSN" >NAME.json (exit 0-2), once
# the server has the test's $sessions and no other client: the backend of the previous
# probe or pg_sql, still leaving under load, would be one connection too many at a
# boundary (a level "just above" the count reached).
sessions=0
probe() {
	_n=$1; shift
	pg_wait_clients "$sessions" || return 1
	ops-pgprobe --format json "$@" "$PG_DSN" >"$_n.json"
	test $? -le 2 || { echo "ops-pgprobe $* exited $?"; return 1; }
}
# expect_status NAME CHECK-ID WANT
expect_status() {
	_got=$(status "$1.json" "$2")
	test "$_got" = "$3" || { echo "$2 in $1: $_got, wanted $3"; grep -A2 "\"id\": \"$2\"" "$1.json"; return 1; }
}
# end_sessions: every other client backend ends (a backend in pg_sleep or a lock wait
# would not notice its psql go away), and every pg_session with it.
end_sessions() {
	pg_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" >/dev/null
	pg_end_sessions
}
clients() { pg_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"; }

# ---- a quiet server: the probe's own connection is the only client ----

test_expect_success 'no config: the documented default of every threshold (man/ops-pgprobe.1)' '
	! test -e opskit.yaml && probe def &&
	python3 - def.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	got = {m["name"]: (m.get("warn"), m.get("crit")) for c in d["checks"] for m in c["metrics"]}
	want = {
	    "connect_seconds": (0.5, 2), "query_seconds": (0.5, 2),
	    "connections": (16, 19),                  # 80%/95% of 20 usable
	    "application_connections": (12, 17),      # 60%/85%
	    "idle_in_transaction_seconds": (60, 600), "idle_in_transaction": (5, 20),
	    "lock_waits": (1, 5), "long_queries_seconds": (60, 300),
	    "oldest_transaction_seconds": (600, 3600), "idle_connections": (None, None),
	}
	for k, v in want.items():
	    assert got[k] == v, (k, got[k], v)
	assert "idle for more than 10m00s" in json.dumps(d), "default --idle-age 10m"
	PY
'

test_expect_success 'connections: a count at the level raises it, one above the value does not' '
	probe w1 -w connections=1 && expect_status w1 connections warning &&
	probe w2 -w connections=2 && expect_status w2 connections ok &&
	probe c1 -c connections=1 && expect_status c1 connections critical &&
	probe c2 -w connections=2 -c connections=2 && expect_status c2 connections ok
'

test_expect_success 'connections: a percentage of the usable slots (5% of 20 is the 1 in use)' '
	probe p5 -c connections=5% && expect_status p5 connections critical &&
	probe p6 -c connections=6% && expect_status p6 connections ok &&
	probe pw5 -w connections=5% && expect_status pw5 connections warning
'

test_expect_success 'application-share: at the count and the percentage, and just above' '
	probe a1 -w application-share=1 && expect_status a1 application-share warning &&
	probe a2 -w application-share=2 && expect_status a2 application-share ok &&
	probe a5 -c application-share=5% && expect_status a5 application-share critical &&
	probe a6 -c application-share=6% && expect_status a6 application-share ok
'

test_expect_success 'connect and query latency: a threshold below it raises, the default does not' '
	probe l0 -w connect=0ms -c query=0s && expect_status l0 connect warning && expect_status l0 query critical &&
	expect_status def connect ok && expect_status def query ok
'

test_expect_success 'pool-sizing: pools that fill every usable slot fit (WARNING), one more overflows' '
	probe s20 --pool web=4x5 && expect_status s20 pool-sizing warning &&
	test_grep "= 23 <= max_connections 23: fits with 0 to spare" s20.json &&
	probe s21 --pool web=3x7 && expect_status s21 pool-sizing critical &&
	test_grep "= 24 > max_connections 23: overflows by 1" s21.json
'

test_expect_success 'pool-sizing: exactly 10% of the usable slots to spare is OK, less is a WARNING' '
	probe s18 --pool web=2x9 && expect_status s18 pool-sizing ok &&
	probe s19 --pool web=1x19 && expect_status s19 pool-sizing warning
'

# ---- sessions in a transaction: one aborted (a failed statement), three idle ----

pg_session aborted "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=aborted"
pg_send aborted "BEGIN; SELECT 1/0;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction (aborted)'" 1 ||
	say "the aborted session did not settle"
for i in 1 2 3; do
	pg_session idler$i "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=idler"
	pg_send idler$i "BEGIN; SELECT 1;"
done
pg_session sleeper "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=sleeper"
pg_send sleeper "SELECT pg_sleep(120);"
for i in 1 2; do
	pg_session pool$i "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=pool"
	pg_send pool$i "SELECT 1;"
done
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'" 4 &&
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pool' AND state = 'idle'" 2 &&
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sleeper' AND state = 'active'" 1 ||
	say "sessions did not settle"
# The 1s levels below need every session past 1.5s: poll for it (bounded).
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('aborted', 'idler', 'sleeper', 'pool')
	AND state_change < now() - interval '1.5s'" 7 || say "sessions did not age"
sessions=7

test_expect_success 'idle in transaction (aborted): counted, listed, and the oldest is named' '
	{ ops-pgprobe --format json --session-age 1s --idle-tx-age 1s "$PG_DSN" >ab.json; test $? -le 2; } &&
	python3 - ab.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	c = d["connections"]
	assert c["by_state"]["idle in transaction (aborted)"] == 1, c["by_state"]
	assert c["by_state"]["idle in transaction"] == 3, c["by_state"]
	apps = {a["application"]: a for a in c["by_application"]}
	assert apps["aborted"]["idle_in_transaction_aborted"] == 1, apps["aborted"]
	s = [s for s in d["sessions"] if s["application"] == "aborted"]
	assert len(s) == 1 and s[0]["state"] == "idle in transaction (aborted)", d["sessions"]
	assert s[0]["kind"] == "idle in transaction" and s[0]["age_seconds"] >= 1.5, s
	checks = {k["id"]: k for k in d["checks"]}
	assert "application \"aborted\"" in checks["idle-in-transaction"]["message"], checks["idle-in-transaction"]
	assert "4 sessions idle in transaction" in checks["idle-in-transaction-count"]["message"], checks["idle-in-transaction-count"]
	PY
'

test_expect_success 'idle-in-transaction-count: at the count (aborted included) and just below' '
	probe t4 --idle-tx-age 1s -w idle-in-transaction-count=4 && expect_status t4 idle-in-transaction-count warning &&
	probe t5 --idle-tx-age 1s -w idle-in-transaction-count=5 && expect_status t5 idle-in-transaction-count ok &&
	probe t4c --idle-tx-age 1s -c idle-in-transaction-count=4 && expect_status t4c idle-in-transaction-count critical &&
	probe t20 --idle-tx-age 1s -w idle-in-transaction-count=20% && expect_status t20 idle-in-transaction-count warning &&
	probe t25 --idle-tx-age 1s -w idle-in-transaction-count=25% && expect_status t25 idle-in-transaction-count ok &&
	probe tdef --idle-tx-age 1s && expect_status tdef idle-in-transaction-count ok &&
	probe t30s -w idle-in-transaction-count=1 && expect_status t30s idle-in-transaction-count ok
'

test_expect_success 'session ages: a level below the age raises it, the defaults (minutes) do not' '
	probe d1 -w idle-in-transaction=1s -c long-queries=1s -w oldest-transaction=1s &&
	expect_status d1 idle-in-transaction warning && expect_status d1 long-queries critical &&
	expect_status d1 oldest-transaction warning &&
	probe d2 -w idle-in-transaction=1400ms -w long-queries=1400ms -c oldest-transaction=1400ms &&
	expect_status d2 idle-in-transaction warning && expect_status d2 long-queries warning &&
	expect_status d2 oldest-transaction critical &&
	probe d3 -w idle-in-transaction=1h -w long-queries=1h -w oldest-transaction=1h &&
	expect_status d3 idle-in-transaction ok && expect_status d3 long-queries ok &&
	expect_status d3 oldest-transaction ok &&
	probe ddef && expect_status ddef idle-in-transaction ok && expect_status ddef long-queries ok &&
	expect_status ddef oldest-transaction ok
'

test_expect_success 'idle-connections: idle for --idle-age, at the count and just below; none by the 10m default' '
	probe i2 --idle-age 1s -w idle-connections=2 && expect_status i2 idle-connections warning &&
	probe i3 --idle-age 1s -w idle-connections=3 && expect_status i3 idle-connections ok &&
	probe i2c --idle-age 1s -c idle-connections=2 && expect_status i2c idle-connections critical &&
	probe idef -w idle-connections=1 && expect_status idef idle-connections ok
'

pg_session idler4 "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=late"
pg_send idler4 "BEGIN; SELECT 1;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'" 5 || say "idler4 did not settle"
sessions=8

# listed FILE APP: whether a session of that application is under "sessions"
listed() { python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print(any(s['application'] == sys.argv[2] for s in d['sessions']))" "$1" "$2"; }

test_expect_success 'idle-in-transaction-count: the default warning is 5' '
	probe t5def --idle-tx-age 0 && expect_status t5def idle-in-transaction-count warning &&
	test "$(listed t5def.json late)" = False
'

pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'late' AND state_change < now() - interval '5.2s'" 1 ||
	say "the late session did not age"

test_expect_success 'sessions idle in a transaction are listed from the default --session-age of 5s' '
	probe age5 && test "$(listed age5.json late)" = True
'

end_sessions
sessions=0

# ---- lock waits: one session waits for another ----

pg_session holder "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=holder"
pg_send holder "BEGIN; SELECT * FROM t WHERE id = 1 FOR UPDATE;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'holder' AND state = 'idle in transaction'" 1 ||
	say "the holder did not settle"
pg_session waiter "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=waiter"
pg_send waiter "UPDATE t SET v = 'x' WHERE id = 1;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'" 1 || say "no lock wait"
sessions=2

test_expect_success 'lock-waits: at the count and just below; the default warning is 1' '
	probe k1 -c lock-waits=1 && expect_status k1 lock-waits critical &&
	probe k2 -w lock-waits=2 && expect_status k2 lock-waits ok &&
	probe kdef && expect_status kdef lock-waits warning
'

end_sessions
sessions=0

# ---- the default percentages of the usable slots, filled one session at a time ----

# fill N: sessions of application "filler" until N of them are open (bounded).
filled=0
fill() {
	while [ $filled -lt "$1" ]; do
		filled=$((filled + 1))
		pg_session filler$filled "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=filler"
		pg_send filler$filled "SELECT 1;"
	done
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'filler' AND state = 'idle'" "$1"
	sessions=$1
}

fill 11
test_expect_success 'defaults: 11 of 20 for one application (55%) is below 60%; 12 sessions below 80%' '
	test $(clients) -eq 11 && probe f11 &&
	expect_status f11 application-share ok && expect_status f11 connections ok
'
fill 12
test_expect_success 'defaults: 12 of 20 for one application is exactly 60%: WARNING' '
	probe f12 && expect_status f12 application-share warning && expect_status f12 connections ok
'
fill 14
test_expect_success 'defaults: 15 connections of 20 usable (75%) are below 80%' '
	probe f14 && expect_status f14 connections ok
'
fill 15
test_expect_success 'defaults: 16 connections of 20 usable are exactly 80%: WARNING' '
	probe f15 && expect_status f15 connections warning && expect_status f15 application-share warning
'
fill 17
test_expect_success 'defaults: 17 of 20 for one application is exactly 85%: CRITICAL; 18 connections WARNING' '
	probe f17 && expect_status f17 application-share critical && expect_status f17 connections warning
'
fill 18
test_expect_success 'defaults: 19 connections of 20 usable are exactly 95%: CRITICAL' '
	probe f18 && expect_status f18 connections critical
'

end_sessions

test_done
