#!/bin/sh
# ops-redisaudit's thresholds at their boundaries (a value at a level raises it, one
# below does not) and its documented defaults, relied on with no config file: big key
# 1MiB/10MiB, element counts 100000/1000000, the TTL-share heuristic (90% of a prefix's
# keys expire, at least 20 keys), streams over MAXLEN plus a tolerance of 100 entries
# (critical above twice MAXLEN).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }

# Checks of one id as "status subject" lines, sorted.
checks_of_sorted() { python3 -c "
import json,sys
d = json.load(open(sys.argv[1]))
for c in sorted((c['status'], str(c['subject'])) for c in d['checks'] if c['id'] == sys.argv[2]):
    print(*c)" "$@"; }

# TTL share: ttl:at 18 of 20 keys expire (90%, 20 keys: flagged), ttl:share 17 of 20 (85%),
# ttl:few 18 of 19 (enough share, one key short), ttl:most 19 of 20.
# Big keys by memory: 800000, 2000000 and 11000000 bytes of value; by elements: lists of
# exactly 100000 and 99999 elements.
rcli EVAL "
local function fill(prefix, n, with_ttl)
  for i = 1, n do
    if i <= with_ttl then redis.call('SET', prefix .. i, 'v', 'EX', 3600)
    else redis.call('SET', prefix .. i, 'v') end
  end
end
fill('ttl:at:', 20, 18)
fill('ttl:share:', 20, 17)
fill('ttl:few:', 19, 18)
fill('ttl:most:', 20, 19)
redis.call('SET', 'blob:small', string.rep('s', 800000))
redis.call('SET', 'blob:warn', string.rep('w', 2000000))
redis.call('SET', 'blob:crit', string.rep('c', 11000000))
for _, k in ipairs({'list:at', 'list:below'}) do
  local n = k == 'list:at' and 100000 or 99999
  local chunk = {}
  for i = 1, 1000 do chunk[i] = 'e' end
  for i = 1, math.floor(n / 1000) do redis.call('RPUSH', k, unpack(chunk)) end
  for i = 1, n % 1000 do redis.call('RPUSH', k, 'e') end
end
return 1" 0 >/dev/null

mem() { rcli MEMORY USAGE "$1"; }

test_expect_success 'setup: the keys have the sizes the cases below assume' '
	test $(mem blob:small) -lt 1048576 &&
	test $(mem blob:warn) -ge 1048576 && test $(mem blob:warn) -lt 10485760 &&
	test $(mem blob:crit) -ge 10485760 &&
	test $(rcli LLEN list:at) -eq 100000 && test $(rcli LLEN list:below) -eq 99999 &&
	! test -e opskit.yaml
'

test_expect_success 'no config: big keys from 1MiB warn, from 10MiB are critical' '
	{ ops-redisaudit --format json "$REDIS_URL" >def.json; test $? -eq 2; } &&
	checks_of_sorted def.json big-key >got &&
	printf "critical blob:crit\nwarning blob:warn\n" >expect && test_cmp expect got &&
	test_grep "uses .* (threshold 1.0 MiB)" def.json &&
	test_grep "uses .* (threshold 10.0 MiB)" def.json
'

test_expect_success 'no config: TTL share from 90% with at least 20 keys' '
	checks_of_sorted def.json no-ttl-prefix >got &&
	printf "warning ttl:at:*\nwarning ttl:most:*\n" >expect && test_cmp expect got &&
	test_grep "2 of 20 keys under ttl:at:\* have no TTL while 90.0% expire" def.json
'

test_expect_success 'no config: element counts from 100000 warn (only with --lengths)' '
	{ ops-redisaudit --format json --lengths --match "list:*" "$REDIS_URL" >len.json; test $? -eq 1; } &&
	checks_of_sorted len.json big-key-elements >got &&
	echo "warning list:at" >expect && test_cmp expect got &&
	test_grep "list key .*list:at.* has 100000 elements" len.json
'

test_expect_success 'element counts: critical at exactly the critical level' '
	printf "redis:\n  thresholds:\n    big_key_elements_warning: 50000\n    big_key_elements_critical: 100000\n" >len.yaml &&
	{ ops-redisaudit --config len.yaml --format json --lengths --match "list:*" "$REDIS_URL" >len2.json; test $? -eq 2; } &&
	checks_of_sorted len2.json big-key-elements >got &&
	printf "critical list:at\nwarning list:below\n" >expect && test_cmp expect got
'

test_expect_success 'big key: a key of exactly --big-key bytes warns, one byte more does not' '
	m=$(mem blob:small) &&
	{ ops-redisaudit --format json --big-key $m --big-key-critical 100MiB --match "blob:*" "$REDIS_URL" >at.json; test $? -eq 1; } &&
	checks_of_sorted at.json big-key >got &&
	printf "warning blob:crit\nwarning blob:small\nwarning blob:warn\n" >expect && test_cmp expect got &&
	{ ops-redisaudit --format json --big-key $((m + 1)) --big-key-critical 100MiB --match "blob:*" "$REDIS_URL" >below.json; test $? -eq 1; } &&
	checks_of_sorted below.json big-key >got &&
	printf "warning blob:crit\nwarning blob:warn\n" >expect && test_cmp expect got
'

test_expect_success 'big key: critical at exactly --big-key-critical bytes, not one byte below' '
	m=$(mem blob:warn) &&
	{ ops-redisaudit --format json --big-key 1KiB --big-key-critical $m --match "blob:*" "$REDIS_URL" >at.json; test $? -eq 2; } &&
	checks_of_sorted at.json big-key >got &&
	printf "critical blob:crit\ncritical blob:warn\nwarning blob:small\n" >expect && test_cmp expect got &&
	{ ops-redisaudit --format json --big-key 1KiB --big-key-critical $((m + 1)) --match "blob:*" "$REDIS_URL" >below.json; test $? -eq 2; } &&
	checks_of_sorted below.json big-key >got &&
	printf "critical blob:crit\nwarning blob:small\nwarning blob:warn\n" >expect && test_cmp expect got
'

test_expect_success 'TTL share and minimum keys from the config, at their boundaries' '
	printf "redis:\n  thresholds:\n    ttl_share: 85%%\n    ttl_min_keys: 19\n" >ttl.yaml &&
	{ ops-redisaudit --config ttl.yaml --format json "$REDIS_URL" >ttl.json; test $? -eq 2; } &&
	checks_of_sorted ttl.json no-ttl-prefix >got &&
	printf "warning ttl:at:*\nwarning ttl:few:*\nwarning ttl:most:*\nwarning ttl:share:*\n" >expect &&
	test_cmp expect got &&
	printf "redis:\n  thresholds:\n    ttl_share: 0.9\n    ttl_min_keys: 21\n" >ttl2.yaml &&
	{ ops-redisaudit --config ttl2.yaml --format json "$REDIS_URL" >ttl2.json; test $? -eq 2; } &&
	checks_of_sorted ttl2.json no-ttl-prefix >got &&
	echo "ok None" >expect && test_cmp expect got
'

test_expect_success 'streams: at MAXLEN ok, above it warning, at twice MAXLEN warning, above critical' '
	rcli EVAL "
	for _, n in ipairs({10, 11, 20, 21}) do
	  for i = 1, n do redis.call(\"XADD\", \"s:\" .. n, \"*\", \"n\", i) end
	end
	for _, n in ipairs({110, 111}) do
	  for i = 1, n do redis.call(\"XADD\", \"d:\" .. n, \"*\", \"n\", i) end
	end
	return 1" 0 >/dev/null &&
	cat >s.yaml <<-\EOF &&
	redis:
	  streams:
	    s:
	      match: "s:*"
	      maxlen: 10
	      tolerance: 0
	    d:
	      match: "d:*"
	      maxlen: 10
	EOF
	{ ops-redisaudit --config s.yaml --format json --match "[sd]:*" "$REDIS_URL" >s.json; test $? -eq 2; } &&
	checks_of_sorted s.json stream-maxlen >got &&
	printf "critical d:111\ncritical s:21\nwarning s:11\nwarning s:20\n" >expect && test_cmp expect got
'

test_expect_success 'a hex segment of 8 digits is an id, of 7 a name; shares of the memory' '
	rcli MSET h:1a2b3c4d:data 1 h:5e6f7a8b:data 2 h:1a2b3c4:data 3 >/dev/null &&
	{ ops-redisaudit --format json --match "h:*" "$REDIS_URL" >h.json; test $? -le 2; } &&
	python3 - h.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	got = sorted((p["prefix"], p["keys"]) for p in d["prefixes"])
	assert got == [("h:*:data", 2), ("h:1a2b3c4:*", 1)], got
	total = sum(p["memory_bytes"] for p in d["prefixes"])
	for p in d["prefixes"]:
	    assert abs(p["share"] - 100.0 * p["memory_bytes"] / total) < 0.01, (p, total)
	PY
'

test_expect_success 'KEYS called once, by a client long gone: WARNING, "called 1 time"' '
	rcli CONFIG SET slowlog-log-slower-than -1 >/dev/null && rcli SLOWLOG RESET >/dev/null &&
	rcli CONFIG RESETSTAT >/dev/null && rcli KEYS "nosuch:*" >/dev/null &&
	{ ops-redisaudit --format json --match "h:*" "$REDIS_URL" >k.json; test $? -le 2; } &&
	checks_of_sorted k.json keys-command >got && echo "warning None" >expect && test_cmp expect got &&
	test_grep "KEYS was called 1 time since the stats were reset" k.json
'

test_expect_success 'every volatile-* policy evicts only keys with a TTL' '
	rcli CONFIG SET maxmemory 1gb >/dev/null &&
	for policy in volatile-ttl volatile-lfu volatile-random; do
		rcli CONFIG SET maxmemory-policy $policy >/dev/null &&
		{ ops-redisaudit --format json --match "h:*" "$REDIS_URL" >v.json; test $? -le 2; } &&
		checks_of_sorted v.json maxmemory >got && echo "warning 127.0.0.1:$REDIS_PORT" >expect &&
		test_cmp expect got && test_grep "policy $policy evicts only keys with a TTL" v.json || return 1
	done &&
	rcli CONFIG SET maxmemory-policy noeviction >/dev/null &&
	{ ops-redisaudit --format json --match "h:*" "$REDIS_URL" >v.json; test $? -le 2; } &&
	checks_of_sorted v.json maxmemory >got && echo "ok 127.0.0.1:$REDIS_PORT" >expect && test_cmp expect got
'

test_done
