#!/bin/sh
# ops-redisaudit: a key whose TYPE answered MOVED is read on the node named, and a module
# type found there keeps its name (it was counted under an empty name). Scripted servers:
# no module is installed here.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

INFO='"info": "redis_version:7.0.0\r\nmaxmemory:0\r\n# Keyspace\r\ndb0:keys=2,expires=0\r\n"'

test_expect_success 'a redirected module-type key is counted under its type name' '
	cat >b.json <<-EOF &&
	{$INFO, "scan": {"0": ["0", []]},
	 "keys": {"doc:1": {"type": "ReJSON-RL", "memory": 100}}}
	EOF
	start_fake_redis b.json && B=$FAKE_REDIS_PORT &&
	cat >a.json <<-EOF &&
	{$INFO, "scan": {"0": ["0", ["doc:1", "s:1"]]},
	 "keys": {"doc:1": {"error": "MOVED 1234 127.0.0.1:$B"}, "s:1": {"type": "string", "memory": 10}}}
	EOF
	start_fake_redis a.json &&
	{ ops-redisaudit --format json "redis://127.0.0.1:$FAKE_REDIS_PORT" >out.json; test $? -le 2; } &&
	json_assert out.json "
t = d[\"totals\"]
assert t[\"module_types\"] == {\"ReJSON-RL\": {\"keys\": 1, \"memory_bytes\": 100}}, t
assert t[\"types\"][\"other\"] == 1, t"
'

test_done
