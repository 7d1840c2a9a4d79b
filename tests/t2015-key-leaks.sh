#!/bin/sh
# ops-redisaudit's key-leak check and the prefix folding it relies on: hash-tag segments
# ({user:42}:cart) and segments matching redis.id_patterns fold to ids; a prefix with more
# than redis.thresholds.leak_keys keys of which almost none expire is a WARNING, with its
# growth since a previous JSON report given with --compare.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
rcli CONFIG SET maxmemory 1gb >/dev/null   # the maxmemory check stays OK: exit codes are ours

prefixes_of() { python3 -c '
import json, sys
for p in sorted(json.load(open(sys.argv[1]))["prefixes"], key=lambda p: p["prefix"]):
    print(p["prefix"], p["keys"])' "$1"; }

checks_of() { python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["checks"]:
    if c["id"] == sys.argv[2]:
        print(c["status"], c["subject"])' "$@"; }

test_expect_success 'hash-tagged segments fold into one prefix' '
	rcli FLUSHALL >/dev/null &&
	rcli MSET "{user:42}:cart" a "{user:43}:cart" a "{user:44}:cart" a "cart:{user:42}" a \
		"cart:{user:43}" a "{}:odd" a >/dev/null &&
	ops-redisaudit --format json "$REDIS_URL" >out.json &&
	prefixes_of out.json >got &&
	printf "%s\n" "cart:* 2" "{*}:cart 3" "{}:* 1" >expect &&
	test_cmp expect got
'

test_expect_success 'redis.id_patterns marks more segments as ids' '
	rcli FLUSHALL >/dev/null &&
	rcli MSET order:ab-12:items a order:cd-34:items a order:ef-56:items a >/dev/null &&
	ops-redisaudit --format json "$REDIS_URL" >out.json &&
	prefixes_of out.json >got &&
	printf "%s\n" "order:ab-12:* 1" "order:cd-34:* 1" "order:ef-56:* 1" >expect &&
	test_cmp expect got &&
	printf "redis:\n  id_patterns:\n    - \"[a-z]{2}-[0-9]+\"\n" >ids.yaml &&
	ops-redisaudit --config ids.yaml --format json "$REDIS_URL" >out.json &&
	prefixes_of out.json >got &&
	echo "order:*:items 3" >expect &&
	test_cmp expect got
'

test_expect_code 3 'a bad id pattern is a located config error' '
	printf "redis:\n  id_patterns:\n    - \"(unclosed\"\n" >bad.yaml &&
	{ ops-redisaudit --config bad.yaml "$REDIS_URL" >out 2>err; rc=$?; } &&
	cat out err && grep -q "bad.yaml:[0-9]*:[0-9]*: redis.id_patterns item 1" err && exit $rc
'

# 2000 session:<id> keys without TTL, 10 with (0.5%); mix:<id> 1140 without and 60 with (5%):
# not a leak, its keys do expire; leak_keys lowered to 1000.
rcli FLUSHALL >/dev/null
rcli EVAL "for i = 1, 2000 do redis.call('SET', 'session:' .. i, 'v') end
for i = 1, 10 do redis.call('SET', 'session:t' .. i, 'v', 'EX', 3600) end
for i = 1, 1200 do
  if i <= 60 then redis.call('SET', 'mix:' .. i, 'v', 'EX', 3600) else redis.call('SET', 'mix:' .. i, 'v') end
end
for i = 1, 1500 do redis.call('SET', 'cache:' .. i, 'v', 'EX', 3600) end
for i = 1, 500 do redis.call('SET', 'small:' .. i, 'v') end
return 1" 0 >/dev/null
printf "redis:\n  thresholds:\n    leak_keys: 1000\n" >leak.yaml

test_expect_success 'a big prefix that never expires is a key leak; expiring or small ones are not' '
	{ ops-redisaudit --config leak.yaml --format json "$REDIS_URL" >leak1.json; test $? -eq 1; } &&
	checks_of leak1.json key-leak >got &&
	echo "warning session:*" >expect && test_cmp expect got &&
	json_assert leak1.json "
c = [c for c in d[\"checks\"] if c[\"id\"] == \"key-leak\"][0]
assert \"2010 keys under session:*\" in c[\"message\"], c
assert \"size now\" in c[\"message\"], c
m = {x[\"name\"]: x[\"value\"] for x in c[\"metrics\"]}
assert m[\"prefix_keys\"] == 2010, m
"
'

test_expect_success 'leak_keys is a bound: more keys than it leak, as many do not' '
	printf "redis:\n  thresholds:\n    leak_keys: 2010\n" >at.yaml &&
	ops-redisaudit --config at.yaml --format json "$REDIS_URL" >at.json &&
	checks_of at.json key-leak >got &&
	echo "ok None" >expect && test_cmp expect got &&
	printf "redis:\n  thresholds:\n    leak_keys: 2009\n" >below.yaml &&
	{ ops-redisaudit --config below.yaml --format json "$REDIS_URL" >below.json; test $? -eq 1; } &&
	checks_of below.json key-leak >got &&
	echo "warning session:*" >expect && test_cmp expect got
'

test_expect_success 'the default threshold (10000 keys) finds no leak here' '
	ops-redisaudit --format json "$REDIS_URL" >def.json &&
	checks_of def.json key-leak >got &&
	echo "ok None" >expect && test_cmp expect got
'

test_expect_success '--compare says how much the prefix grew since a previous report' '
	rcli EVAL "for i = 2001, 2500 do redis.call(\"SET\", \"session:\" .. i, \"v\") end return 1" 0 >/dev/null &&
	{ ops-redisaudit --config leak.yaml --compare leak1.json --format json "$REDIS_URL" >leak2.json; test $? -eq 1; } &&
	json_assert leak2.json "
c = [c for c in d[\"checks\"] if c[\"id\"] == \"key-leak\"][0]
assert c[\"status\"] == \"warning\", c
assert \"grew by 500 keys\" in c[\"message\"] and \"(2010)\" in c[\"message\"], c
m = {x[\"name\"]: x[\"value\"] for x in c[\"metrics\"]}
assert m[\"prefix_keys_growth\"] == 500, m
"
'

test_expect_success '--compare: a prefix that did not grow is OK' '
	ops-redisaudit --config leak.yaml --compare leak2.json --format json "$REDIS_URL" >leak3.json &&
	checks_of leak3.json key-leak >got &&
	echo "ok session:*" >expect && test_cmp expect got
'

test_expect_code 3 '--compare with a file that is no report: UNKNOWN, said why' '
	echo "{}" >notreport.json &&
	{ ops-redisaudit --config leak.yaml --compare notreport.json --format json "$REDIS_URL" >cmp.json; rc=$?; } &&
	json_assert cmp.json "
c = [c for c in d[\"checks\"] if c[\"id\"] == \"key-leak\" and c[\"subject\"] == \"compare\"][0]
assert c[\"status\"] == \"unknown\" and \"no \\\"prefixes\\\" list\" in c[\"message\"], c
" && exit $rc
'

test_done
