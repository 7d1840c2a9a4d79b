#!/bin/sh
# ops-redisaudit findings: no-TTL patterns and prefixes, big keys, streams over MAXLEN,
# clients that call KEYS, maxmemory and eviction policy.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }


rcli EVAL "
for i = 1, 40 do redis.call('SET', 'tmp:' .. i, 'x', 'EX', 3600) end
for i = 1, 2 do redis.call('SET', 'tmp:forever' .. i, 'x') end
for i = 1, 10 do redis.call('SET', 'lock:' .. i, 'x') end
for i = 1, 500 do redis.call('XADD', 'jobs:email', '*', 'n', i) end
for i = 1, 90 do redis.call('XADD', 'jobs:sms', '*', 'n', i) end
redis.call('SET', 'blob:big', string.rep('x', 300000))
return 1" 0 >/dev/null

cat >opskit.yaml <<'EOF'
redis:
  expire_patterns: ["lock:*", "tmp:*"]
  streams:
    email:
      match: "jobs:email"
      maxlen: 100
      tolerance: 10%
    sms:
      match: "jobs:sms"
      maxlen: 100
  thresholds:
    big_key_warning: 200000
    big_key_critical: 5000000
    ttl_share: 90%
    ttl_min_keys: 20
EOF

test_expect_success 'setup: a run with findings' '
	ops-redisaudit --format json "$REDIS_URL" >out.json; test $? -le 2
'

test_expect_success 'keys without TTL under configured patterns' '
	checks_of out.json no-ttl-pattern >got &&
	printf "warning lock:*\nwarning tmp:*\n" >expect && test_cmp expect got &&
	test_grep "10 keys matching lock:\* have no TTL" out.json
'

test_expect_success 'heuristic: a prefix that mostly expires, with a few keys that do not' '
	checks_of out.json no-ttl-prefix >got &&
	echo "warning tmp:*" >expect && test_cmp expect got &&
	test_grep "2 of 42 keys under tmp:\*" out.json
'

test_expect_success 'big key over the configured threshold, with its size' '
	checks_of out.json big-key >got &&
	echo "warning blob:big" >expect && test_cmp expect got
'

test_expect_success '--big-key on the command line overrides the config' '
	ops-redisaudit --format json --big-key 10MiB "$REDIS_URL" >nobig.json; test $? -le 2 &&
	checks_of nobig.json big-key >got && echo "ok None" >expect && test_cmp expect got
'

test_expect_success 'big keys by element count: only with --lengths, thresholds from the config' '
	cat >len.yaml <<-EOF &&
	redis:
	  thresholds:
	    big_key_elements_warning: 300
	    big_key_elements_critical: 1000
	EOF
	checks_of out.json big-key-elements >got && ! test -s got &&
	{ ops-redisaudit --config len.yaml --format json --lengths "$REDIS_URL" >len.json; test $? -le 2; } &&
	checks_of len.json big-key-elements >got &&
	printf "critical blob:big\nwarning jobs:email\n" >expect && test_cmp expect got &&
	test_grep "stream key .*jobs:email.* has 500 elements" len.json
'

test_expect_success 'stream over its MAXLEN (tolerance for ~ trimming) is found' '
	checks_of out.json stream-maxlen >got &&
	echo "critical jobs:email" >expect && test_cmp expect got &&
	test "$(json_get out.json "[(s[\"key\"], s[\"length\"], s[\"maxlen\"], s[\"over_maxlen\"]) for s in d[\"streams\"]][0]")" = \
		"('"'"'jobs:email'"'"', 500, 100, True)"
'

test_expect_success 'a stream within MAXLEN plus tolerance is not flagged' '
	test "$(json_get out.json "[s[\"over_maxlen\"] for s in d[\"streams\"] if s[\"key\"] == \"jobs:sms\"]")" = "[False]"
'

test_expect_success 'no KEYS caller on a fresh server' '
	checks_of out.json keys-command >got && echo "ok None" >expect && test_cmp expect got
'

# A client that ran KEYS and is still connected: found in CLIENT LIST (cmd=keys) and, with
# the slowlog threshold at 0, in SLOWLOG, both with its address and name.
test_expect_success 'a client that ran KEYS is found by address and name' '
	rcli CONFIG SET slowlog-log-slower-than 0 >/dev/null || return 1
	python3 - "$REDIS_PORT" >addr <<-"PY" &
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.sendall(b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$8\r\nbatchjob\r\n*2\r\n$4\r\nKEYS\r\n$5\r\nlock:*\r\n")
	time.sleep(0.3)
	s.recv(65536)
	print("%s:%d" % s.getsockname(), flush=True)
	time.sleep(8)
	PY
	pypid=$! &&
	n=0 && while ! test -s addr && test $n -lt 50; do sleep 0.1; n=$((n + 1)); done &&
	addr=$(cat addr) && test -n "$addr" &&
	{ ops-redisaudit --format json "$REDIS_URL" >keys.json; rc=$?; } &&
	{ ops-redisaudit "$REDIS_URL" >keys.txt; rc2=$?; } || { kill $pypid 2>/dev/null; exit 1; }
	kill $pypid 2>/dev/null
	test $rc -le 2 && test $rc2 -le 2 &&
	rcli CONFIG SET slowlog-log-slower-than 10000 >/dev/null &&
	test "$(json_get keys.json "[(c[\"addr\"], c[\"name\"], c[\"source\"]) for c in d[\"keys_callers\"]]")" = \
		"[('"'"'$addr'"'"', '"'"'batchjob'"'"', '"'"'slowlog,client-list'"'"')]" &&
	checks_of keys.json keys-command >got && echo "warning $addr" >expect && test_cmp expect got &&
	test_grep "client $addr name=batchjob .*called KEYS" keys.txt
'

test_expect_success 'maxmemory unset is a warning' '
	checks_of out.json maxmemory >got &&
	echo "warning 127.0.0.1:$REDIS_PORT" >expect && test_cmp expect got
'

test_expect_success 'volatile eviction with keys that have no TTL is a warning' '
	rcli CONFIG SET maxmemory 1gb >/dev/null && rcli CONFIG SET maxmemory-policy volatile-lru >/dev/null &&
	{ ops-redisaudit --format json "$REDIS_URL" >vol.json; test $? -le 2; } &&
	test_grep "policy volatile-lru evicts only keys with a TTL" vol.json &&
	rcli CONFIG SET maxmemory-policy allkeys-lru >/dev/null &&
	{ ops-redisaudit --format json "$REDIS_URL" >all.json; test $? -le 2; } &&
	checks_of all.json maxmemory >got &&
	echo "ok 127.0.0.1:$REDIS_PORT" >expect && test_cmp expect got
'

test_expect_code 2 'the exit code is the worst finding (critical stream)' '
	ops-redisaudit -q "$REDIS_URL"
'

test_done
