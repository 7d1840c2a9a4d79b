#!/bin/sh
# ops-pgprobe's session checks on a real server, with real sessions: idle-in-transaction
# "N for T" (--idle-tx-age), --exclude-user/-application/-database (and their config
# keys), per-role and per-database connection limits (rolconnlimit, datconnlimit,
# datallowconn off), a prepared transaction (PREPARE TRANSACTION), and the oldest xmin
# (a REPEATABLE READ snapshot kept open; a logical slot's catalog_xmin).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

PG_OPTIONS="-c wal_level=logical -c max_replication_slots=4"
start_postgres 30 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }
pg_sql "CREATE ROLE backup_ro LOGIN; CREATE TABLE p(id int);
	CREATE ROLE lim2 LOGIN CONNECTION LIMIT 2; CREATE ROLE nolimit LOGIN CONNECTION LIMIT 0;
	CREATE ROLE solo LOGIN CONNECTION LIMIT 1" >/dev/null
# CREATE DATABASE runs alone (not in the implicit transaction of several statements).
for sql in "CREATE DATABASE maint" "CREATE DATABASE limdb CONNECTION LIMIT 3" "CREATE DATABASE closed" \
	"ALTER DATABASE closed ALLOW_CONNECTIONS false"; do
	pg_sql "$sql" >/dev/null || echo "Bail out! $sql failed"
done

# probe NAME ARGS...: ops-pgprobe --format json ARGS "$PG_DSN" >NAME.json (exit 0-2).
probe() {
	_n=$1; shift
	ops-pgprobe --format json "$@" "$PG_DSN" >"$_n.json"
	test $? -le 2 || { echo "ops-pgprobe $* exited $?"; return 1; }
}
# check NAME ID FIELD: a field (status, message, hint) of a check of NAME.json
check() { json_get "$1.json" "[c for c in d['checks'] if c['id'] == '$2'][0].get('$3')"; }
# metric NAME ID METRIC: a metric's value
metric() { json_get "$1.json" "[m['value'] for c in d['checks'] if c['id'] == '$2' for m in c['metrics'] if m['name'] == '$3'][0]"; }
expect() {
	_got=$(check "$1" "$2" status)
	test "$_got" = "$3" || { echo "$2 in $1: $_got, wanted $3"; check "$1" "$2" message; return 1; }
}
idle_sessions() {
	pg_sql "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND $1"
}

# ---- idle in transaction: N for T ----

# Three old ones: as pg_dump, as role backup_ro (application pgxdump), in database maint.
# One after the other, so that the longest is old1, then old2.
pg_session old1 "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=pg_dump"
pg_send old1 "BEGIN; SELECT 'old1' AS o1;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 1 || say "old1 not idle"
pg_session old2 "host=$PG_DIR port=$PG_PORT user=backup_ro dbname=postgres application_name=pgxdump"
pg_send old2 "BEGIN; SELECT 'old2' AS o2;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 2 || say "old2 not idle"
pg_session old3 "host=$PG_DIR port=$PG_PORT user=postgres dbname=maint application_name=web"
pg_send old3 "BEGIN; SELECT 'old3' AS o3;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'
	AND state_change < clock_timestamp() - interval '2.5s'" 3 || say "the old sessions did not age"
# Two young ones.
for i in 1 2; do
	pg_session young$i "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=young"
	pg_send young$i "BEGIN; SELECT 'young$i';"
done
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 5 || say "young ones not idle"
# probe_tx NAME ARGS...: probe while the young ones have just run a statement (their
# idle-in-transaction time starts again), so that they stay younger than --idle-tx-age 2s.
probe_tx() {
	pg_send young1 "SELECT 'again';" && pg_send young2 "SELECT 'again';" &&
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'young'
		AND state = 'idle in transaction' AND state_change > clock_timestamp() - interval '1s'" 2 &&
	probe "$@"
}
old1=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_dump'")

