#!/bin/sh
# ops-redisaudit on a replica: a replica whose link is down or still syncing makes the run
# UNKNOWN and incomplete; Valkey is recognised by valkey_version (INFO fixture through the
# scripted server, no Valkey build needed).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3


start_redis primary || { echo "Bail out! redis-server did not start"; exit 1; }
PRIMARY_PORT=$REDIS_PORT
rcli EVAL "for i = 1, 300 do redis.call('SET', 'k:' .. i, 'x') end return 1" 0 >/dev/null
start_redis replica -- --replicaof 127.0.0.1 "$PRIMARY_PORT" ||
	{ echo "Bail out! replica did not start"; exit 1; }
n=0
until rcli INFO replication | grep -q "master_link_status:up" || test $n -gt 100; do sleep 0.1; n=$((n + 1)); done

test_expect_success 'a replica in sync is audited like a primary' '
	ops-redisaudit --format json "$REDIS_URL" >up.json; test $? -le 2 &&
	test "$(json_get up.json "d[\"complete\"], d[\"totals\"][\"keys\"]")" = "(True, 300)" &&
	checks_of up.json replica >got && ! test -s got
'

test_expect_success 'a replica whose primary is gone: UNKNOWN, not complete' '
	kill -9 $(cat "$TRASH/redis-primary/redis.pid") &&
	n=0 && until rcli INFO replication | grep -q "master_link_status:down" || test $n -gt 100; do sleep 0.1; n=$((n + 1)); done &&
	{ ops-redisaudit --format json "$REDIS_URL" >down.json 2>down.err; test $? -eq 3; } &&
	test "$(json_get down.json "d[\"complete\"], d[\"resume\"]")" = "(False, None)" &&
	checks_of down.json replica >got && echo "unknown 127.0.0.1:$REDIS_PORT" >expect && test_cmp expect got &&
	test_grep "link to its primary is down (master_link_status)" down.json &&
	test_grep "a replica is not in sync" down.json
'

test_expect_success 'a replica still syncing (fixture): UNKNOWN, not complete' '
	cat >sync.json <<-EOF &&
	{"info": "redis_version:7.0.0\r\nrole:slave\r\nmaster_link_status:down\r\nmaster_sync_in_progress:1\r\n# Keyspace\r\n",
	 "scan": {"0": ["0", []]}, "keys": {}}
	EOF
	start_fake_redis sync.json &&
	{ ops-redisaudit --format json "redis://127.0.0.1:$FAKE_REDIS_PORT" >sync.out; test $? -eq 3; } &&
	test "$(json_get sync.out "d[\"complete\"], d[\"totals\"][\"keys\"]")" = "(False, 0)" &&
	test_grep "still syncing with its primary (master_sync_in_progress:1)" sync.out
'

test_expect_success 'Valkey: valkey_version is the version, not redis_version 7.2.4' '
	cat >valkey.json <<-EOF &&
	{"info": "redis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\nrole:master\r\nmaxmemory:0\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\n",
	 "scan": {"0": ["0", ["a"]]}, "keys": {"a": {"type": "string", "memory": 60}}}
	EOF
	start_fake_redis valkey.json &&
	{ ops-redisaudit --format json "redis://127.0.0.1:$FAKE_REDIS_PORT" >vk.json; test $? -le 2; } &&
	test "$(json_get vk.json "d[\"server\"], d[\"redis_version\"], d[\"nodes\"][0][\"version\"] if \"nodes\" in d else d[\"redis_version\"]")" = \
		"('"'"'valkey'"'"', '"'"'8.0.1'"'"', '"'"'8.0.1'"'"')" &&
	{ ops-redisaudit "redis://127.0.0.1:$FAKE_REDIS_PORT" >vk.txt; test $? -le 2; } &&
	test_grep "standalone, valkey 8.0.1)" vk.txt
'

test_done
