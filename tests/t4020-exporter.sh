#!/bin/sh
# ops-pgprobe --listen: exporter mode (the blackbox_exporter pattern) against a real
# PostgreSQL, scraped by curl and by a real Prometheus; promtool checks every answer and
# the shipped scrape config and alert rules (configs/prometheus/).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql curl python3

start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }

# A server that accepts connections and never answers: a probe of it ends only by a deadline.
STALL=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
conns, end = [], time.time() + 120
while time.time() < end:
    s.settimeout(end - time.time())
    try: conns.append(s.accept()[0])
    except OSError: break
' "$STALL" >/dev/null 2>&1 &
test_cleanup_add "kill $! 2>/dev/null"
wait_for_port "$STALL" || { echo "Bail out! the stalling server did not start"; exit 1; }

cat >exporter.yaml <<YAML
postgres:
  targets:
    main:
      dsn: "$PG_DSN"
    gone:
      dsn: "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=1"
    stalled:
      dsn: "host=127.0.0.1 port=$STALL dbname=x user=x"
  exporter:
    max_concurrent: 2
    timeout: 30s
YAML


PORT=$(free_port)
start_exporter ops-pgprobe "$PORT" || { echo "Bail out! the exporter did not start"; cat exporter.err; exit 1; }
URL=http://127.0.0.1:$PORT

test_expect_success '/probe?target=NAME answers the prometheus exposition of one probe' '
	curl -fsS "$URL/probe?target=main" >probe.txt &&
	test_grep "^opskit_probe_success 1$" probe.txt &&
	test_grep "^opskit_probe_duration_seconds [0-9.]*$" probe.txt &&
	test_grep "^opskit_check_status{.*check=\"connections\"" probe.txt &&
	test_grep "^opskit_status{tool=\"ops-pgprobe\"} 0$" probe.txt
'

test_expect_success 'the answer has the series --format prometheus writes for that target' '
	ops-pgprobe --config exporter.yaml --format prometheus main >cli.txt &&
	sed -n "s/^\(opskit_check_status{[^}]*}\).*/\1/p" cli.txt | sort >cli-series &&
	sed -n "s/^\(opskit_check_status{[^}]*}\).*/\1/p" probe.txt | sort >probe-series &&
	test -s cli-series && test_cmp cli-series probe-series
'

test_expect_success 'a server that refuses connections is judged: CRITICAL connect, probe success 1' '
	curl -fsS "$URL/probe?target=gone" >gone.txt &&
	test_grep "^opskit_probe_success 1$" gone.txt &&
	test_grep "^opskit_check_status{tool=\"ops-pgprobe\",check=\"connect\",subject=\"gone\"} 2$" gone.txt
'

test_expect_success 'a probe never outlives the scrape timeout: a stalled server is a CRITICAL timeout' '
	start=$(date +%s) &&
	curl -sS -m 20 -H "X-Prometheus-Scrape-Timeout-Seconds: 2" "$URL/probe?target=stalled" >stalled.txt &&
	end=$(date +%s) &&
	test_grep "^opskit_probe_success 1$" stalled.txt &&
	test_grep "^opskit_check_status{tool=\"ops-pgprobe\",check=\"connect\",subject=\"stalled\"} 2$" stalled.txt &&
	{ test $((end - start)) -le 5 || { echo "took $((end - start))s"; false; }; }
'

# A scrape timeout under 0.72 s left the probe a deadline of 0 ms or less (the scrape's
# less 200 ms): it gave up on every target at once, a healthy one too. Half the scrape's
# deadline is the probe's at least: against the stalled server it waits that long.
test_expect_success 'a short scrape timeout still leaves the probe half of its deadline' '
	curl -sS -m 20 -w "%{time_total}\n" -H "X-Prometheus-Scrape-Timeout-Seconds: 0.6" \
		"$URL/probe?target=stalled" >short.txt &&
	test_grep "^opskit_probe_success 1$" short.txt &&
	took_ms=$(tail -n 1 short.txt | awk "{ printf \"%d\", \$1 * 1000 }") &&
	{ test "$took_ms" -ge 40 || { echo "the probe gave up after ${took_ms}ms"; false; }; }
'

test_expect_success 'a target that is not configured is refused (400); a DSN is not probed' '
	code=$(curl -s -o refused.txt -w "%{http_code}" "$URL/probe?target=nosuch") && test "$code" = 400 &&
	test_grep "not a configured target" refused.txt &&
	code=$(curl -s -o /dev/null -w "%{http_code}" "$URL/probe?target=host%3D127.0.0.1") && test "$code" = 400 &&
	code=$(curl -s -o /dev/null -w "%{http_code}" "$URL/probe") && test "$code" = 400
'

test_expect_success '/metrics counts the scrapes by result; anything else is 404' '
	curl -fsS "$URL/metrics" >metrics.txt &&
	test_grep "^opskit_exporter_scrapes_total{result=\"success\"} [1-9]" metrics.txt &&
	test_grep "^opskit_exporter_scrapes_total{result=\"success\"} [3-9]$" metrics.txt &&
	test_grep "^opskit_exporter_scrapes_total{result=\"failure\"} 0$" metrics.txt &&
	test_grep "^opskit_exporter_build_info{tool=\"ops-pgprobe\"" metrics.txt &&
	code=$(curl -s -o /dev/null -w "%{http_code}" "$URL/nothing") && test "$code" = 404
'

