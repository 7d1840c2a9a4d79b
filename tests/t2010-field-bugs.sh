#!/bin/sh
# ops-redisaudit: bugs found in the field (issue 12): --max-keys with --match, keys SCAN
# returns twice, --top 0, resume tokens that no longer match, stream tolerance from the
# server's stream-node-max-entries.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }


rcli EVAL "
for i = 1, 2000 do redis.call('SET', 'other:' .. i, 'x') end
for i = 1, 60 do redis.call('SET', 'app:' .. i, 'x') end
redis.call('SET', 'blob:a', string.rep('x', 300000))
redis.call('SET', 'blob:b', string.rep('x', 300000))
return 1" 0 >/dev/null

test_expect_success '--max-keys with --match: no extrapolation to the whole DBSIZE' '
	ops-redisaudit --format json --match "app:*" --max-keys 20 --count 10 "$REDIS_URL" >mk.json; test $? -le 2 &&
	test "$(json_get mk.json "d[\"totals\"][\"keys\"], d[\"extrapolated\"], d[\"complete\"]")" = "(20, False, False)" &&
	test_grep "stopped after 20 keys matching app:\* as asked; results cover only those keys" mk.json
'

test_expect_success '--max-keys without --match still extrapolates to DBSIZE' '
	ops-redisaudit --format json --max-keys 200 "$REDIS_URL" >mk2.json; test $? -le 2 &&
	test "$(json_get mk2.json "abs(d[\"totals\"][\"keys\"] - 2062) <= 2, d[\"extrapolated\"]")" = "(True, True)"
'

test_expect_success '--top 0: one big-key WARNING that counts them, no OK beside it' '
	ops-redisaudit --format json --top 0 --big-key 200000 "$REDIS_URL" >top0.json; test $? -eq 1 &&
	checks_of top0.json big-key >got && echo "warning None" >expect && test_cmp expect got &&
	test_grep "2 keys are over 195.3 KiB (0 over 10.0 MiB); none listed (--top 0)" top0.json
'

test_expect_success '--top 0 with a critical big key: CRITICAL' '
	ops-redisaudit --format json --top 0 --big-key 200000 --big-key-critical 250000 "$REDIS_URL" >top0c.json; test $? -eq 2 &&
	checks_of top0c.json big-key >got && echo "critical None" >expect && test_cmp expect got
'

test_expect_success 'a bare cursor with --resume on one node still works' '
	ops-redisaudit --format json --resume 0 "$REDIS_URL" >r0.json; test $? -le 2 &&
	test "$(json_get r0.json "d[\"totals\"][\"keys\"]")" = 2062 &&
	checks_of r0.json resume >got && ! test -s got
'

test_expect_success 'a resume token naming another node: UNKNOWN resume check, node scanned from 0' '
	ops-redisaudit --format json --resume "127.0.0.1:1=123" "$REDIS_URL" >rm.json; test $? -eq 3 &&
	checks_of rm.json resume >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "names 127.0.0.1:1, no node now.*does not name 127.0.0.1:$REDIS_PORT" rm.json &&
	test_grep "127.0.0.1:$REDIS_PORT scanned from cursor 0" rm.json &&
	test "$(json_get rm.json "d[\"totals\"][\"keys\"]")" = 2062
'

test_expect_success 'a token naming this node resumes it without a resume check' '
	ops-redisaudit --format json --resume "127.0.0.1:$REDIS_PORT=0" "$REDIS_URL" >rok.json; test $? -le 2 &&
	checks_of rok.json resume >got && ! test -s got
'

test_expect_success 'a malformed keyed token is refused' '
	ops-redisaudit --format json --resume "127.0.0.1:$REDIS_PORT=0,junk" "$REDIS_URL" >rbad.json; test $? -eq 3 &&
	test_grep "is not host:port=cursor" rbad.json
'

test_expect_success 'stream tolerance defaults to the server stream-node-max-entries' '
	rcli DEL s:1 >/dev/null &&
	rcli EVAL "for i = 1, 150 do redis.call(\"XADD\", \"s:1\", \"*\", \"n\", i) end return 1" 0 >/dev/null &&
	cat >st.yaml <<-EOF &&
	redis:
	  streams:
	    s:
	      match: "s:*"
	      maxlen: 100
	EOF
	{ ops-redisaudit --config st.yaml --format json "$REDIS_URL" >st1.json; test $? -le 2; } &&
	checks_of st1.json stream-maxlen >got && echo "ok None" >expect && test_cmp expect got &&
	rcli CONFIG SET stream-node-max-entries 10 >/dev/null &&
	{ ops-redisaudit --config st.yaml --format json "$REDIS_URL" >st2.json; test $? -le 2; } &&
	rcli CONFIG SET stream-node-max-entries 100 >/dev/null &&
	checks_of st2.json stream-maxlen >got && echo "warning s:1" >expect && test_cmp expect got
'

test_expect_success 'a key SCAN returns twice is listed once in the top tables' '
	cat >dup.json <<-EOF &&
	{"info": "redis_version:7.0.0\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n# Keyspace\r\ndb0:keys=3,expires=0\r\n",
	 "scan": {"0": ["5", ["big", "a"]], "5": ["0", ["big", "b", "st"]]},
	 "keys": {"big": {"type": "string", "memory": 5000000}, "a": {"type": "string", "memory": 10},
	          "b": {"type": "string", "memory": 20},
	          "st": {"type": "stream", "memory": 900, "length": 5000}}}
	EOF
	start_fake_redis dup.json &&
	cat >dup.yaml <<-EOF &&
	redis:
	  streams:
	    st: {maxlen: 10}
	EOF
	{ ops-redisaudit --config dup.yaml --format json --big-key 1000000 "redis://127.0.0.1:$FAKE_REDIS_PORT" >d.json; test $? -le 2; } &&
	test "$(json_get d.json "[k[\"key\"] for k in d[\"top_keys\"]]")" = "['"'"'big'"'"', '"'"'st'"'"', '"'"'b'"'"', '"'"'a'"'"']" &&
	checks_of d.json big-key >got && echo "warning big" >expect && test_cmp expect got &&
	checks_of d.json stream-maxlen >got && echo "critical st" >expect && test_cmp expect got
'

test_done
