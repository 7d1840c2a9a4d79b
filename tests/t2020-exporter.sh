#!/bin/sh
# ops-redisaudit --no-scan and --listen (exporter mode) against a real Redis: server facts
# only (no SCAN, no per-key command), promtool-clean answers, named targets only.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd redis-server redis-cli curl

start_redis || { echo "Bail out! redis did not start"; exit 1; }
rcli EVAL "for i = 1, 300 do redis.call('SET', 'k:' .. i, 'v') end return 1" 0 >/dev/null

test_expect_success '--no-scan reports DBSIZE and the server checks, and sends no SCAN' '
	rcli CONFIG RESETSTAT >/dev/null &&
	{ ops-redisaudit --no-scan --format json "$REDIS_URL" >out.json; test $? -eq 1; } &&
	rcli INFO commandstats >stats &&
	test_grep_not "cmdstat_scan" stats && test_grep_not "cmdstat_type" stats &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	ks = [c for c in d["checks"] if c["id"] == "keyspace"][0]
	assert ks["status"] == "ok" and "300 keys" in ks["message"], ks
	ids = {c["id"] for c in d["checks"]}
	assert "keys-command" in ids and "maxmemory" in ids and "big-key" not in ids and "no-ttl" not in ids, ids
	assert d["scanned"] is False, d
	PY
'

PORT=$(free_port)
printf 'redis:\n  targets:\n    cache:\n      url: "%s"\n    gone:\n      url: "redis://127.0.0.1:1"\n' "$REDIS_URL" >exporter.yaml
start_exporter ops-redisaudit "$PORT" || { echo "Bail out! the exporter did not start"; cat exporter.err; exit 1; }
URL=http://127.0.0.1:$PORT

test_expect_success '/probe?target=NAME: the server facts of one target, no scan' '
	rcli CONFIG RESETSTAT >/dev/null &&
	curl -fsS "$URL/probe?target=cache" >probe.txt &&
	test_grep "^opskit_probe_success 1$" probe.txt &&
	test_grep "^opskit_check_status{tool=\"ops-redisaudit\",check=\"keyspace\"" probe.txt &&
	test_grep "^opskit_redisaudit_keys{check=\"keyspace\",subject=\"\"} 300$" probe.txt &&
	rcli INFO commandstats >stats && test_grep_not "cmdstat_scan" stats
'

test_expect_success 'an unreachable target is a verdict-less probe (success 0); an unknown one is 400' '
	curl -fsS "$URL/probe?target=gone" >gone.txt &&
	test_grep "^opskit_probe_success 0$" gone.txt &&
	code=$(curl -s -o refused.txt -w "%{http_code}" "$URL/probe?target=redis%3A%2F%2F127.0.0.1%3A1") &&
	test "$code" = 400 && test_grep "not a configured target" refused.txt
'

if command -v promtool >/dev/null 2>&1; then
	test_expect_success 'promtool check metrics accepts the answers' '
		curl -fsS "$URL/metrics" >metrics.txt &&
		for f in probe.txt gone.txt metrics.txt; do
			promtool check metrics <$f >lint.out 2>&1 || { echo "$f:"; cat lint.out; exit 1; }
		done
	'
else
	test_skip 'promtool check metrics accepts the answers' 'promtool is not installed'
fi

test_expect_success '--listen takes no target operand' '
	! ops-redisaudit --listen "127.0.0.1:$(free_port)" "$REDIS_URL" 2>err && test_grep "no target operand" err
'

test_done
