#!/bin/sh
# ops-redisaudit: data types beyond the core ones. Module types keep their names
# (ReJSON-RL, TSDB-TYPE, ...; at most 16 names, the rest counted): a scripted server answers
# TYPE with those names, and a real redis-server loads Debian's RediSearch module, whose
# index keys are of the module types ft_index0 and ft_invidx.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

INFO='"info": "redis_version:7.0.0\r\nmaxmemory:0\r\n# Keyspace\r\ndb0:keys=4,expires=0\r\n"'

test_expect_success 'module types are counted under their names, and still as other' '
	cat >mod.json <<-EOF &&
	{$INFO,
	 "scan": {"0": ["0", ["doc:1", "doc:2", "ts:1", "bf:1", "s:1"]]},
	 "keys": {"doc:1": {"type": "ReJSON-RL", "memory": 100}, "doc:2": {"type": "ReJSON-RL", "memory": 50},
	          "ts:1": {"type": "TSDB-TYPE", "memory": 70}, "bf:1": {"type": "MBbloom--", "memory": 30},
	          "s:1": {"type": "string", "memory": 10}}}
	EOF
	start_fake_redis mod.json &&
	{ ops-redisaudit --format json "redis://127.0.0.1:$FAKE_REDIS_PORT" >mod.out; test $? -le 2; } &&
	json_assert mod.out "
t = d[\"totals\"]
assert t[\"module_types\"] == {\"ReJSON-RL\": {\"keys\": 2, \"memory_bytes\": 150},
    \"TSDB-TYPE\": {\"keys\": 1, \"memory_bytes\": 70}, \"MBbloom--\": {\"keys\": 1, \"memory_bytes\": 30}}, t
assert t[\"types\"][\"other\"] == 4 and t[\"module_types_other_keys\"] == 0, t" &&
	start_fake_redis mod.json &&
	{ ops-redisaudit "redis://127.0.0.1:$FAKE_REDIS_PORT" >mod.txt; test $? -le 2; } &&
	test_grep "^modules  ReJSON-RL 2 (150 B) TSDB-TYPE 1 (70 B) MBbloom-- 1 (30 B)" mod.txt
'

test_expect_success 'at most 16 module type names; keys of more are counted apart' '
	python3 - >many.json <<-EOF &&
	import json
	keys = {"k%d" % i: {"type": "mod%02d-type" % i, "memory": 10} for i in range(20)}
	print(json.dumps({"info": "redis_version:7.0.0\r\nmaxmemory:0\r\n", "scan": {"0": ["0", sorted(keys)]}, "keys": keys}))
	EOF
	start_fake_redis many.json &&
	{ ops-redisaudit --format json "redis://127.0.0.1:$FAKE_REDIS_PORT" >many.out; test $? -le 2; } &&
	json_assert many.out "
t = d[\"totals\"]
assert len(t[\"module_types\"]) == 16 and t[\"module_types_other_keys\"] == 4 and t[\"types\"][\"other\"] == 20, t"
'

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
rcli CONFIG SET hash-max-listpack-entries 4 >/dev/null
rcli EVAL "
for i = 1, 10 do redis.call('HSET', 'user:' .. i, 'a', 1, 'b', 2) end
for i = 1, 3 do redis.call('HSET', 'cart:' .. i, 'a', 1, 'b', 2, 'c', 3, 'd', 4, 'e', 5) end
redis.call('SADD', 'tags:1', 1, 2, 3)
return 1" 0 >/dev/null

test_expect_success '--encodings: hashes past hash-max-listpack-entries counted per prefix, with the value' '
	{ ops-redisaudit --encodings --format json "$REDIS_URL" >enc.json; test $? -le 1; } &&
	json_assert enc.json "
e = {(r[\"prefix\"], r[\"type\"]): r for r in d[\"encodings\"]}
assert e[(\"cart:*\", \"hash\")][\"outgrown\"] == 3 and e[(\"user:*\", \"hash\")][\"outgrown\"] == 0, e
assert \"hash-max-listpack-entries 4\" in e[(\"cart:*\", \"hash\")][\"config\"], e
assert e[(\"tags:*\", \"set\")][\"compact\"] == 1, e" &&
	checks_of enc.json encoding >got && echo "ok None" >expect && test_cmp expect got &&
	{ ops-redisaudit "$REDIS_URL" >plain.txt; test $? -le 1; } &&
	test_grep_not "OBJECT ENCODING" plain.txt
'

test_expect_success '--encodings without +object or +config: UNKNOWN with the reason' '
	rcli ACL SETUSER noobj on ">no-Pa55" "~*" "+@all" "-object" >/dev/null &&
	{ ops-redisaudit --encodings --format json "redis://noobj:no-Pa55@127.0.0.1:$REDIS_PORT" >noobj.json; test $? -eq 3; } &&
	checks_of noobj.json encoding >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "OBJECT ENCODING was refused (NOPERM" noobj.json &&
	rcli ACL SETUSER nocfg on ">nc-Pa55" "~*" "+@all" "-config" >/dev/null &&
	{ ops-redisaudit --encodings --format json "redis://nocfg:nc-Pa55@127.0.0.1:$REDIS_PORT" >nocfg.json; test $? -eq 3; } &&
	checks_of nocfg.json encoding >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "CONFIG GET was refused" nocfg.json
'

REDISEARCH=/usr/lib/redis/modules/redisearch.so
if test -r "$REDISEARCH"; then
	test_expect_success 'a real module (Debian'"'"'s RediSearch 1.2): its key types keep their names' '
		start_redis search -- --loadmodule "$REDISEARCH" &&
		rcli FT.CREATE myidx SCHEMA title TEXT >/dev/null &&
		rcli FT.ADD myidx doc1 1.0 FIELDS title hello >/dev/null &&
		{ ops-redisaudit --format json "$REDIS_URL" >real.json; test $? -le 2; } &&
		json_assert real.json "
t = d[\"totals\"]
m = t[\"module_types\"]
assert set(m) == {\"ft_index0\", \"ft_invidx\"}, m
assert all(v[\"keys\"] == 1 and v[\"memory_bytes\"] > 0 for v in m.values()), m
assert t[\"types\"][\"other\"] == 2 and t[\"types\"][\"hash\"] == 1, t" &&
		{ ops-redisaudit "$REDIS_URL" >real.txt; test $? -le 2; } &&
		test_grep "^modules  .*ft_index0 1 (" real.txt &&
		test_grep "^modules  .*ft_invidx 1 (" real.txt
	'
else
	test_skip 'a real module (Debian'"'"'s RediSearch 1.2): its key types keep their names' \
		'install redis-redisearch (ci/install-deps.sh)'
fi

test_done
