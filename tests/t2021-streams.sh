#!/bin/sh
# ops-redisaudit: stream consumer groups (entries trimmed before a group read them,
# lag, dead workers, groups nobody reads, XINFO refused) and the server's memory context
# (headroom to maxmemory by policy, the metrics of INFO memory), on a real redis-server.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }

# jobs: group "slow" read 2 entries, then the producer trimmed to 3 of 10: 5 lost.
# group "fresh" was created at 0 after the first 5 and never read: 7 lost.
# group "late" was created at $: nothing lost, nothing to deliver.
populate() {
	rcli EVAL "
	redis.call('XGROUP', 'CREATE', 'jobs', 'slow', '\$', 'MKSTREAM')
	for i = 1, 5 do redis.call('XADD', 'jobs', i .. '-0', 'f', 'v') end
	redis.call('XGROUP', 'CREATE', 'jobs', 'fresh', '0')
	redis.call('XREADGROUP', 'GROUP', 'slow', 'w1', 'COUNT', 2, 'STREAMS', 'jobs', '>')
	for i = 6, 10 do redis.call('XADD', 'jobs', 'MAXLEN', 3, i .. '-0', 'f', 'v') end
	redis.call('XGROUP', 'CREATE', 'jobs', 'late', '\$')
	for i = 1, 30 do redis.call('XADD', 'mail', '*', 'f', 'v') end
	redis.call('XGROUP', 'CREATE', 'mail', 'senders', '0')
	redis.call('XREADGROUP', 'GROUP', 'senders', 'w1', 'COUNT', 5, 'STREAMS', 'mail', '>')
	return 1" 0 >/dev/null
}
populate

test_expect_success 'a group behind a trimmed stream: CRITICAL with the entries lost' '
	{ ops-redisaudit --format json "$REDIS_URL" >all.json; test $? -eq 2; } &&
	checks_of all.json stream-group-lost | sort >got &&
	printf "%s\n" "critical jobs/fresh" "critical jobs/slow" >expect && test_cmp expect got &&
	test_grep "group slow of stream \\\\\"jobs\\\\\" lost 5 entries" all.json &&
	test_grep "group fresh of stream \\\\\"jobs\\\\\" lost 7 entries" all.json &&
	json_assert all.json "
