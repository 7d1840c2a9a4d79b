#!/bin/sh
# ops-redisaudit --hot on a cluster whose slot moves during the scan: the keys' OBJECT
# FREQ answered MOVED on the node they left. That is no refusal of OBJECT FREQ: the hot
# keys are still listed (it was "the server refused OBJECT FREQ: MOVED ...", UNKNOWN, and
# the node stopped asking).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis_cluster || { echo "Bail out! the cluster did not come up"; exit 1; }
set -- $REDIS_CLUSTER_PORTS
P1=$1

awk 'BEGIN {
	for (i = 1; i <= 300; i++) print "SET {m}:" i " v"
	for (i = 1; i <= 600; i++) print "SET o:" i " v"
}' | redis-cli -c -p "$P1" >/dev/null

SLOT=$(redis-cli -p "$P1" CLUSTER KEYSLOT '{m}')
for p in $REDIS_CLUSTER_PORTS; do
	redis-cli -p "$p" CONFIG SET maxmemory-policy allkeys-lfu >/dev/null
	redis-cli -p "$p" CONFIG RESETSTAT >/dev/null
done

test_expect_success '--hot with keys moved mid-scan: hot keys listed, no refusal' '
	src=$(cluster_slot_owner) && dst=$(cluster_other_port "$src") &&
	{ ops-redisaudit --format json --hot --count 100 --pause-ms 2500 "$REDIS_CLUSTER_URL" >hot.json 2>hot.err & pid=$!; } &&
	cluster_wait_for_scan "$src" && cluster_migrate_keys "$src" "$dst" && cluster_give_slot "$dst" || { wait $pid; exit 1; }
	wait $pid; code=$?
	test $code -le 2 &&
	test "$(json_get hot.json "d[\"redirected_keys\"] > 0, d[\"hot_keys_unavailable\"]")" = "(True, None)" &&
	checks_of hot.json hot-keys >got && echo "ok None" >expect && test_cmp expect got &&
	test_grep_not "refused OBJECT FREQ" hot.json
'

test_done
