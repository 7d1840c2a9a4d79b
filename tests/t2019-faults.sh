#!/bin/sh
# ops-redisaudit under faults a real server or the fault proxy (tests/lib/fault-proxy.py)
# makes on demand: the server killed mid-scan (-o report whole, token resumes), LOADING,
# BUSY from a long script, a stalled socket, a cluster node killed mid-scan, replies larger
# than expected and a corrupted reply. Each: the documented exit code, a clear error, no
# sanitizer report, no half-written -o file. t2005 and t2007 hold the plain cases.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
. "$TEST_LIB/faults.sh"

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
rcli EVAL "for i = 1, 5000 do redis.call('SET', 'k:' .. i, i) end return 1" 0 >/dev/null

test_expect_success 'killed mid-scan with -o: exit 3, the file is a whole partial report' '
	ops-redisaudit --format json -o kill.json --count 100 --pause-ms 100 "$REDIS_URL" 2>kill.err &
	pid=$! && sleep 1 && stop_redis_pidfile "$REDIS_PIDFILE" && { wait $pid; rc=$?; } &&
	test $rc -eq 3 && no_crash kill.err && whole_or_absent kill.json &&
	test "$(json_get kill.json "d[\"complete\"]")" = False &&
	json_get kill.json "d[\"resume\"]" >token && test "$(cat token)" != None &&
	clear_error kill.err "resume with --resume"
'

test_expect_success 'the token resumes on the restarted server and the scan completes' '
	_redis_spawn "$REDIS_DIR" "$REDIS_PORT" &&
	rcli EVAL "for i = 1, 5000 do redis.call(\"SET\", \"k:\" .. i, i) end return 1" 0 >/dev/null &&
	{ ops-redisaudit --format json --resume "$(cat token)" "$REDIS_URL" >res.json 2>res.err; test $? -le 2; } &&
	no_crash res.err && test "$(json_get res.json "d[\"complete\"]")" = True &&
	test "$(json_get res.json "0 < d[\"totals\"][\"keys\"] < 5000")" = True
'

start_fault_tcp_proxy "$REDIS_PORT" || { echo "Bail out! fault proxy did not start"; exit 1; }
PROXY_URL=redis://127.0.0.1:$FAULT_TCP_PORT

test_expect_success 'through the proxy passing everything the audit is as direct' '
	fault_rule pass &&
	{ ops-redisaudit --format json "$PROXY_URL" >pass.json 2>pass.err; test $? -le 2; } &&
	test "$(json_get pass.json "d[\"totals\"][\"keys\"]")" = 5000
'

test_expect_success 'LOADING on SCAN (a restarting server): exit 3, one clear error' '
	fault_rule "reply-at SCAN -LOADING Redis is loading the dataset in memory\r\n" &&
	{ run_with_timeout 30 ops-redisaudit --format json -o load.json --timeout 2s "$PROXY_URL" 2>load.err; rc=$?; } &&
	test $rc -eq 3 && no_crash load.err && whole_or_absent load.json &&
	test_grep LOADING load.json
'

test_expect_success 'LOADING on INFO (the first command): exit 3, the error names it' '
	fault_rule "reply-at INFO -LOADING Redis is loading the dataset in memory\r\n" &&
	{ run_with_timeout 30 ops-redisaudit --timeout 2s "$PROXY_URL" >loadi.out 2>loadi.err; rc=$?; } &&
	test $rc -eq 3 && no_crash loadi.err && grep -q LOADING loadi.out loadi.err
'

test_expect_success 'a socket that stalls mid-scan: --timeout bounds it, exit 3, partial report' '
	fault_rule "stall-at up SCAN" &&
	start=$(date +%s) &&
	{ run_with_timeout 30 ops-redisaudit --format json -o stall.json --timeout 1s "$PROXY_URL" 2>stall.err; rc=$?; } &&
	test $rc -eq 3 && test $(( $(date +%s) - start )) -lt 15 && no_crash stall.err &&
	whole_or_absent stall.json && test "$(json_get stall.json "d[\"complete\"]")" = False
'

