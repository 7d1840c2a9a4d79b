#!/bin/sh
# ops-redisaudit on a 3-primary Redis Cluster: every primary scanned, totals = sum of nodes.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis_cluster || { echo "Bail out! the cluster did not come up"; exit 1; }
set -- $REDIS_CLUSTER_PORTS
P1=$1 P3=$3

# 1200 strings (600 with TTL), 300 hashes, 60 streams, spread over the slots.
awk 'BEGIN {
	for (i = 1; i <= 1200; i++) print (i % 2 ? "SET s:" i " v EX 900" : "SET s:" i " v")
	for (i = 1; i <= 300; i++) print "HSET h:" i " f v"
	for (i = 1; i <= 60; i++) print "XADD x:" i " * f v"
}' | redis-cli -c -p "$P1" >/dev/null


test_expect_success 'every primary is scanned, in parallel' '
	ops-redisaudit --format json --jobs 3 "$REDIS_CLUSTER_URL" >out.json; test $? -le 2 &&
	test "$(json_get out.json "d[\"mode\"]")" = cluster &&
	test "$(json_get out.json "len(d[\"nodes\"])")" = 3 &&
	test "$(json_get out.json "sorted(int(n[\"node\"].split(\":\")[1]) for n in d[\"nodes\"])")" = \
		"$(echo $REDIS_CLUSTER_PORTS | tr " " "\n" | sort -n | paste -sd, | sed "s/,/, /g; s/^/[/; s/$/]/")" &&
	test "$(json_get out.json "all(n[\"complete\"] and n[\"role\"] == \"primary\" for n in d[\"nodes\"])")" = True
'

test_expect_success 'totals are exact and equal the sum of the nodes' '
	test "$(json_get out.json "d[\"totals\"][\"keys\"], d[\"totals\"][\"no_ttl\"]")" = "(1560, 960)" &&
	test "$(json_get out.json "d[\"totals\"][\"types\"][\"string\"], d[\"totals\"][\"types\"][\"hash\"], d[\"totals\"][\"types\"][\"stream\"]")" = "(1200, 300, 60)" &&
	test "$(json_get out.json "sum(n[\"keys\"] for n in d[\"nodes\"]) == d[\"totals\"][\"keys\"]")" = True &&
	test "$(json_get out.json "sum(n[\"memory_bytes\"] for n in d[\"nodes\"]) == d[\"totals\"][\"memory_bytes\"]")" = True &&
	test "$(json_get out.json "sum(n[\"no_ttl\"] for n in d[\"nodes\"]) == d[\"totals\"][\"no_ttl\"]")" = True &&
	test "$(json_get out.json "all(n[\"keys\"] == n[\"dbsize\"] and n[\"keys\"] > 0 for n in d[\"nodes\"])")" = True
'

test_expect_success 'one job at a time gives the same totals' '
	ops-redisaudit --format json --jobs 1 "$REDIS_CLUSTER_URL" >j1.json; test $? -le 2 &&
	test "$(json_get j1.json "d[\"totals\"]")" = "$(json_get out.json "d[\"totals\"]")"
'

test_expect_success 'any node is a seed; prefixes merge across nodes' '
	ops-redisaudit --format json "redis://127.0.0.1:$P3" >seed3.json; test $? -le 2 &&
	test "$(json_get seed3.json "d[\"totals\"][\"keys\"]")" = 1560 &&
	test "$(json_get seed3.json "sorted((p[\"prefix\"], p[\"keys\"]) for p in d[\"prefixes\"])")" = \
		"[('"'"'h:*'"'"', 300), ('"'"'s:*'"'"', 1200), ('"'"'x:*'"'"', 60)]"
'

test_expect_success 'text shows the node table' '
	ops-redisaudit "$REDIS_CLUSTER_URL" >out.txt; test $? -le 2 &&
	test_grep "^nodes" out.txt && test_grep "127.0.0.1:$P1 *primary" out.txt
'

test_expect_success '--replica without replicas falls back to the primaries' '
	ops-redisaudit --format json --replica "$REDIS_CLUSTER_URL" >rep.json; test $? -le 2 &&
	test "$(json_get rep.json "d[\"totals\"][\"keys\"]")" = 1560
'

test_expect_code 3 'a database other than 0 is refused on a cluster' '
	ops-redisaudit "$REDIS_CLUSTER_URL/2"
'

test_expect_success 'a user that may not run INFO still audits the whole cluster' '
	for p in $REDIS_CLUSTER_PORTS; do
		redis-cli -p "$p" ACL SETUSER noinfo on ">ni-Pa55" "~*" +scan +type "+memory|usage" +pttl +xlen \
			+dbsize "+cluster|nodes" >/dev/null || return 1
	done &&
	{ ops-redisaudit --format json "redis://noinfo:ni-Pa55@127.0.0.1:$P1" >noinfo.json; test $? -eq 3; } &&
	test "$(json_get noinfo.json "d[\"mode\"] == \"cluster\", d[\"totals\"][\"keys\"], len(d[\"nodes\"])")" = "(True, 1560, 3)"
'

test_expect_success 'a cluster --resume token: finished nodes are skipped' '
	node3=$(json_get out.json "sorted(d[\"nodes\"], key=lambda n: n[\"node\"])[2][\"node\"]") &&
	keys3=$(json_get out.json "sorted(d[\"nodes\"], key=lambda n: n[\"node\"])[2][\"keys\"]") &&
	token=$(json_get out.json "\",\".join(n[\"node\"] + (\"=0\" if n[\"node\"] == \"$node3\" else \"=done\") for n in d[\"nodes\"])") &&
	{ ops-redisaudit --format json --resume "$token" "$REDIS_CLUSTER_URL" >res.json; test $? -le 2; } &&
	test "$(json_get res.json "d[\"totals\"][\"keys\"], d[\"complete\"]")" = "($keys3, True)"
'

test_expect_success 'a bare cursor is refused on a cluster (it would apply to every node)' '
	ops-redisaudit --format json --resume 1234 "$REDIS_CLUSTER_URL" >bare.json; test $? -eq 3 &&
	test_grep "a bare cursor resumes one node, and this cluster scans 3" bare.json
'

test_expect_success 'a token that misses a node (failover, new address) says so' '
	token=$(json_get out.json "\",\".join((\"10.9.9.9:1\" if i == 0 else n[\"node\"]) + \"=done\" for i, n in enumerate(sorted(d[\"nodes\"], key=lambda n: n[\"node\"])))") &&
	node1=$(json_get out.json "sorted(d[\"nodes\"], key=lambda n: n[\"node\"])[0][\"node\"]") &&
	{ ops-redisaudit --format json --resume "$token" "$REDIS_CLUSTER_URL" >miss.json; test $? -eq 3; } &&
	test_grep "names 10.9.9.9:1, no node now, and does not name $node1 (failover or address change?): $node1 scanned from cursor 0" miss.json
'

# SCAN counts from here on: cluster_wait_for_scan then sees this audit's first SCAN.
for port in $REDIS_CLUSTER_PORTS; do redis-cli -p "$port" CONFIG RESETSTAT >/dev/null; done
# --rate 200 makes the scan take about 8 s; the stop flag is read by every job's thread.
test_expect_success 'SIGINT during a parallel scan: every job stops, partial report, exit 3' '
	ops-redisaudit --format json --jobs 3 --rate 200 --count 10 "$REDIS_CLUSTER_URL" >int.json 2>int.err &
	pid=$! && cluster_wait_for_scan "$P1" && sleep 0.5 && kill -INT $pid && { wait $pid; rc=$?; } &&
	test $rc -eq 3 &&
	test "$(json_get int.json "d[\"complete\"]")" = False &&
	test "$(json_get int.json "d[\"totals\"][\"keys\"] < 1560")" = True
'

test_expect_success 'a primary that is down: the others are audited, exit 3, the node named' '
	kill -9 $(cat "$TRASH/cluster-3/redis.pid") &&
	# kill(2) returns before the kernel closes the listener: wait (bounded) until the
	# port refuses, or the audit may connect and then see a reset instead of a refusal
	port3=$(echo $REDIS_CLUSTER_PORTS | cut -d" " -f3) && n=0 &&
	while redis-cli -p "$port3" PING >/dev/null 2>&1 && test $n -lt 100; do
		sleep 0.05; n=$((n + 1))
	done &&
	{ ops-redisaudit --format json "$REDIS_CLUSTER_URL" >down.json 2>down.err; test $? -eq 3; } &&
	test "$(json_get down.json "d[\"complete\"]")" = False &&
	test "$(json_get down.json "sum(1 for n in d[\"nodes\"] if n[\"complete\"])")" = 2 &&
	test "$(json_get down.json "[n[\"error\"] for n in d[\"nodes\"] if not n[\"complete\"]][0].startswith(\"cannot connect\")")" = True &&
	test "$(json_get down.json "0 < d[\"totals\"][\"keys\"] < 1560")" = True &&
	test_grep "resume with --resume" down.err
'

test_done