test_expect_success 'idle-in-transaction-count: only sessions idle for --idle-tx-age count (N for T)' '
	probe_tx n3 --idle-tx-age 2s -w idle-in-transaction-count=3 && expect n3 idle-in-transaction-count warning &&
	test "$(metric n3 idle-in-transaction-count idle_in_transaction)" = 3.0 &&
	probe_tx n4 --idle-tx-age 2s -w idle-in-transaction-count=4 && expect n4 idle-in-transaction-count ok &&
	probe_tx n5 --idle-tx-age 0 -w idle-in-transaction-count=5 && expect n5 idle-in-transaction-count warning &&
	test "$(metric n5 idle-in-transaction-count idle_in_transaction)" = 5.0 &&
	probe_tx ndef -w idle-in-transaction-count=1 && expect ndef idle-in-transaction-count ok &&
	check ndef idle-in-transaction-count message | grep -q "^0 sessions idle in transaction for 30[.0]*s or longer$"
'

test_expect_success 'idle-in-transaction-count names the longest: pid, user, application, age, query head' '
	probe_tx names --idle-tx-age 2s &&
	check names idle-in-transaction-count message >msg &&
	test_grep "^3 sessions idle in transaction for 2.0s or longer; the longest: pid $old1 (user postgres, application \"pg_dump\") [0-9.]*s, query \"SELECT .old1. AS o1;\"; pid [0-9]* (user backup_ro, application \"pgxdump\")" msg &&
	test_grep_not young msg &&
	probe_tx noq --no-query-text --idle-tx-age 2s && check noq idle-in-transaction-count message >out &&
	test_grep "pid $old1 (user postgres, application \"pg_dump\") [0-9.]*s; pid" out &&
	test_grep_not "old1" out
'

test_expect_success 'postgres.idle_tx_age in the config; --idle-tx-age wins over it' '
	printf "postgres:\n  idle_tx_age: 1h\n" >tx.yaml &&
	probe_tx cfg --config tx.yaml -w idle-in-transaction-count=1 && expect cfg idle-in-transaction-count ok &&
	probe_tx cfgw --config tx.yaml --idle-tx-age 2s -w idle-in-transaction-count=1 &&
	expect cfgw idle-in-transaction-count warning
'

test_expect_success '--exclude-user/-application/-database leave sessions out of the session-age checks' '
	probe_tx xa --idle-tx-age 2s --exclude-application pg_dump &&
	test "$(metric xa idle-in-transaction-count idle_in_transaction)" = 2.0 &&
	probe_tx xu --idle-tx-age 2s --exclude-user "backup_*" &&
	test "$(metric xu idle-in-transaction-count idle_in_transaction)" = 2.0 &&
	probe_tx xd --idle-tx-age 2s --exclude-database maint &&
	test "$(metric xd idle-in-transaction-count idle_in_transaction)" = 2.0 &&
	probe_tx xall --idle-tx-age 2s --exclude-application pg_dump --exclude-user "backup_*" --exclude-database maint \
		-w idle-in-transaction=2s --session-age 2s &&
	test "$(metric xall idle-in-transaction-count idle_in_transaction)" = 0.0 &&
	expect xall idle-in-transaction ok &&
	check xall oldest-transaction message | grep -q "application \"young\"" &&
	json_assert xall.json "assert d[\"excluded_sessions\"] == 3, d[\"excluded_sessions\"]