if command -v promtool >/dev/null 2>&1; then
	test_expect_success 'promtool check metrics accepts every answer' '
		for f in probe.txt gone.txt stalled.txt metrics.txt; do
			promtool check metrics <$f >lint.out 2>&1 || { echo "$f:"; cat lint.out; exit 1; }
		done
	'
	test_expect_success 'the shipped scrape config and alert rules pass promtool' '
		promtool check config "$OPSKIT_ROOT/configs/prometheus/prometheus.yml" >/dev/null &&
		promtool check rules "$OPSKIT_ROOT/configs/prometheus/opskit-alerts.yml" >/dev/null
	'
else
	test_skip 'promtool check metrics accepts every answer' 'promtool is not installed'
	test_skip 'the shipped scrape config and alert rules pass promtool' 'promtool is not installed'
fi

if command -v prometheus >/dev/null 2>&1; then
	PPORT=$(free_port)
	sed -e "s/127.0.0.1:9187/127.0.0.1:$PORT/" -e "s/targets: \[main, replica\]/targets: [main, stalled]/" \
		-e "s/scrape_interval: .*/scrape_interval: 1s/" -e "s/scrape_timeout: .*/scrape_timeout: 1s/" \
		-e "/^rule_files:/,/^$/d" "$OPSKIT_ROOT/configs/prometheus/prometheus.yml" >prom.yml
	mkdir -p tsdb
	prometheus --config.file=prom.yml --storage.tsdb.path=tsdb \
		--web.listen-address="127.0.0.1:$PPORT" >prom.log 2>&1 &
	test_cleanup_add "kill $! 2>/dev/null"
	test_expect_success 'a real Prometheus scrapes the exporter with blackbox relabeling' '
		wait_for_port "$PPORT" &&
		for i in $(seq 1 60); do
			curl -fsS "http://127.0.0.1:$PPORT/api/v1/query?query=opskit_check_status%7Bcheck%3D%22connect%22%7D" >q.json 2>/dev/null &&
			grep -q "\"target\":\"stalled\"" q.json && grep -q "\"target\":\"main\"" q.json && break
			sleep 0.5
		done &&
		python3 - q.json <<-\PY
		import json, sys
		d = json.load(open(sys.argv[1]))
		got = {r["metric"]["target"]: r["value"][1] for r in d["data"]["result"]}
		assert got == {"main": "0", "stalled": "2"}, got
		PY
	'
else
	test_skip 'a real Prometheus scrapes the exporter with blackbox relabeling' 'prometheus is not installed'
fi

test_expect_success 'a non-loopback address needs allow_remote' '
	! ops-pgprobe --config exporter.yaml --listen "0.0.0.0:$(free_port)" 2>err &&
	test_grep "not a loopback address" err
'

test_expect_success '--listen takes no DSN operands' '
	! ops-pgprobe --listen "127.0.0.1:$(free_port)" "$PG_DSN" 2>err &&
	test_grep "no DSN operands" err
'

P2=$(free_port)
printf 'postgres:\n  targets:\n    main:\n      dsn: "%s"\n  exporter:\n    username: prom\n    password: s3cret-exp0rter\n' "$PG_DSN" >auth.yaml
start_exporter ops-pgprobe "$P2" auth.yaml
test_expect_success 'basic auth: 401 without the password, 200 with it; the password is not logged' '
	code=$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$P2/metrics") && test "$code" = 401 &&
	code=$(curl -s -o /dev/null -w "%{http_code}" -u prom:wrong "http://127.0.0.1:$P2/metrics") && test "$code" = 401 &&
	curl -fsS -u prom:s3cret-exp0rter "http://127.0.0.1:$P2/probe?target=main" >auth.txt &&
	test_grep "^opskit_probe_success 1$" auth.txt &&
	test_grep_not s3cret-exp0rter exporter.err
'

# One scrape at a time: another one while a probe of the stalled server runs is refused.
# Two connection threads at once, and /metrics read while a probe is in flight.
P3=$(free_port)
printf 'postgres:\n  targets:\n    stalled:\n      dsn: "host=127.0.0.1 port=%s dbname=x user=x"\n  exporter:\n    max_concurrent: 1\n' \
	"$STALL" >one.yaml
start_exporter ops-pgprobe "$P3" one.yaml
test_expect_success 'max_concurrent: a scrape past it is answered 503 at once and counted as rejected' '
	curl -sS -m 20 -H "X-Prometheus-Scrape-Timeout-Seconds: 3" "http://127.0.0.1:$P3/probe?target=stalled" >slow.txt &
	slow=$! && n=0 &&
	until curl -fsS "http://127.0.0.1:$P3/metrics" | grep -q "^opskit_exporter_scrapes_in_flight 1$" ||
		test $n -ge 100; do sleep 0.05; n=$((n + 1)); done &&
	code=$(curl -s -m 2 -o busy.txt -w "%{http_code}" "http://127.0.0.1:$P3/probe?target=stalled") &&
	{ test "$code" = 503 || { echo "HTTP $code"; cat busy.txt; false; }; } &&
	test_grep "too many scrapes" busy.txt &&
	wait $slow && test_grep "^opskit_probe_success 1$" slow.txt &&
	curl -fsS "http://127.0.0.1:$P3/metrics" >one-metrics.txt &&
	test_grep "^opskit_exporter_scrapes_total{result=\"rejected\"} 1$" one-metrics.txt &&
	test_grep "^opskit_exporter_scrapes_total{result=\"success\"} 1$" one-metrics.txt &&
	test_grep "^opskit_exporter_scrapes_in_flight 0$" one-metrics.txt
'

test_done
