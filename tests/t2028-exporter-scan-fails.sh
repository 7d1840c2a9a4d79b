#!/bin/sh
# ops-redisaudit --listen: a scheduled full scan that cannot run (here its server is down:
# the audit ends UNKNOWN with exit 3) still replaces the last result, so that a scrape
# whose cheap probe passes (the server came back, or only the scan failed: cluster
# discovery, --resume) says so (opskit_redis_scan_exit_code 3) instead of serving an old
# scan as if it were current.
. "$(dirname "$0")/test-lib.sh"

PORT=$(free_port) DOWN=$(free_port)
cat >exporter.yaml <<EOF2
redis:
  timeout: 2s
  targets:
    gone:
      url: "redis://127.0.0.1:$DOWN"
      scan_interval: 1s
  exporter:
    state_dir: "$TRASH/state"
EOF2
start_exporter ops-redisaudit "$PORT" || { echo "Bail out! the exporter did not start"; cat exporter.err; exit 1; }

test_expect_success 'a scan that cannot connect is published with its exit code 3' '
	_n=0 &&
	while [ $_n -lt 50 ] && ! test -f "$TRASH/state/gone.prom"; do sleep 0.2; _n=$((_n + 1)); done &&
	test_grep "^opskit_redis_scan_exit_code 3$" "$TRASH/state/gone.prom" &&
	test_grep "^opskit_redis_scan_check_status{tool=\"ops-redisaudit\",check=\"connect\",subject=\"\"} 3$" \
		"$TRASH/state/gone.prom" &&
	test ! -e "$TRASH/state/gone.raw"
'

test_done
