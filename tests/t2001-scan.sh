#!/bin/sh
# ops-redisaudit: exact totals, per-type and no-TTL counts, prefixes, formats, socket, db.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3 script

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }

# A data set with known counts (see the comments for the expected numbers).
populate() {
	rcli EVAL "
	for i = 1, 950 do redis.call('SET', 'session:' .. i, 'x', 'EX', 600) end
	for i = 951, 1000 do redis.call('SET', 'session:' .. i, 'x') end
	for i = 1, 200 do redis.call('HSET', 'user:' .. i .. ':profile', 'name', 'n' .. i, 'age', i) end
	for i = 1, 150 do redis.call('RPUSH', 'queue:' .. i, 'a', 'b', 'c') end
	for i = 1, 120 do redis.call('SADD', 'tags:' .. i, 'red', 'green') end
	for i = 1, 80 do redis.call('ZADD', 'rank:' .. string.format('%08x', i * 7919), i, 'm') end
	for i = 1, 5 do redis.call('XADD', 'events:s' .. i, '*', 'k', 'v') end
	for i = 1, 30 do redis.call('SET', 'cache:' .. string.format('%016x', i), 'v', 'EX', 172800) end
	return 1" 0 >/dev/null
}
# strings 1030 (300 session+cache with TTL... see below), lists 150, sets 120, zsets 80,
# hashes 200, streams 5: 1585 keys; without TTL: 50 sessions + everything but
# session/cache = 50 + 200 + 150 + 120 + 80 + 5 = 605.
populate


test_expect_success 'totals: keys, per-type counts, no-TTL, complete' '
	ops-redisaudit --format json "$REDIS_URL" >out.json; test $? -le 2 &&
	test "$(json_get out.json "d[\"totals\"][\"keys\"]")" = 1585 &&
	test "$(json_get out.json "d[\"totals\"][\"no_ttl\"]")" = 605 &&
	test "$(json_get out.json "\" \".join(\"%s=%d\" % kv for kv in sorted(d[\"totals\"][\"types\"].items()))")" = \
		"hash=200 list=150 other=0 set=120 stream=5 string=1030 zset=80" &&
	test "$(json_get out.json "d[\"complete\"]")" = True &&
	test "$(json_get out.json "d[\"totals\"][\"vanished\"]")" = 0 &&
	test "$(json_get out.json "d[\"totals\"][\"memory_bytes\"] > 50000")" = True
'

test_expect_success 'TTL buckets' '
	test "$(json_get out.json "d[\"totals\"][\"ttl\"]")" = \
		"{'"'"'none'"'"': 605, '"'"'lt_1h'"'"': 950, '"'"'1h_1d'"'"': 0, '"'"'1d_7d'"'"': 30, '"'"'gt_7d'"'"': 0}"
'

test_expect_success 'prefixes: ids folded to *, counts per prefix' '
	json_get out.json "sorted((p[\"prefix\"], p[\"keys\"], p[\"no_ttl\"]) for p in d[\"prefixes\"])" >prefixes &&
	echo "[('"'"'cache:*'"'"', 30, 0), ('"'"'events:*'"'"', 5, 5), ('"'"'queue:*'"'"', 150, 150), ('"'"'rank:*'"'"', 80, 80), ('"'"'session:*'"'"', 1000, 50), ('"'"'tags:*'"'"', 120, 120), ('"'"'user:*:profile'"'"', 200, 200)]" >expect &&
	test_cmp expect prefixes
'

