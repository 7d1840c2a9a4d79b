#!/bin/sh
# ops-redisaudit --listen with redis.targets.NAME.scan_interval: full scans in the
# background on a schedule, each /probe scrape serving the cheap probe plus the last full
# scan (metrics renamed opskit_redis_scan_*) with its age; stopped with the exporter.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd redis-server redis-cli curl

start_redis || { echo "Bail out! redis did not start"; exit 1; }
rcli EVAL "for i = 1, 200 do redis.call('SET', 'k:' .. i, 'v') end return 1" 0 >/dev/null

PORT=$(free_port)
cat >exporter.yaml <<EOF
redis:
  targets:
    cache:
      url: "$REDIS_URL"
      scan_interval: 1s
    cheap:
      url: "$REDIS_URL"
  exporter:
    state_dir: "$TRASH/state"
EOF
start_exporter ops-redisaudit "$PORT" || { echo "Bail out! the exporter did not start"; cat exporter.err; exit 1; }
URL=http://127.0.0.1:$PORT

# scrape_until FILE PATTERN: scrape cache until PATTERN shows (at most 10 s).
scrape_until() {
	_n=0
	while [ $_n -lt 50 ]; do
		curl -fsS --max-time 5 "$URL/probe?target=cache" >"$1" && grep -q -- "$2" "$1" && return 0
		sleep 0.2
		_n=$((_n + 1))
	done
	echo "no $2 in:"; cat "$1"; return 1
}

test_expect_success 'a scrape serves the last full scan with its age, next to the cheap probe' '
	scrape_until scan.txt "^opskit_redis_scan_age_seconds" &&
	test_grep "^opskit_redis_scan_redisaudit_keys{check=\"keyspace\",subject=\"\"} 200$" scan.txt &&
	test_grep "^opskit_redis_scan_check_status{tool=\"ops-redisaudit\",check=\"scan\",subject=\"\"} 0$" scan.txt &&
	test_grep "^opskit_redis_scan_interval_seconds 1$" scan.txt &&
	test_grep "^opskit_redis_scan_running [01]$" scan.txt &&
	test_grep "^opskit_redisaudit_keys{check=\"keyspace\",subject=\"\"} 200$" scan.txt &&
	test_grep "^opskit_probe_success 1$" scan.txt &&
	test -f "$TRASH/state/cache.prom"
'

test_expect_success 'the next scans follow the schedule: keys added show up' '
	rcli SET k:new v >/dev/null &&
	scrape_until again.txt "^opskit_redis_scan_redisaudit_keys{check=\"keyspace\",subject=\"\"} 201$"
'

test_expect_success 'a target without scan_interval gets no scan metrics' '
	curl -fsS --max-time 5 "$URL/probe?target=cheap" >cheap.txt &&
	test_grep "^opskit_probe_success 1$" cheap.txt &&
	test_grep_not "opskit_redis_scan_" cheap.txt
'

if command -v promtool >/dev/null 2>&1; then
	test_expect_success 'promtool check metrics accepts the answer with the scan' '
		promtool check metrics <scan.txt
	'
else
	test_skip 'promtool check metrics accepts the answer with the scan' 'promtool is not installed'
fi

test_expect_success 'the scheduler and its scans end with the exporter' '
	kill $EXPORTER && _n=0 &&
	while kill -0 $EXPORTER 2>/dev/null && [ $_n -lt 50 ]; do sleep 0.1; _n=$((_n + 1)); done &&
	! kill -0 $EXPORTER 2>/dev/null &&
	sleep 0.3 &&
	! pgrep -f "ops-redisaudit --config exporter.yaml --listen 127.0.0.1:$PORT" >/dev/null &&
	test ! -e "$TRASH/state/cache.running"
'

test_done
