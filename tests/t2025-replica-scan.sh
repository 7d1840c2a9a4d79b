#!/bin/sh
# ops-redisaudit --replica on a standalone primary: the scan runs on an online replica
# from INFO replication, KEYS callers and maxmemory come from the primary, and the report
# names both; without an online replica the primary itself is scanned.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis primary || { echo "Bail out! redis-server did not start"; exit 1; }
PRIMARY_PORT=$REDIS_PORT PRIMARY_URL=$REDIS_URL
rcli EVAL "for i = 1, 300 do redis.call('SET', 'k:' .. i, 'x') end return 1" 0 >/dev/null
start_redis replica -- --replicaof 127.0.0.1 "$PRIMARY_PORT" ||
	{ echo "Bail out! replica did not start"; exit 1; }
REPLICA_PORT=$REDIS_PORT
n=0
until rcli INFO replication | grep -q "master_link_status:up" || test $n -gt 100; do sleep 0.1; n=$((n + 1)); done
n=0
until redis-cli -p "$PRIMARY_PORT" INFO replication | grep -q "state=online" || test $n -gt 100; do sleep 0.1; n=$((n + 1)); done

redis-cli -p "$PRIMARY_PORT" CONFIG SET maxmemory 100mb >/dev/null
redis-cli -p "$PRIMARY_PORT" KEYS 'k:1*' >/dev/null
redis-cli -p "$REPLICA_PORT" CONFIG RESETSTAT >/dev/null

test_expect_success '--replica on a standalone primary scans its online replica' '
	ops-redisaudit --format json --replica "$PRIMARY_URL" >rep.json; test $? -le 2 &&
	test "$(json_get rep.json "d[\"nodes\"][0][\"node\"], d[\"nodes\"][0][\"role\"], d[\"totals\"][\"keys\"], d[\"complete\"]")" = \
		"('"'"'127.0.0.1:$REPLICA_PORT'"'"', '"'"'replica'"'"', 300, True)" &&
	test "$(json_get rep.json "d[\"nodes\"][0][\"primary\"], d[\"nodes\"][0][\"facts_from\"]")" = \
		"('"'"'127.0.0.1:$PRIMARY_PORT'"'"', '"'"'127.0.0.1:$PRIMARY_PORT'"'"')" &&
	redis-cli -p "$REPLICA_PORT" INFO commandstats | grep -q "^cmdstat_scan:" &&
	! redis-cli -p "$PRIMARY_PORT" INFO commandstats | grep -q "^cmdstat_scan:"
'

test_expect_success 'maxmemory and KEYS callers are the primary'"'"'s' '
	checks_of rep.json maxmemory >got && echo "ok 127.0.0.1:$PRIMARY_PORT" >expect && test_cmp expect got &&
	test_grep "maxmemory 100.0 MiB" rep.json &&
	checks_of rep.json keys-command | grep -q "^warning"
'

test_expect_success 'text names the replica scanned and where the facts came from' '
	ops-redisaudit --replica "$PRIMARY_URL" >rep.txt; test $? -le 2 &&
	test_grep "^replica  127.0.0.1:$REPLICA_PORT of primary 127.0.0.1:$PRIMARY_PORT (KEYS callers and maxmemory read on 127.0.0.1:$PRIMARY_PORT)" rep.txt
'

test_expect_success 'without --replica the primary is scanned' '
	ops-redisaudit --format json "$PRIMARY_URL" >prim.json; test $? -le 2 &&
	test "$(json_get prim.json "d[\"nodes\"][0][\"node\"], d[\"nodes\"][0][\"facts_from\"]")" = \
		"('"'"'127.0.0.1:$PRIMARY_PORT'"'"', None)"
'

test_expect_success '--replica without an online replica scans the primary' '
	kill -9 $(cat "$TRASH/redis-replica/redis.pid") && n=0 &&
	while redis-cli -p "$PRIMARY_PORT" INFO replication | grep -q "state=online" && test $n -lt 150; do
		sleep 0.1; n=$((n + 1))
	done &&
	{ ops-redisaudit --format json --replica "$PRIMARY_URL" >fall.json; test $? -le 2; } &&
	test "$(json_get fall.json "d[\"nodes\"][0][\"node\"], d[\"totals\"][\"keys\"]")" = \
		"('"'"'127.0.0.1:$PRIMARY_PORT'"'"', 300)"
'

test_done
