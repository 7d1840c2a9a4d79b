#!/bin/sh
# ops-redisaudit: a user that may read XINFO STREAM and GROUPS but not XINFO CONSUMERS
# gets UNKNOWN for the consumers of each group with pending entries, and no OK saying that
# no consumer is idle (which nothing read).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
rcli EVAL "
	for i = 1, 10 do redis.call('XADD', 'mail', '*', 'f', 'v') end
	redis.call('XGROUP', 'CREATE', 'mail', 'senders', '0')
	redis.call('XREADGROUP', 'GROUP', 'senders', 'w1', 'COUNT', 5, 'STREAMS', 'mail', '>')
	return 1" 0 >/dev/null
rcli ACL SETUSER nocons on ">nc-Pa55" "~*" "+@all" "-xinfo|consumers" >/dev/null

test_expect_success 'XINFO CONSUMERS refused: UNKNOWN per group, no OK summary' '
	{ ops-redisaudit --format json "redis://nocons:nc-Pa55@127.0.0.1:$REDIS_PORT" >nc.json; test $? -eq 3; } &&
	checks_of nc.json stream-consumer-idle >got && echo "unknown mail/senders" >expect && test_cmp expect got &&
	test_grep "cannot read the consumers of group senders" nc.json &&
	test_grep_not "nc-Pa55" nc.json
'

test_expect_success 'the default user reads them: one OK' '
	{ ops-redisaudit --format json "$REDIS_URL" >ok.json; test $? -le 1; } &&
	checks_of ok.json stream-consumer-idle >got && echo "ok None" >expect && test_cmp expect got
'

test_done
