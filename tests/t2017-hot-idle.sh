#!/bin/sh
# ops-redisaudit's hot and idle keys: OBJECT FREQ per key under an LFU maxmemory-policy (or
# with --hot) and a hot-key table; --idle adds OBJECT IDLETIME and keys/memory per idle
# bucket. The default audit sends neither; a refusal (wrong policy, ACL) is UNKNOWN with
# the server's reason, never OK.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis --acl-user auditor auditpw || { echo "Bail out! redis-server did not start"; exit 1; }
rcli CONFIG SET maxmemory 1gb >/dev/null

rcli EVAL "for i = 1, 50 do redis.call('SET', 'k:' .. i, string.rep('v', 100)) end
redis.call('SET', 'k:hot', 'v')
return 1" 0 >/dev/null

check_of() { python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["checks"]:
    if c["id"] == sys.argv[2]:
        print(c["status"], c["message"])' "$@"; }

object_calls() { rcli INFO commandstats | sed -n "s/^cmdstat_object|$1:calls=\([0-9]*\).*/\1/p"; }

test_expect_success 'default audit: no OBJECT command, hot keys unavailable with the reason' '
	rcli CONFIG RESETSTAT >/dev/null &&
	ops-redisaudit --format json "$REDIS_URL" >def.json &&
	test -z "$(object_calls freq)" && test -z "$(object_calls idletime)" &&
	json_assert def.json "
assert d[\"hot_keys\"] is None, d[\"hot_keys\"]
assert \"maxmemory-policy is noeviction, not an LFU policy\" in d[\"hot_keys_unavailable\"], d[\"hot_keys_unavailable\"]
assert \"idle_buckets\" not in d
assert not [c for c in d[\"checks\"] if c[\"id\"] in (\"hot-keys\", \"idle-keys\")]
"
'

test_expect_success '--idle: keys and memory per idle bucket' '
	ops-redisaudit --idle --format json "$REDIS_URL" >idle.json &&
	test "$(object_calls idletime)" = 51 &&
	json_assert idle.json "
b = d[\"idle_buckets\"]
assert list(b) == [\"lt_1h\", \"1h_1d\", \"1d_7d\", \"gt_7d\"], list(b)
assert b[\"lt_1h\"][\"keys\"] == 51 and b[\"lt_1h\"][\"memory_bytes\"] == d[\"totals\"][\"memory_bytes\"], b
assert all(b[k] == {\"keys\": 0, \"memory_bytes\": 0} for k in (\"1h_1d\", \"1d_7d\", \"gt_7d\")), b
c = [c for c in d[\"checks\"] if c[\"id\"] == \"idle-keys\"][0]
assert c[\"status\"] == \"ok\", c
" &&
	ops-redisaudit --idle "$REDIS_URL" >idle.txt &&
	test_grep "^idle  *<1h 51 " idle.txt
'

test_expect_code 3 '--hot without an LFU policy: UNKNOWN with the server'"'"'s reason' '
	ops-redisaudit --hot --format json "$REDIS_URL" >hot.json
	rc=$? && check_of hot.json hot-keys >got && cat got &&
	grep -q "^unknown .*refused OBJECT FREQ .*LFU maxmemory policy is not selected" got && exit $rc
'

test_expect_success 'LFU policy: hot-key table with the hammered key first' '
	rcli CONFIG SET maxmemory-policy allkeys-lfu >/dev/null &&
	i=0 && while [ $i -lt 1000 ]; do echo "GET k:hot"; i=$((i + 1)); done | rcli >/dev/null &&
	ops-redisaudit --format json "$REDIS_URL" >lfu.json &&
	json_assert lfu.json "
h = d[\"hot_keys\"]
assert d[\"hot_keys_unavailable\"] is None
assert h[0][\"key\"] == \"k:hot\" and h[0][\"freq\"] > h[1][\"freq\"], h[:2]
assert len(h) == 10 and set(h[0]) == {\"key\", \"type\", \"freq\", \"memory_bytes\", \"node\"}, h[0]
c = [c for c in d[\"checks\"] if c[\"id\"] == \"hot-keys\"][0]
assert c[\"status\"] == \"ok\" and \"\\\"k:hot\\\"\" in c[\"message\"], c
" &&
	ops-redisaudit "$REDIS_URL" >lfu.txt &&
	test_grep "^hot keys (OBJECT FREQ" lfu.txt
'

test_expect_code 3 '--idle under an LFU policy: UNKNOWN, the server tracks no idle time' '
	ops-redisaudit --idle --format json "$REDIS_URL" >lfuidle.json
	rc=$? && check_of lfuidle.json idle-keys >got && cat got &&
	grep -q "^unknown .*refused OBJECT IDLETIME .*LFU maxmemory policy is selected" got && exit $rc
'

test_expect_code 3 'an audit user denied OBJECT: hot keys UNKNOWN with the NOPERM reason' '
	rcli ACL SETUSER auditor -object >/dev/null &&
	{ ops-redisaudit --format json "redis://auditor:auditpw@127.0.0.1:$REDIS_PORT" >acl.json; rc=$?; } &&
	check_of acl.json hot-keys >got && cat got &&
	grep -q "^unknown .*refused OBJECT FREQ .*NOPERM" got && exit $rc
'

test_expect_success 'LFU policy and no key: the hot-key table is empty for that reason' '
	rcli FLUSHALL >/dev/null &&
	ops-redisaudit --format json "$REDIS_URL" >empty.json &&
	json_assert empty.json "
assert d[\"hot_keys\"] is None and d[\"hot_keys_unavailable\"] == \"no key answered OBJECT FREQ\", d[\"hot_keys_unavailable\"]
"
'

test_done