g = {(r[\"stream\"], r[\"group\"]): r for r in d[\"stream_groups\"]}
assert g[(\"jobs\", \"slow\")][\"lost\"] == 5 and g[(\"jobs\", \"slow\")][\"lag\"] == 3, g
assert g[(\"jobs\", \"late\")][\"lost\"] == 0 and g[(\"jobs\", \"late\")][\"lag\"] == 0, g
assert g[(\"mail\", \"senders\")][\"lag\"] == 25 and g[(\"mail\", \"senders\")][\"pending\"] == 5, g
assert g[(\"jobs\", \"slow\")][\"first_entry_id\"] == \"8-0\", g"
'

test_expect_success 'lag over --stream-lag and a group without consumers: WARNING' '
	{ ops-redisaudit --format json --stream-lag 20 "$REDIS_URL" >lag.json; test $? -eq 2; } &&
	checks_of lag.json stream-group-lag >got && echo "warning mail/senders" >expect && test_cmp expect got &&
	checks_of lag.json stream-group-no-consumers >got && echo "warning jobs/fresh" >expect && test_cmp expect got
'

test_expect_success 'a consumer idle with pending entries: WARNING past --consumer-idle only' '
	sleep 1.2 &&
	{ ops-redisaudit --format json --consumer-idle 1s "$REDIS_URL" >idle.json; test $? -eq 2; } &&
	checks_of idle.json stream-consumer-idle | sort >got &&
	printf "%s\n" "warning jobs/slow" "warning mail/senders" >expect && test_cmp expect got &&
	{ ops-redisaudit --format json --consumer-idle 1h "$REDIS_URL" >busy.json; test $? -eq 2; } &&
	checks_of busy.json stream-consumer-idle >got && echo "ok None" >expect && test_cmp expect got
'

test_expect_success '--no-scan reads the watched streams only, with per-group lag metrics' '
	cat >watch.yaml <<-EOF &&
	redis:
	  stream_groups:
	    watch: [mail, nosuch]
	EOF
	{ ops-redisaudit --config watch.yaml --no-scan --format json "$REDIS_URL" >ns.json; test $? -eq 3; } &&
	json_assert ns.json "assert sorted({r[\"stream\"] for r in d[\"stream_groups\"]}) == [\"mail\"], d[\"stream_groups\"]" &&
	checks_of ns.json stream-group-lag >got && echo "ok mail/senders" >expect && test_cmp expect got &&
	checks_of ns.json stream-group-lost >got && printf "%s\n" "unknown nosuch" "ok None" >expect && test_cmp expect got &&
	{ ops-redisaudit --config watch.yaml --no-scan --format prometheus "$REDIS_URL" >ns.prom; test $? -eq 3; } &&
	test_grep "opskit_redisaudit_group_lag.*mail/senders.* 25" ns.prom
'

test_expect_success 'a user without +xinfo: UNKNOWN with the reason, never OK' '
	rcli ACL SETUSER noxinfo on ">nx-Pa55" "~*" "+@all" "-xinfo" >/dev/null &&
	{ ops-redisaudit --format json "redis://noxinfo:nx-Pa55@127.0.0.1:$REDIS_PORT" >nx.json; test $? -eq 3; } &&
	checks_of nx.json stream-group-lost >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "cannot read the consumer groups of 2 streams" nx.json &&
	test_grep "NOPERM" nx.json &&
	test_grep_not "nx-Pa55" nx.json
'

test_expect_success 'memory context: one row per node, its metrics, also with --no-scan' '
	json_assert all.json "
m = d[\"memory_context\"][0]
assert m[\"used_memory\"] > 0 and m[\"keys_memory\"] > 0 and m[\"maxmemory_policy\"] == \"noeviction\", m" &&
	checks_of all.json memory-context >got && echo "ok 127.0.0.1:$REDIS_PORT" >expect && test_cmp expect got &&
	{ ops-redisaudit --no-scan --format prometheus "$REDIS_URL" >mem.prom; test $? -le 1; } &&
	test_grep "opskit_redisaudit_used_memory_bytes" mem.prom &&
	test_grep "opskit_redisaudit_evicted_keys" mem.prom
'

test_expect_success 'fragmentation over the ratio, once the bytes matter: WARNING' '
	cat >frag.yaml <<-EOF &&
	redis:
	  thresholds:
	    fragmentation_warning: 1.01
	    fragmentation_min_bytes: 0
	EOF
	{ ops-redisaudit --config frag.yaml --no-scan --format json "$REDIS_URL" >frag.json; test $? -eq 1; } &&
	checks_of frag.json fragmentation >got && echo "warning 127.0.0.1:$REDIS_PORT" >expect && test_cmp expect got &&
	{ ops-redisaudit --no-scan --format json "$REDIS_URL" >nofrag.json; test $? -eq 1; } &&
	checks_of nofrag.json fragmentation >got && ! test -s got
'

# maxmemory at about 85% of what the server uses now, with policy $1; its report in $2.
audit_near_full() {
	used=$(rcli INFO memory | sed -n "s/^used_memory:\([0-9]*\).*/\1/p")
	rcli CONFIG SET maxmemory-policy "$1" >/dev/null
	rcli CONFIG SET maxmemory $((used * 100 / 85 + 1)) >/dev/null
	ops-redisaudit --no-scan --format json "$REDIS_URL" >"$2"
	rc=$?
	rcli CONFIG SET maxmemory 0 >/dev/null
	rcli CONFIG SET maxmemory-policy noeviction >/dev/null
	return $rc
}

test_expect_success 'maxmemory near full under noeviction: WARNING (writes would fail)' '
	{ audit_near_full noeviction near.json; test $? -eq 1; } &&
	checks_of near.json memory-headroom >got && echo "warning 127.0.0.1:$REDIS_PORT" >expect && test_cmp expect got
'

test_expect_success 'maxmemory near full under allkeys-lru: OK (eviction is its design)' '
	{ audit_near_full allkeys-lru lru.json; test $? -eq 0; } &&
	checks_of lru.json memory-headroom >got && echo "ok 127.0.0.1:$REDIS_PORT" >expect && test_cmp expect got
'

test_done