assert d[\"connections\"][\"total\"] == 6, d[\"connections\"]
assert any(s[\"application\"] == \"pg_dump\" for s in d[\"sessions\"]), d[\"sessions\"]"
'

test_expect_success 'exclusion patterns: ? and * are globs, _ % and quotes are literal' '
	probe_tx g1 --idle-tx-age 2s --exclude-application "pg?dump" &&
	test "$(metric g1 idle-in-transaction-count idle_in_transaction)" = 1.0 &&
	probe_tx g2 --idle-tx-age 2s --exclude-application "pg%dump" --exclude-user "it'"'"'s\\" &&
	test "$(metric g2 idle-in-transaction-count idle_in_transaction)" = 3.0 &&
	probe_tx g3 --idle-tx-age 2s --exclude-application "p*" &&
	test "$(metric g3 idle-in-transaction-count idle_in_transaction)" = 1.0
'

test_expect_success 'postgres.exclude_* in the config; the command line replaces a list' '
	cat >x.yaml <<-\EOF &&
	postgres:
	  exclude_users: [backup_ro]
	  exclude_applications: [pg_dump]
	  exclude_databases: [maint]
	EOF
	probe_tx cx --config x.yaml --idle-tx-age 2s &&
	test "$(metric cx idle-in-transaction-count idle_in_transaction)" = 0.0 &&
	probe_tx cxu --config x.yaml --idle-tx-age 2s --exclude-user nobody &&
	test "$(metric cxu idle-in-transaction-count idle_in_transaction)" = 1.0
'

pg_end_sessions

# ---- connection limits ----

for i in 1 2; do
	pg_session lim$i "host=127.0.0.1 port=$PG_PORT user=lim2 dbname=postgres"
	pg_send lim$i "SELECT 'lim$i-ready';"
	pg_wait_output lim$i lim$i-ready || say "role lim2 session $i did not start"
	pg_session db$i "host=127.0.0.1 port=$PG_PORT user=app dbname=limdb"
	pg_send db$i "SELECT 'db$i-ready';"
	pg_wait_output db$i db$i-ready || say "limdb session $i did not start"
done
pg_session solo "host=127.0.0.1 port=$PG_PORT user=solo dbname=postgres"
pg_send solo "SELECT 'solo-ready';"
pg_wait_output solo solo-ready || say "role solo did not get in"

test_expect_success 'roles at their CONNECTION LIMIT: CRITICAL, the fullest named, ALTER ROLE in the hint' '
	probe rl && expect rl role-connection-limit critical &&
	test "$(check rl role-connection-limit message)" = "role lim2 uses 2 of its 2 connections" &&
	check rl role-connection-limit hint | grep -q "ALTER ROLE lim2 CONNECTION LIMIT n; more of them are at a threshold" &&
	test "$(metric rl role-connection-limit role_connection_limit_used_percent)" = 100.0 &&
	json_assert rl.json "r = d[\"connection_limits\"][\"roles\"]
assert r[0] == {\"name\": \"lim2\", \"used\": 2, \"limit\": 2}, r
assert {\"name\": \"nolimit\", \"used\": 0, \"limit\": 0} in r, r
assert r[1] == {\"name\": \"solo\", \"used\": 1, \"limit\": 1}, r
assert not any(x[\"name\"] == \"postgres\" for x in r), r" &&
	{ ops-pgprobe "$PG_DSN" >text; test $? -eq 2; } &&
	test_grep "^role limits (used/limit): lim2 2/2, solo 1/1, nolimit 0/0$" text &&
	test_grep "^database limits (used/limit): limdb 2/3$" text &&
	test_grep "^databases with datallowconn off: closed$" text
'

test_expect_success 'a database near its CONNECTION LIMIT; datallowconn off is listed' '
	expect rl database-connection-limit ok &&
	test "$(check rl database-connection-limit message)" = "database limdb uses 2 of its 3 connections" &&
	probe dl -w database-connection-limit=60% -c database-connection-limit=70% &&
	expect dl database-connection-limit warning &&
	check dl database-connection-limit hint | grep -q "ALTER DATABASE limdb CONNECTION LIMIT" &&
	probe dc -c database-connection-limit=66% && expect dc database-connection-limit critical &&
	json_assert rl.json "l = d[\"connection_limits\"]
assert l[\"databases\"] == [{\"name\": \"limdb\", \"used\": 2, \"limit\": 3}], l
assert l[\"no_connect_databases\"] == [\"closed\"], l"
'

pg_end_sessions

test_expect_success 'one session of a role with limit 2 is 50%: OK by default, WARNING at -w 50%' '
	pg_session lim1 "host=127.0.0.1 port=$PG_PORT user=lim2 dbname=postgres" &&
	pg_send lim1 "SELECT '"'lim-again'"';" && pg_wait_output lim1 lim-again &&
	probe r1 && expect r1 role-connection-limit ok &&
	probe r1w -w role-connection-limit=50% && expect r1w role-connection-limit warning
'

pg_end_sessions

# CONNECTION LIMIT lowered to 0 under a live session: 0 with sessions in is over the
# limit (every new login is refused), not a closed door with nobody behind it.
test_expect_success 'a role with sessions left after CONNECTION LIMIT 0 is CRITICAL, not a closed door' '
	pg_session solo "host=127.0.0.1 port=$PG_PORT user=solo dbname=postgres" &&
	pg_send solo "SELECT '"'solo-again'"';" && pg_wait_output solo solo-again &&
	pg_sql "ALTER ROLE solo CONNECTION LIMIT 0" >/dev/null &&
	probe z0 && expect z0 role-connection-limit critical &&
	test "$(check z0 role-connection-limit message)" = "role solo uses 1 of its 0 connections" &&
	test "$(metric z0 role-connection-limit role_connection_limit_used_percent)" = 100.0
'
pg_sql "ALTER ROLE solo CONNECTION LIMIT 1" >/dev/null
pg_end_sessions

# ---- the xmin horizon and prepared transactions ----

pg_session snap "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name=snap"
pg_send snap "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) AS snap_taken FROM t;"
pg_wait_output snap snap_taken || say "no snapshot"
for i in 1 2 3 4 5 6; do pg_sql "SELECT txid_current()" >/dev/null; done
snap=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'snap'")

test_expect_success 'oldest-xmin: a REPEATABLE READ snapshot kept open, named, against thresholds' '
	probe x5 -w oldest-xmin=5 -c oldest-xmin=1000 && expect x5 oldest-xmin warning &&
	check x5 oldest-xmin message | grep -q "^oldest backend xmin is [0-9]* transactions old (pid $snap, user postgres, application \"snap\"), client backend$" &&
	test "$(json_get x5.json "int([m[\"value\"] for c in d[\"checks\"] if c[\"id\"] == \"oldest-xmin\" for m in c[\"metrics\"]][0]) >= 6")" = True &&
	probe xdef && expect xdef oldest-xmin ok
'

pg_end_sessions

test_expect_success 'a quiet server: no xmin held, no prepared transaction' '
	probe quiet && expect quiet oldest-xmin ok && expect quiet prepared-transactions ok &&
	test "$(check quiet oldest-xmin message)" = "no other session holds an xmin" &&
	test "$(check quiet prepared-transactions message)" = "no prepared transaction"
'

pg_sql "BEGIN; INSERT INTO p VALUES (1); PREPARE TRANSACTION 'ptx-one'" >/dev/null
pg_wait_for "SELECT count(*) FROM pg_prepared_xacts WHERE prepared < clock_timestamp() - interval '1.2s'" 1 ||
	say "the prepared transaction did not age"

test_expect_success 'prepared-transactions: count, the oldest gid and age against thresholds' '
	probe pt -w prepared-transactions=1s && expect pt prepared-transactions warning &&
	check pt prepared-transactions message | grep -q "^1 prepared transaction, the oldest for [0-9.]*s (gid \"ptx-one\", user postgres, database postgres, xid age [0-9]*)$" &&
	check pt prepared-transactions hint | grep -q "ROLLBACK PREPARED .ptx-one." &&
	test "$(metric pt prepared-transactions prepared_transactions)" = 1.0 &&
	probe ptc -c prepared-transactions=1s && expect ptc prepared-transactions critical &&
	probe ptdef && expect ptdef prepared-transactions ok
'

test_expect_success 'prometheus: the new checks'"'"' metrics' '
	ops-pgprobe --format prometheus "$PG_DSN" >prom; test $? -le 2 &&
	for m in role_connection_limit_used_percent database_connection_limit_used_percent \
		prepared_transactions prepared_transaction_age_seconds oldest_xmin_age idle_in_transaction; do
		test_grep "^opskit_pgprobe_$m{" prom || return 1
	done
'

pg_sql "ROLLBACK PREPARED 'ptx-one'" >/dev/null

if pg_sql "SELECT pg_create_logical_replication_slot('stuck', 'test_decoding')" >/dev/null 2>&1; then
	for i in 1 2 3; do pg_sql "SELECT txid_current()" >/dev/null; done
	test_expect_success 'oldest-xmin: a replication slot holding catalog_xmin is named, with the drop in the hint' '
		probe slot -w oldest-xmin=3 && expect slot oldest-xmin warning &&
		check slot oldest-xmin message | grep -q "^replication slot stuck (logical) holds an xmin [0-9]* transactions old$" &&
		check slot oldest-xmin hint | grep -q "pg_drop_replication_slot(.stuck.)"
	'
	pg_sql "SELECT pg_drop_replication_slot('stuck')" >/dev/null
else
	test_skip 'oldest-xmin: a replication slot holding catalog_xmin' 'test_decoding is not installed'
fi

test_done
