#!/bin/sh
# ops-redisaudit and IPv6 addresses, all read by one parser (conn_addr_split): the bare
# "::1:port" of CLUSTER NODES and MOVED, the "[::1]:port" labels a Sentinel and a primary
# are dialled by again (sentinel.c, replica.c), redis.address_map entries in either form,
# and a URL's host, where a bare IPv6 address stays refused (ambiguous without a port).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3
redis_ipv6_ok || skip_all "no IPv6 loopback (::1) on this machine"
REDIS_BIND="127.0.0.1 ::1"

start_redis primary || { echo "Bail out! redis-server did not start"; exit 1; }
PRIMARY_PORT=$REDIS_PORT
rcli EVAL "for i = 1, 300 do redis.call('SET', 'k:' .. i, 'x') end return 1" 0 >/dev/null
rcli CONFIG SET maxmemory 100mb >/dev/null
# The replica announces [::1]:DEAD_PORT, where nothing listens: only redis.address_map
# makes it reachable.
DEAD_PORT=$(free_port 55535)
start_redis replica -- --replicaof 127.0.0.1 "$PRIMARY_PORT" \
	--replica-announce-ip ::1 --replica-announce-port "$DEAD_PORT" ||
	{ echo "Bail out! replica did not start"; exit 1; }
REPLICA_PORT=$REDIS_PORT
n=0
until redis-cli -p "$PRIMARY_PORT" INFO replication | grep -q "ip=::1,port=$DEAD_PORT,state=online" ||
	test $n -gt 100; do
	sleep 0.1; n=$((n + 1))
done
start_redis_sentinel "$PRIMARY_PORT" mymaster || { echo "Bail out! sentinel did not start"; exit 1; }

# json_get's tuple of JSON strings, as Python prints it
strings() { python3 -c 'import sys; print(tuple(sys.argv[1:]))' "$@"; }

test_expect_success 'sentinel://[::1]:port: the Sentinel is dialled over IPv6' '
	ops-redisaudit --format json "sentinel://[::1]:$SENTINEL_PORT/mymaster" >sen.json 2>sen.err; test $? -le 2 &&
	test "$(json_get sen.json "d[\"sentinel\"]")" = \
		"Sentinel [::1]:$SENTINEL_PORT names 127.0.0.1:$PRIMARY_PORT as primary mymaster" &&
	test "$(json_get sen.json "d[\"totals\"][\"keys\"]")" = 300
'

test_expect_success 'a bare IPv6 address in a URL is refused, as before' '
	for url in "redis://::1" "redis://::1:$PRIMARY_PORT" "sentinel://::1:$SENTINEL_PORT/mymaster"; do
		ops-redisaudit "$url" >bare.out 2>bare.err; rc=$?
		test $rc -eq 3 || { echo "$url: exit $rc"; return 1; }
		grep -q "malformed host:port" bare.err || { echo "$url:"; cat bare.err; return 1; }
	done
'

for form in "::1:$DEAD_PORT" "[::1]:$DEAD_PORT"; do
	printf 'redis:\n  address_map: ["%s=127.0.0.1:%s"]\n' "$form" "$REPLICA_PORT" >"map-$form.yaml"
	test_expect_success "--replica on redis://[::1]:port, the replica mapped by $form" '
		ops-redisaudit --config "map-$form.yaml" --format json --replica "redis://[::1]:$PRIMARY_PORT" \
			>rep.json 2>rep.err; test $? -le 2 &&
		test "$(json_get rep.json "d[\"nodes\"][0][\"node\"], d[\"nodes\"][0][\"primary\"], d[\"nodes\"][0][\"facts_from\"]")" = \
			"$(strings "[::1]:$DEAD_PORT" "[::1]:$PRIMARY_PORT" "[::1]:$PRIMARY_PORT")" &&
		test "$(json_get rep.json "d[\"totals\"][\"keys\"]")" = 300 &&
		test_grep "maxmemory 100.0 MiB" rep.json
	'
done

test_expect_success 'without the map the announced [::1]:port is dialled (and refused)' '
	ops-redisaudit --format json --replica "redis://[::1]:$PRIMARY_PORT" >nomap.json 2>nomap.err; test $? -eq 3 &&
	test_grep "cannot connect to \[::1\]:$DEAD_PORT" nomap.json
'

start_redis_cluster_ipv6 || { echo "Bail out! the IPv6 cluster did not come up"; exit 1; }
set -- $REDIS_CLUSTER_PORTS
C1=$1 C2=$2
# Only keys of one slot, so the first SCAN batch lists some that then move.
awk 'BEGIN { for (i = 1; i <= 300; i++) print "SET {m}:" i " v" }' | redis-cli -p "$C1" >/dev/null
SLOT=$(redis-cli -p "$C1" CLUSTER KEYSLOT '{m}')

test_expect_success 'CLUSTER NODES with bare ::1:port: both nodes, labelled [::1]:port' '
	redis-cli -p "$C1" CLUSTER NODES | grep -q " ::1:$C2@" &&
	{ ops-redisaudit --format json "$REDIS_CLUSTER_URL" >c.json 2>c.err; test $? -le 2; } &&
	test "$(json_get c.json "sorted(n[\"node\"] for n in d[\"nodes\"]) == sorted([\"[::1]:$C1\", \"[::1]:$C2\"])")" = True &&
	test "$(json_get c.json "d[\"totals\"][\"keys\"]")" = 300
'

test_expect_success 'MOVED to a bare ::1:port is followed' '
	redis-cli -p "$C1" CONFIG RESETSTAT >/dev/null &&
	{ ops-redisaudit --format json --count 100 --pause-ms 2500 "$REDIS_CLUSTER_URL" >moved.json 2>moved.err & pid=$!; } &&
	cluster_wait_for_scan "$C1" && cluster_migrate_keys "$C1" "$C2" && cluster_give_slot "$C2" || { wait $pid; exit 1; }
	wait $pid; code=$?
	test $code -le 2 &&
	test "$(json_get moved.json "d[\"redirected_keys\"] > 0")" = True &&
	checks_of moved.json unreadable-keys >got && ! test -s got
'

test_done
