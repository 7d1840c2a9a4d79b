#!/bin/sh
# ops-redisaudit on restricted and managed servers: an ACL user limited to some key
# patterns (keys it may not read are skipped and counted), and commands renamed away
# (MEMORY, CONFIG, SLOWLOG, CLIENT): element counts instead of sizes, checks UNKNOWN with
# the reason, never OK.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3


start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
populate() {
	rcli EVAL "
	for i = 1, 300 do redis.call('SET', 'app:' .. i, 'x') end
	for i = 1, 200 do redis.call('SET', 'other:' .. i, 'x') end
	for i = 1, 3 do redis.call('RPUSH', 'app:list', 'a', 'b', 'c') end
	return 1" 0 >/dev/null
}
populate
rcli ACL SETUSER u on ">pw-App5" "~app:*" "+@all" >/dev/null

test_expect_success 'ACL user limited to ~app:*: other keys skipped and counted, the node goes on' '
	ops-redisaudit --format json --count 50 "redis://u:pw-App5@127.0.0.1:$REDIS_PORT" >acl.json 2>acl.err
	test $? -eq 3 &&
	test "$(json_get acl.json "d[\"complete\"], d[\"totals\"][\"keys\"], d[\"totals\"][\"skipped\"][\"noperm\"]")" = "(True, 301, 200)" &&
	checks_of acl.json unreadable-keys >got && echo "unknown noperm" >expect && test_cmp expect got &&
	test_grep "200 keys not readable by this user (NOPERM: outside its ACL key patterns) were skipped" acl.json &&
	checks_of acl.json scan >got && echo "ok None" >expect && test_cmp expect got &&
	test_grep_not "pw-App5" acl.json acl.err
'

test_expect_success 'the same user with --match on its own keys: a clean run' '
	ops-redisaudit --format json --match "app:*" "redis://u:pw-App5@127.0.0.1:$REDIS_PORT" >own.json; test $? -le 2 &&
	test "$(json_get own.json "d[\"totals\"][\"keys\"], sum(d[\"totals\"][\"skipped\"].values())")" = "(301, 0)" &&
	checks_of own.json unreadable-keys >got && ! test -s got
'

test_expect_success 'a user without +memory|usage: sizes UNKNOWN, element counts judged' '
	rcli ACL SETUSER nomem on ">nm-Pa55" "~*" "+@all" "-memory" >/dev/null &&
	cat >len.yaml <<-EOF &&
	redis:
	  thresholds:
	    big_key_elements_warning: 5
	EOF
	{ ops-redisaudit --config len.yaml --format json "redis://nomem:nm-Pa55@127.0.0.1:$REDIS_PORT" >nm.json; test $? -eq 3; } &&
	checks_of nm.json big-key >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "cannot size 501 keys: MEMORY USAGE is unavailable (NOPERM" nm.json &&
	checks_of nm.json big-key-elements >got && echo "warning app:list" >expect && test_cmp expect got &&
	test "$(json_get nm.json "d[\"top_keys_by_length\"][0][\"key\"], d[\"totals\"][\"memory_unknown\"]")" = "('"'"'app:list'"'"', 501)"
'

test_expect_success 'LOADING, BUSY, MOVED, ASK and other errors per key: skipped by reason, never the node' '
	cat >errs.json <<-EOF &&
	{"info": "redis_version:7.0.0\r\nmaxmemory:0\r\n# Keyspace\r\ndb0:keys=7,expires=0\r\n",
	 "scan": {"0": ["3", ["ok1", "l", "b"]], "3": ["0", ["m", "a", "x", "ok2"]]},
	 "keys": {"ok1": {"type": "string", "memory": 50}, "ok2": {"type": "hash", "memory": 70},
	          "l": {"error": "LOADING Redis is loading the dataset in memory"},
	          "b": {"error": "BUSY Redis is busy running a script."},
	          "m": {"error": "MOVED 3999 127.0.0.1:6381"}, "a": {"error": "ASK 3999 127.0.0.1:6381"},
	          "x": {"error": "ERR something else"}}}
	EOF
	start_fake_redis errs.json &&
	{ ops-redisaudit --format json "redis://127.0.0.1:$FAKE_REDIS_PORT" >errs.out; test $? -eq 3; } &&
	test "$(json_get errs.out "d[\"complete\"], d[\"totals\"][\"keys\"], sorted(d[\"totals\"][\"skipped\"].items())")" = \
		"(True, 2, [('"'"'busy'"'"', 1), ('"'"'error'"'"', 1), ('"'"'loading'"'"', 1), ('"'"'moved'"'"', 2), ('"'"'noperm'"'"', 0)])" &&
	checks_of errs.out unreadable-keys >got &&
	printf "unknown loading\nunknown busy\nunknown moved\nunknown error\n" >expect && test_cmp expect got &&
	test_grep "1 key refused with another error was skipped; the figures cover the other keys: ERR something else" errs.out
'

test_expect_success 'CONFIG renamed: the stream tolerance says it assumed 100' '
	cat >st.yaml <<-EOF &&
	redis:
	  streams:
	    s: {match: "s:*", maxlen: 10}
	EOF
	cat >st.json <<-EOF &&
	{"info": "redis_version:7.0.0\r\nmaxmemory:0\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\n",
	 "errors": {"CONFIG": "ERR unknown command"},
	 "scan": {"0": ["0", ["s:1"]]}, "keys": {"s:1": {"type": "stream", "memory": 500, "length": 50}}}
	EOF
	start_fake_redis st.json &&
	{ ops-redisaudit --config st.yaml --format json "redis://127.0.0.1:$FAKE_REDIS_PORT" >st.out; test $? -le 2; } &&
	test_grep "within its MAXLEN (tolerance: stream-node-max-entries assumed 100, CONFIG GET refused on 127.0.0.1:$FAKE_REDIS_PORT)" st.out
'

start_redis renamed -- --rename-command MEMORY "" --rename-command CONFIG "" \
	--rename-command SLOWLOG "" --rename-command CLIENT "" ||
	{ echo "Bail out! redis-server did not start"; exit 1; }
populate

test_expect_success 'MEMORY, CONFIG, SLOWLOG, CLIENT renamed away: UNKNOWN with reasons, never OK' '
	ops-redisaudit --format json --count 100 "$REDIS_URL" >ren.json 2>ren.err; test $? -eq 3 &&
	test "$(json_get ren.json "d[\"complete\"], d[\"totals\"][\"keys\"]")" = "(True, 501)" &&
	checks_of ren.json big-key >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "MEMORY USAGE is unavailable (ERR unknown command" ren.json &&
	checks_of ren.json keyspace >got && echo "unknown None" >expect && test_cmp expect got &&
	checks_of ren.json big-key-elements >got && echo "ok None" >expect && test_cmp expect got &&
	checks_of ren.json keys-command >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "SLOWLOG GET on 127.0.0.1:$REDIS_PORT: ERR unknown command" ren.json &&
	test_grep "CLIENT LIST on 127.0.0.1:$REDIS_PORT: ERR unknown command" ren.json
'

test_expect_success 'MEMORY renamed: MEMORY USAGE is sent once per node, not per key' '
	errors=$(rcli INFO stats | sed -n "s/^total_error_replies:\([0-9]*\).*/\1/p" | tr -d "\r") &&
	test -n "$errors" && test "$errors" -lt 300
'

test_done
