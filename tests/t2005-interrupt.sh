#!/bin/sh
# ops-redisaudit stops cleanly: server killed mid-scan (partial report, exit 3, no crash),
# SIGINT (partial report, resume token) and --resume finishing the job.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

no_crash() {
	if grep -E "Sanitizer|runtime error|Segmentation|Aborted" "$1"; then return 1; fi
}

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
rcli EVAL "for i = 1, 20000 do redis.call('SET', 'k:' .. i, i) end return 1" 0 >/dev/null

# --rate 4000 --count 100 makes the full scan take about 5 s.
test_expect_success 'SIGINT: partial report, complete false, exit 3, a cursor to resume from' '
	ops-redisaudit --format json --rate 4000 --count 100 "$REDIS_URL" >int.json 2>int.err &
	pid=$! && sleep 1.5 && kill -INT $pid && { wait $pid; rc=$?; } &&
	test $rc -eq 3 && no_crash int.err &&
	test "$(json_get int.json "d[\"complete\"]")" = False &&
	test "$(json_get int.json "0 < d[\"totals\"][\"examined\"] < 20000")" = True &&
	json_get int.json "d[\"resume\"]" >cursor && test "$(cat cursor)" != None &&
	test_grep "resume with --resume" int.err &&
	test_grep "\"id\": \"scan\"" int.json && test_grep "interrupted" int.json
'

test_expect_success '--resume continues from the cursor; both parts add up to every key' '
	ops-redisaudit --format json --resume "$(cat cursor)" "$REDIS_URL" >res.json 2>res.err; test $? -le 2 &&
	test "$(json_get res.json "d[\"complete\"]")" = True &&
	first=$(json_get int.json "d[\"totals\"][\"keys\"]") &&
	rest=$(json_get res.json "d[\"totals\"][\"keys\"]") &&
	test $((first + rest)) -eq 20000
'

test_expect_code 3 'a cursor that is not a number is refused' '
	ops-redisaudit --resume "12x" "$REDIS_URL"
'

test_expect_success 'server killed mid-scan: partial report, exit 3, no crash' '
	ops-redisaudit --format json --rate 4000 --count 100 "$REDIS_URL" >kill.json 2>kill.err &
	pid=$! && sleep 1.5 && stop_redis_pidfile "$REDIS_PIDFILE" && { wait $pid; rc=$?; } &&
	test $rc -eq 3 && no_crash kill.err &&
	test "$(json_get kill.json "d[\"complete\"]")" = False &&
	test "$(json_get kill.json "d[\"nodes\"][0][\"error\"] is not None")" = True &&
	test "$(json_get kill.json "0 < d[\"totals\"][\"keys\"] < 20000")" = True &&
	test_grep "connection lost" kill.json
'

start_redis second || { echo "Bail out! redis-server did not start"; exit 1; }
rcli EVAL "for i = 1, 20000 do redis.call('SET', 'k:' .. i, i) end return 1" 0 >/dev/null

test_expect_success 'the text report of a killed server says so and names the cursor' '
	ops-redisaudit --rate 4000 --count 100 "$REDIS_URL" >kill.txt 2>kill2.err &
	pid=$! && sleep 1 && stop_redis_pidfile "$REDIS_PIDFILE" && { wait $pid; rc=$?; } &&
	test $rc -eq 3 && no_crash kill2.err &&
	test_grep "^UNKNOWN  *scan" kill.txt && test_grep "complete no" kill.txt &&
	test_grep "continue with --resume" kill.txt
'

start_redis third || { echo "Bail out! redis-server did not start"; exit 1; }

# Keys that expire between SCAN and TYPE (the --rate pause sits between them) are counted
# apart, never as keys or types.
test_expect_success 'keys that vanish mid-scan are counted apart' '
	rcli EVAL "for i = 1, 1000 do redis.call(\"SET\", \"p:\" .. i, 1) end
		for i = 1, 2000 do redis.call(\"SET\", \"v:\" .. i, 1, \"PX\", 500 + i) end return 1" 0 >/dev/null &&
	{ ops-redisaudit --format json --rate 1000 --count 100 "$REDIS_URL" >van.json 2>van.err; test $? -le 2; } &&
	no_crash van.err &&
	test "$(json_get van.json "d[\"totals\"][\"no_ttl\"]")" = 1000 &&
	test "$(json_get van.json "d[\"totals\"][\"vanished\"] > 0")" = True &&
	test "$(json_get van.json "d[\"totals\"][\"keys\"] + d[\"totals\"][\"vanished\"] <= 3000")" = True &&
	test "$(json_get van.json "sum(d[\"totals\"][\"types\"].values()) == d[\"totals\"][\"keys\"]")" = True
'

test_done
