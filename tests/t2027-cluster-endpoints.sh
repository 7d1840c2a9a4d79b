#!/bin/sh
# ops-redisaudit and the addresses a cluster announces: the endpoint CLUSTER SHARDS gives
# (cluster-announce-hostname with cluster-preferred-endpoint-type hostname, else the IP),
# and redis.address_map that dials an announced address elsewhere (here names that resolve
# nowhere, mapped to the real loopback ports, so no lookup happens).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis_cluster || { echo "Bail out! the cluster did not come up"; exit 1; }
set -- $REDIS_CLUSTER_PORTS
P1=$1
awk 'BEGIN { for (i = 1; i <= 600; i++) print "SET k:" i " v" }' | redis-cli -c -p "$P1" >/dev/null

i=0
for p in $REDIS_CLUSTER_PORTS; do
	i=$((i + 1))
	redis-cli -p "$p" CONFIG SET cluster-announce-hostname "node-$i.opskit.invalid" >/dev/null
	redis-cli -p "$p" CONFIG SET cluster-preferred-endpoint-type hostname >/dev/null
done
# Hostnames travel by gossip: wait (bounded) until the seed knows all three.
n=0
until test "$(redis-cli -p "$P1" CLUSTER NODES | grep -c 'opskit\.invalid')" = 3 || test $n -gt 100; do
	sleep 0.1; n=$((n + 1))
done

{
	echo "redis:"
	echo "  address_map:"
	i=0
	for p in $REDIS_CLUSTER_PORTS; do
		i=$((i + 1))
		echo "    - node-$i.opskit.invalid:$p=127.0.0.1:$p"
	done
} >map.yaml

test_expect_success 'announced hostnames, dialled through the address map' '
	ops-redisaudit --config map.yaml --format json "$REDIS_CLUSTER_URL" >map.json 2>map.err; test $? -le 2 &&
	test "$(json_get map.json "d[\"totals\"][\"keys\"], d[\"complete\"], d[\"slots_uncovered\"]")" = "(600, True, 0)" &&
	test "$(json_get map.json "sorted(n[\"node\"].split(\":\")[0] for n in d[\"nodes\"])")" = \
		"['"'"'node-1.opskit.invalid'"'"', '"'"'node-2.opskit.invalid'"'"', '"'"'node-3.opskit.invalid'"'"']"
'

test_expect_success 'cluster-preferred-endpoint-type ip: the IPs, hostnames or not' '
	for p in $REDIS_CLUSTER_PORTS; do
		redis-cli -p "$p" CONFIG SET cluster-preferred-endpoint-type ip >/dev/null || return 1
	done &&
	{ ops-redisaudit --format json "$REDIS_CLUSTER_URL" >ip.json 2>ip.err; test $? -le 2; } &&
	test "$(json_get ip.json "d[\"totals\"][\"keys\"], sorted(set(n[\"node\"].split(\":\")[0] for n in d[\"nodes\"]))")" = \
		"(600, ['"'"'127.0.0.1'"'"'])"
'

test_expect_success 'a malformed address_map entry is a config error' '
	printf "redis:\n  address_map: [\"10.0.0.1=127.0.0.1:1\"]\n" >bad.yaml &&
	{ ops-redisaudit --config bad.yaml --format json "$REDIS_CLUSTER_URL" >bad.json 2>bad.err; test $? -eq 3; } &&
	checks_of bad.json config >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "10.0.0.1=127.0.0.1:1" bad.json
'

test_done
