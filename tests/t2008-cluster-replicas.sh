#!/bin/sh
# ops-redisaudit --replica: on a cluster with a replica per primary, the replicas are scanned
# (READONLY) and the totals still cover every key once.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis_cluster --replicas || { cat "$TRASH"/cluster-*/redis.log | tail -20 | sed "s/^/# /"; echo "Bail out! the cluster did not come up"; exit 1; }
set -- $REDIS_CLUSTER_PORTS

awk 'BEGIN { for (i = 1; i <= 900; i++) print "SET k:" i " v"; for (i = 1; i <= 90; i++) print "RPUSH l:" i " a b" }' |
	redis-cli -c -p "$1" >/dev/null
# Replication is asynchronous: wait until every replica holds its primary's keys.
n=0
while :; do
	sum=0
	for p in $REDIS_CLUSTER_PORTS; do
		if redis-cli -p "$p" ROLE | head -n 1 | grep -q slave; then
			sum=$((sum + $(redis-cli -p "$p" DBSIZE)))
		fi
	done
	[ "$sum" -eq 990 ] && break
	n=$((n + 1)); [ $n -gt 100 ] && { echo "Bail out! replicas did not sync ($sum keys)"; exit 1; }
	sleep 0.1
done


test_expect_success 'without --replica: the three primaries' '
	ops-redisaudit --format json "$REDIS_CLUSTER_URL" >p.json; test $? -le 2 &&
	test "$(json_get p.json "sorted(n[\"role\"] for n in d[\"nodes\"])")" = "['"'"'primary'"'"', '"'"'primary'"'"', '"'"'primary'"'"']" &&
	test "$(json_get p.json "d[\"totals\"][\"keys\"]")" = 990
'

test_expect_success '--replica: one replica per primary, same totals' '
	ops-redisaudit --format json --replica "$REDIS_CLUSTER_URL" >r.json; test $? -le 2 &&
	test "$(json_get r.json "sorted(n[\"role\"] for n in d[\"nodes\"])")" = "['"'"'replica'"'"', '"'"'replica'"'"', '"'"'replica'"'"']" &&
	test "$(json_get r.json "len(set(n[\"primary\"] for n in d[\"nodes\"]))")" = 3 &&
	test "$(json_get r.json "d[\"totals\"][\"keys\"], d[\"totals\"][\"types\"][\"list\"]")" = "(990, 90)" &&
	test "$(json_get r.json "sorted(n[\"node\"] for n in d[\"nodes\"]) != sorted(n[\"node\"] for n in json.load(open(\"p.json\"))[\"nodes\"])")" = True
'

test_expect_success '--replica leaves the primaries alone (no TYPE on them)' '
	for p in $REDIS_CLUSTER_PORTS; do redis-cli -p "$p" CONFIG RESETSTAT >/dev/null; done &&
	{ ops-redisaudit --format json --replica "$REDIS_CLUSTER_URL" >r2.json; test $? -le 2; } &&
	for p in $REDIS_CLUSTER_PORTS; do
		if redis-cli -p "$p" ROLE | head -n 1 | grep -q master; then
			! redis-cli -p "$p" INFO commandstats | grep -q "^cmdstat_type:" || { echo "TYPE ran on primary $p"; return 1; }
		fi
	done
'

test_expect_success '--replica: maxmemory is read from each replica'"'"'s primary, and said so' '
	test "$(json_get r.json "all(n[\"facts_from\"] == n[\"primary\"] for n in d[\"nodes\"])")" = True &&
	json_get r.json "sorted(c[\"subject\"] for c in d[\"checks\"] if c[\"id\"] == \"maxmemory\")" >got &&
	json_get r.json "sorted(n[\"primary\"] for n in d[\"nodes\"])" >expect && test_cmp expect got
'

test_done
