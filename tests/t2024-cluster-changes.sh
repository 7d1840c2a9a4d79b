#!/bin/sh
# ops-redisaudit on a cluster that changes during the scan: a slot migrated while a slow
# scan runs (ASK, then MOVED: keys followed to the node holding them, the slot reported
# as migrating; a redirect that cannot be followed is counted), a healthy cluster's slot
# coverage, and a primary flagged fail (not dialled, its slots reported uncovered).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis_cluster || { echo "Bail out! the cluster did not come up"; exit 1; }
set -- $REDIS_CLUSTER_PORTS
P1=$1 P3=$3

# 300 keys in the slot of {m}, 600 spread over every slot.
awk 'BEGIN {
	for (i = 1; i <= 300; i++) print "SET {m}:" i " v"
	for (i = 1; i <= 600; i++) print "SET o:" i " v"
}' | redis-cli -c -p "$P1" >/dev/null

SLOT=$(redis-cli -p "$P1" CLUSTER KEYSLOT '{m}')
reset_stats() { for p in $REDIS_CLUSTER_PORTS; do redis-cli -p "$p" CONFIG RESETSTAT >/dev/null; done; }

test_expect_success 'a stable cluster: every slot covered, nothing redirected' '
	ops-redisaudit --format json "$REDIS_CLUSTER_URL" >ok.json; test $? -le 2 &&
	checks_of ok.json slot-coverage >got && echo "ok None" >expect && test_cmp expect got &&
	test "$(json_get ok.json "d[\"slots_uncovered\"], d[\"slots_migrating\"], d[\"redirected_keys\"], d[\"totals\"][\"keys\"]")" = "(0, 0, 0, 900)"
'

test_expect_success 'a slot migrating during the scan: ASK followed, the slot reported' '
	src=$(cluster_slot_owner) && dst=$(cluster_other_port "$src") && reset_stats &&
	{ ops-redisaudit --format json --count 100 --pause-ms 1500 "$REDIS_CLUSTER_URL" >ask.json 2>ask.err & pid=$!; } &&
	cluster_wait_for_scan "$src" && cluster_migrate_keys "$src" "$dst" || { wait $pid; cluster_give_slot "$dst"; exit 1; }
	wait $pid; code=$?
	cluster_give_slot "$dst" && test $code -eq 1 &&
	checks_of ask.json slot-coverage >got && echo "warning None" >expect && test_cmp expect got &&
	test "$(json_get ask.json "d[\"slots_migrating\"], d[\"slots_uncovered\"], d[\"redirected_keys\"] > 0")" = "(1, 0, True)" &&
	checks_of ask.json unreadable-keys >got && ! test -s got &&
	test_grep "counted twice or not at all" ask.json &&
	test "$(redis-cli -p "$dst" INFO commandstats | grep -c "^cmdstat_asking:")" = 1
'

test_expect_success 'a slot moved during the scan: MOVED followed, the slot reported' '
	src=$(cluster_slot_owner) && dst=$(cluster_other_port "$src") && reset_stats &&
	{ ops-redisaudit --format json --count 100 --pause-ms 2500 "$REDIS_CLUSTER_URL" >moved.json 2>moved.err & pid=$!; } &&
	cluster_wait_for_scan "$src" && cluster_migrate_keys "$src" "$dst" && cluster_give_slot "$dst" || { wait $pid; exit 1; }
	wait $pid; code=$?
	test $code -eq 1 &&
	test "$(json_get moved.json "d[\"slots_migrating\"], d[\"redirected_keys\"] > 0")" = "(1, True)" &&
	checks_of moved.json unreadable-keys >got && ! test -s got &&
	test "$(redis-cli -p "$dst" INFO commandstats | grep -c "^cmdstat_asking:")" = 0 &&
	test_grep "answered MOVED/ASK and were read on the node holding them now" moved.json
'

test_expect_success 'a redirect to a node out of reach: the keys are skipped as moved, not lost silently' '
	src=$(cluster_slot_owner) && dst=$(cluster_other_port "$src") && dead=$(free_port 55535) && reset_stats &&
	printf "redis:\n  address_map: [\"127.0.0.1:$dst=127.0.0.1:$dead\"]\n" >dead.yaml &&
	{ ops-redisaudit --config dead.yaml --format json --count 100 --pause-ms 1500 "$REDIS_CLUSTER_URL" >dead.json 2>dead.err & pid=$!; } &&
	cluster_wait_for_scan "$src" && cluster_migrate_keys "$src" "$dst" && cluster_give_slot "$dst" || { wait $pid; exit 1; }
	wait $pid; code=$?
	test $code -eq 3 &&
	test "$(json_get dead.json "d[\"redirected_keys\"], d[\"totals\"][\"skipped\"][\"moved\"] > 0")" = "(0, True)" &&
	checks_of dead.json unreadable-keys >got && echo "unknown moved" >expect && test_cmp expect got
'

test_expect_success 'a primary flagged fail: not dialled, its slots reported uncovered' '
	for p in $REDIS_CLUSTER_PORTS; do
		redis-cli -p "$p" CONFIG SET cluster-node-timeout 500 >/dev/null &&
		redis-cli -p "$p" CONFIG SET cluster-require-full-coverage no >/dev/null || return 1
	done &&
	p3=$P3 && kill -9 $(cat "$TRASH/cluster-3/redis.pid") && n=0 &&
	until redis-cli -p "$P1" CLUSTER NODES | grep ":$p3@" | grep -q "master,fail " || test $n -gt 150; do
		sleep 0.1; n=$((n + 1))
	done &&
	{ ops-redisaudit --format json "$REDIS_CLUSTER_URL" >fail.json 2>fail.err; test $? -eq 3; } &&
	test "$(json_get fail.json "len(d[\"nodes\"]), d[\"complete\"], d[\"slots_uncovered\"] > 5000")" = "(2, False, True)" &&
	checks_of fail.json slot-coverage >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "not covered by a healthy primary (failed: 127.0.0.1:$p3)" fail.json &&
	test_grep_not "cannot connect" fail.json &&
	{ ops-redisaudit --format json --no-scan "$REDIS_CLUSTER_URL" >fail-noscan.json; test $? -eq 3; } &&
	checks_of fail-noscan.json slot-coverage >got && test_cmp expect got
'

test_done