test_expect_success 'a stall before any reply (handshake): exit 3 within the timeout, one line' '
	fault_rule stall &&
	start=$(date +%s) &&
	{ run_with_timeout 30 ops-redisaudit --timeout 1s "$PROXY_URL" >stall0.out 2>stall0.err; rc=$?; } &&
	test $rc -eq 3 && test $(( $(date +%s) - start )) -lt 15 && no_crash stall0.err &&
	clear_error stall0.err "127.0.0.1:$FAULT_TCP_PORT"
'

test_expect_success 'a connection cut mid-reply: exit 3, no crash' '
	fault_rule "cut down 3000" &&
	{ run_with_timeout 30 ops-redisaudit --format json -o cut.json --timeout 2s "$PROXY_URL" 2>cut.err; rc=$?; } &&
	test $rc -eq 3 && no_crash cut.err && whole_or_absent cut.json
'

test_expect_success 'a corrupted reply (protocol error): exit 3, no crash' '
	fault_rule "corrupt down 0" &&
	{ run_with_timeout 30 ops-redisaudit --timeout 2s "$PROXY_URL" >bad.out 2>bad.err; rc=$?; } &&
	test $rc -eq 3 && no_crash bad.err && test -s bad.err
'

test_expect_success 'a reply claiming 2 GiB: bounded by --timeout, exit 3, no crash' '
	fault_rule "reply-at SCAN \$2147483000\r\nabc" &&
	{ run_with_timeout 30 ops-redisaudit --timeout 1s "$PROXY_URL" >huge.out 2>huge.err; rc=$?; } &&
	test $rc -eq 3 && no_crash huge.err
'

test_expect_success 'a 16 MiB key name (a reply larger than expected): audited, text output bounded' '
	fault_rule pass &&
	python3 -c "import sys; sys.stdout.write(\"big:\" + \"x\" * (16 << 20))" >bigname &&
	python3 -c "
import socket, sys
k = open(\"bigname\", \"rb\").read()
s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 10)
s.sendall(b\"*3\r\n\$3\r\nSET\r\n\$%d\r\n%s\r\n\$1\r\n1\r\n\" % (len(k), k))
assert s.recv(16).startswith(b\"+OK\")" "$REDIS_PORT" &&
	{ run_with_timeout 60 ops-redisaudit "$PROXY_URL" >bigk.txt 2>bigk.err; test $? -le 2; } &&
	no_crash bigk.err && test_grep "5001" bigk.txt && test $(wc -c <bigk.txt) -lt 100000 &&
	rcli DEL "$(head -c 10 bigname)" >/dev/null
'

start_redis busy -- --busy-reply-threshold 100 || { echo "Bail out! redis-server did not start"; exit 1; }
rcli SET a 1 >/dev/null

test_expect_success 'BUSY from a long script: exit 3, one clear error, no crash' '
	(rcli EVAL "while true do end" 0 >/dev/null 2>&1 &) &&
	test_cleanup_add "redis-cli -p $REDIS_PORT SCRIPT KILL >/dev/null 2>&1" &&
	sleep 0.5 &&
	{ run_with_timeout 30 ops-redisaudit --format json -o busy.json --timeout 2s "$REDIS_URL" 2>busy.err; rc=$?; } || { rcli SCRIPT KILL >/dev/null 2>&1; exit 1; }
	rcli SCRIPT KILL >/dev/null 2>&1
	test $rc -eq 3 && no_crash busy.err && whole_or_absent busy.json && test_grep BUSY busy.json
'

start_redis_cluster || { echo "Bail out! redis cluster did not start"; exit 1; }

test_expect_success 'a cluster node killed mid-scan: exit 3, the others complete, the node named' '
	awk "BEGIN { for (i = 1; i <= 6000; i++) print \"SET c:\" i \" v\" }" |
		redis-cli -c -p "${REDIS_CLUSTER_PORTS%% *}" >/dev/null &&
	{ ops-redisaudit --format json -o cl.json --count 50 --pause-ms 100 "$REDIS_CLUSTER_URL" 2>cl.err & } &&
	pid=$! && sleep 1 && kill -9 $(cat "$TRASH/cluster-2/redis.pid") && { wait $pid; rc=$?; } &&
	test $rc -eq 3 && no_crash cl.err && whole_or_absent cl.json &&
	test "$(json_get cl.json "d[\"complete\"]")" = False &&
	test "$(json_get cl.json "sum(1 for n in d[\"nodes\"] if n[\"error\"])")" = 1 &&
	clear_error cl.err "resume with --resume"
'

test_done