test_expect_success 'depth and delimiters change the grouping' '
	ops-redisaudit --format json --depth 1 "$REDIS_URL" >d1.json; test $? -le 2 &&
	test "$(json_get d1.json "[p[\"keys\"] for p in d[\"prefixes\"] if p[\"prefix\"] == \"user:*\"]")" = "[200]" &&
	{ ops-redisaudit --format json --delimiters "/" "$REDIS_URL" >d2.json; test $? -le 2; } &&
	test "$(json_get d2.json "[p[\"prefix\"] for p in d[\"prefixes\"]]")" = "['"'"'(no prefix)'"'"']"
'

test_expect_success 'the prefix cap is reported, keys past it counted as (other)' '
	ops-redisaudit --format json --max-prefixes 3 "$REDIS_URL" >cap.json; test $? -le 2 &&
	test "$(json_get cap.json "d[\"prefixes_distinct\"]")" = 3 &&
	test "$(json_get cap.json "d[\"prefixes_dropped_keys\"] > 0")" = True &&
	test "$(json_get cap.json "sum(p[\"keys\"] for p in d[\"prefixes\"])")" = 1585
'

test_expect_success 'the totals do not depend on COUNT' '
	ops-redisaudit --format json --count 7 "$REDIS_URL" >c7.json; test $? -le 2 &&
	test "$(json_get c7.json "d[\"totals\"][\"keys\"], d[\"totals\"][\"no_ttl\"]")" = "(1585, 605)"
'

test_expect_success '--pause-ms and --memory-samples 0 change nothing in the counts' '
	ops-redisaudit --format json --pause-ms 1 --count 500 --memory-samples 0 "$REDIS_URL" >p.json; test $? -le 2 &&
	test "$(json_get p.json "d[\"totals\"][\"keys\"], d[\"totals\"][\"no_ttl\"], d[\"complete\"]")" = "(1585, 605, True)"
'

test_expect_success '--match audits a subset' '
	ops-redisaudit --format json --match "queue:*" "$REDIS_URL" >m.json; test $? -le 2 &&
	test "$(json_get m.json "d[\"totals\"][\"keys\"]")" = 150
'

test_expect_success 'top keys: the largest first, per type, bounded by --top' '
	ops-redisaudit --format json --top 3 "$REDIS_URL" >top.json; test $? -le 2 &&
	test "$(json_get top.json "len(d[\"top_keys\"])")" = 3 &&
	test "$(json_get top.json "[k[\"memory_bytes\"] for k in d[\"top_keys\"]] == sorted([k[\"memory_bytes\"] for k in d[\"top_keys\"]], reverse=True)")" = True &&
	test "$(json_get top.json "set(k[\"type\"] for k in d[\"top_keys_by_type\"][\"stream\"])")" = "{'"'"'stream'"'"'}"
'

test_expect_success '--lengths adds element counts' '
	ops-redisaudit --format json --lengths --match "queue:*" "$REDIS_URL" >len.json; test $? -le 2 &&
	test "$(json_get len.json "set(k[\"length\"] for k in d[\"top_keys\"])")" = "{3}"
'

test_expect_success 'streams: length from XLEN' '
	test "$(json_get out.json "sorted(s[\"length\"] for s in d[\"streams\"])")" = "[1, 1, 1, 1, 1]"
'

test_expect_success 'text output: totals line, prefix table, checks' '
	ops-redisaudit "$REDIS_URL" >out.txt; test $? -le 2 &&
	test_grep "^keys  *1585 " out.txt &&
	test_grep "session:\*  *1000" out.txt &&
	test_grep "^OK  *scan" out.txt
'

test_expect_success 'a unix socket path works' '
	ops-redisaudit --format json "$REDIS_SOCK" >sock.json; test $? -le 2 &&
	test "$(json_get sock.json "d[\"totals\"][\"keys\"]")" = 1585
'

test_expect_success 'the database number in the URL is SELECTed' '
	rcli -n 3 SET only:one 1 >/dev/null &&
	{ ops-redisaudit --format json "$REDIS_URL/3" >db3.json; test $? -le 2; } &&
	test "$(json_get db3.json "d[\"totals\"][\"keys\"]")" = 1
'

# A database where no key has a TTL (INFO keyspace expires=0) is audited without a PTTL per
# key; one INFO keyspace per batch proves no TTL appeared meanwhile.
scan_calls() { rcli INFO commandstats | tr -d "\r" | sed -n "s/^cmdstat_scan:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0; }
pttl_calls() { rcli INFO commandstats | tr -d "\r" | sed -n "s/^cmdstat_pttl:calls=\([0-9]*\),.*/\1/p"; }
test_expect_success 'a database without TTLs: exact counts, no PTTL sent' '
	rcli -n 5 EVAL "for i = 1, 1500 do redis.call(\"SET\", \"plain:\" .. i, i) end
		for i = 1, 40 do redis.call(\"HSET\", \"h:\" .. i, \"f\", i) end return 1" 0 >/dev/null &&
	rcli CONFIG RESETSTAT >/dev/null &&
	{ ops-redisaudit --format json --count 100 "$REDIS_URL/5" >db5.json; test $? -le 2; } &&
	test "$(json_get db5.json "d[\"totals\"][\"keys\"], d[\"totals\"][\"no_ttl\"], d[\"complete\"]")" = "(1540, 1540, True)" &&
	test "$(json_get db5.json "d[\"totals\"][\"types\"][\"string\"], d[\"totals\"][\"types\"][\"hash\"]")" = "(1500, 40)" &&
	test "$(json_get db5.json "d[\"totals\"][\"ttl\"][\"none\"]")" = 1540 &&
	test -z "$(pttl_calls)"
'

test_expect_success 'a TTL set mid-scan brings PTTL back: keys examined after it have theirs' '
	rcli -n 6 EVAL "for i = 1, 3000 do redis.call(\"SET\", \"late:\" .. i, i) end return 1" 0 >/dev/null &&
	rcli CONFIG RESETSTAT >/dev/null || return 1
	ops-redisaudit --format json --rate 1000 --count 100 "$REDIS_URL/6" >db6.json &
	pid=$! n=0 &&
	while test "$(scan_calls)" -lt 4 && test $n -lt 100; do sleep 0.05; n=$((n + 1)); done &&
	rcli -n 6 EVAL "for i = 1, 3000 do redis.call(\"EXPIRE\", \"late:\" .. i, 7200) end return 1" 0 >/dev/null || { kill $pid; exit 1; }
	wait $pid; test $? -le 2 &&
	test "$(json_get db6.json "d[\"totals\"][\"keys\"], d[\"complete\"]")" = "(3000, True)" &&
	test "$(json_get db6.json "0 < d[\"totals\"][\"no_ttl\"] < 3000")" = True &&
	test "$(json_get db6.json "d[\"totals\"][\"ttl\"][\"none\"] + d[\"totals\"][\"ttl\"][\"1h_1d\"] == 3000")" = True &&
	test "$(pttl_calls)" -gt 0
'

test_expect_success '--max-keys stops early, extrapolates, and says so' '
	ops-redisaudit --format json --max-keys 100 --count 50 "$REDIS_URL" >mk.json; rc=$? &&
	test $rc -le 2 &&
	test "$(json_get mk.json "d[\"totals\"][\"examined\"]")" = 100 &&
	test "$(json_get mk.json "d[\"complete\"], d[\"extrapolated\"]")" = "(False, True)" &&
	test "$(json_get mk.json "abs(d[\"totals\"][\"keys\"] - 1585) <= 2")" = True
'

test_expect_success '--sample examines a fraction and extrapolates to the SCAN count' '
	ops-redisaudit --format json --sample 0.25 "$REDIS_URL" >smp.json; test $? -le 2 &&
	test "$(json_get smp.json "d[\"extrapolated\"], d[\"complete\"]")" = "(True, True)" &&
	test "$(json_get smp.json "0 < d[\"totals\"][\"examined\"] < 1585")" = True &&
	test "$(json_get smp.json "abs(d[\"totals\"][\"keys\"] - 1585) <= 2")" = True
'

test_expect_success 'on a TTY a progress line shows keys of DBSIZE, rate and ETA; not otherwise' '
	script -qec "ops-redisaudit --rate 2000 --count 100 -o tty.out $REDIS_URL" /dev/null >tty.log 2>&1
	test $? -le 2 && test_grep "keyspace" tty.out &&
	tr "\r" "\n" <tty.log | grep -q "^.*scanning .* [0-9]*/1585 keys, [0-9]*/s, eta" &&
	{ ops-redisaudit --rate 2000 --count 100 "$REDIS_URL" >notty.out 2>notty.err; test $? -le 2; } &&
	test_grep_not "scanning" notty.err
'

test_expect_success 'prometheus and nagios carry the keyspace metrics' '
	ops-redisaudit --format prometheus "$REDIS_URL" >prom; test $? -le 2 &&
	test_grep "keys" prom &&
	{ ops-redisaudit --format nagios "$REDIS_URL" >nag; test $? -le 2; } &&
	test_grep "[^_]keys.=1585" nag
'

test_done
