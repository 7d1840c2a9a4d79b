#!/bin/sh
# bench/soak.sh — soak and bounds, not a timed test: each part prints its bound, the value
# measured and PASS or FAIL; exit 1 when a bound fails. Loopback servers only, started
# here in a temporary directory and stopped at the end.
#   redisaudit   5,000,000 keys (DEBUG POPULATE): peak RSS under 64 MiB, and flat: at 5M
#                keys at most 1.5x (+4 MiB) its value at 1M keys
#   promote      a 2 GiB layer copied between two registries (streamed): peak RSS within
#                1.5x (+4 MiB) of a 200 MiB layer's
#   pgprobe      5,000 idle sessions: the probe sends one statement (log_statement=all,
#                counted by application_name) and its output does not grow with the
#                sessions: at most 2x (+4 KiB) its size with 100
# Peak RSS is /usr/bin/time's maximum resident set size. Environment: SOAK_REDIS_KEYS
# (5000000), SOAK_LAYER_MB (2048), SOAK_PG_SESSIONS (5000), SOAK_PARTS (all three).
# Needs about 2 GB of memory for redis, 3 x the layer in free disk under /tmp, and about
# 1.5 MB of memory per PostgreSQL session; a part whose resources are missing is skipped
# and says why.
set -u
OPSKIT_ROOT=${OPSKIT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
export OPSKIT_ROOT
. "$OPSKIT_ROOT/tests/test-lib.sh"
KEYS=${SOAK_REDIS_KEYS:-5000000}
LAYER_MB=${SOAK_LAYER_MB:-2048}
SESSIONS=${SOAK_PG_SESSIONS:-5000}
PARTS=${SOAK_PARTS:-redisaudit promote pgprobe}
TIME=/usr/bin/time
test -x $TIME || { echo "bench soak: /usr/bin/time is not installed (ci/install-deps.sh bench)"; exit 1; }
failed=0

# peak_kib CMD...: run CMD (output discarded), print its peak RSS in KiB
peak_kib() {
	$TIME -f '%M' -o peak.txt "$@" >/dev/null 2>cmd.err
	tail -1 peak.txt
}
# judge WHAT VALUE BOUND UNIT: print the line, PASS when VALUE <= BOUND
judge() {
	if [ "$2" -le "$3" ]; then v=PASS; else v=FAIL; failed=1; fi
	printf '  %-52s %10s %s  (bound %s)  %s\n' "$1" "$2" "$4" "$3" "$v"
}
flat_bound() { echo $(( $1 * 3 / 2 + $2 )); }   # BASE SLACK: 1.5 x BASE + SLACK
mem_avail_mb() { awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo; }
disk_avail_mb() { df -Pm "$TRASH" | awk 'NR == 2 { print $4 }'; }

soak_redisaudit() {
	. "$TEST_LIB/redis.sh"
	[ "$(mem_avail_mb)" -gt 3000 ] || { echo "  skipped: less than 3 GB of memory available"; return; }
	start_redis soak -- --enable-debug-command local >/dev/null || { echo "  redis-server did not start"; failed=1; return; }
	rcli DEBUG POPULATE 1000000 k 8 >/dev/null
	at1=$(peak_kib ops-redisaudit --rate 0 --format json "$REDIS_URL")
	t0=$(date +%s)
	rcli DEBUG POPULATE "$KEYS" k 8 >/dev/null
	at5=$(peak_kib ops-redisaudit --rate 0 --format json "$REDIS_URL")
	echo "  $(rcli DBSIZE) keys; loading the rest and auditing all took $(( $(date +%s) - t0 )) s"
	judge "peak RSS at 1,000,000 keys" "$at1" 65536 KiB
	judge "peak RSS at $KEYS keys (64 MiB)" "$at5" 65536 KiB
	judge "peak RSS at $KEYS keys, flat (1.5 x 1M + 4 MiB)" "$at5" "$(flat_bound "$at1" 4096)" KiB
	rcli FLUSHALL >/dev/null
}

soak_promote() {
	. "$TEST_LIB/registry.sh"
	need=$(( LAYER_MB * 3 + 1000 ))
	[ "$(disk_avail_mb)" -gt "$need" ] || { echo "  skipped: less than $need MB free under $TRASH"; return; }
	start_registry a plain >/dev/null && start_registry b plain >/dev/null ||
		{ echo "  docker-registry did not start"; failed=1; return; }
	make_test_image img small 1 $((200 << 20)) soak >/dev/null &&
	push_test_image img small "$REG_A/app:small" && rm -rf img &&
	make_test_image img big 1 $((LAYER_MB << 20)) soak >/dev/null &&
	push_test_image img big "$REG_A/app:big" && rm -rf img || { echo "  cannot push the images"; failed=1; return; }
	small=$(peak_kib ops-promote --timeout 10m "$REG_A/app:small" "$REG_B/app:small")
	t0=$(date +%s)
	big=$(peak_kib ops-promote --timeout 10m --total-timeout 30m "$REG_A/app:big" "$REG_B/app:big")
	echo "  the $LAYER_MB MiB layer took $(( $(date +%s) - t0 )) s"
	skopeo inspect --raw --tls-verify=false "docker://$REG_B/app:big" >/dev/null 2>&1 ||
		{ echo "  the big image is not in the target registry:"; cat cmd.err; failed=1; }
	judge "peak RSS, a 200 MiB layer" "$small" 65536 KiB
	judge "peak RSS, a $LAYER_MB MiB layer, flat (1.5 x 200 MiB + 4 MiB)" "$big" "$(flat_bound "$small" 4096)" KiB
	rm -rf "$REG_A_DIR" "$REG_B_DIR" 2>/dev/null
}

# open_sessions PORT N: N idle sessions held by one python process (the startup message
# by hand, trust authentication); prints how many opened and holds them (10 minutes at
# most) until killed. Its output goes to a file: $(...) would wait for it otherwise.
open_sessions() {
	python3 - "$1" "$2" >sessions.log 2>&1 <<'PY' &
import resource, socket, struct, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
params = b"user\0postgres\0database\0postgres\0application_name\0soak\0\0"
startup = struct.pack("!ii", 8 + len(params), 196608) + params
socks, deadline = [], time.time() + 300
while len(socks) < n and time.time() < deadline:
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.sendall(startup)
    buf = b""
    while b"Z\0\0\0\x05" not in buf and time.time() < deadline:
        buf += s.recv(4096)
    socks.append(s)
open("sessions.ready", "w").write(str(len(socks)))
time.sleep(600)
PY
	echo $! >sessions.pid
	test_cleanup_add "kill $(cat sessions.pid) 2>/dev/null"
	i=0
	while [ ! -s sessions.ready ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
	cat sessions.ready 2>/dev/null
}

soak_pgprobe() {
	. "$TEST_LIB/postgres.sh"
	need=$(( SESSIONS * 3 / 2 + 500 ))
	[ "$(mem_avail_mb)" -gt "$need" ] || { echo "  skipped: less than $need MB of memory available"; return; }
	PG_OPTIONS="-c log_statement=all -c log_line_prefix=app=%a:" start_postgres $((SESSIONS + 100)) 3 >/dev/null ||
		{ echo "  PostgreSQL did not start"; failed=1; return; }
	dsn="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
	rm -f sessions.ready; got=$(open_sessions "$PG_PORT" 100)
	ops-pgprobe --format json "$dsn" >few.json 2>/dev/null; ops-pgprobe "$dsn" >few.txt 2>/dev/null
	kill "$(cat sessions.pid)" 2>/dev/null; sleep 1
	rm -f sessions.ready; got=$(open_sessions "$PG_PORT" "$SESSIONS")
	echo "  $got sessions open"
	before=$(grep -c '^app=ops-pgprobe:.*statement:' "$PG_DIR/server.log")
	t0=$(date +%s%N)
	ops-pgprobe --format json "$dsn" >many.json 2>/dev/null
	echo "  the probe took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	statements=$(( $(grep -c '^app=ops-pgprobe:.*statement:' "$PG_DIR/server.log") - before ))
	ops-pgprobe "$dsn" >many.txt 2>/dev/null
	kill "$(cat sessions.pid)" 2>/dev/null
	judge "statements of one probe with $got sessions" "$statements" 1 ""
	judge "JSON bytes, $got sessions (2 x 100 sessions + 4 KiB)" "$(wc -c <many.json)" $(( $(wc -c <few.json) * 2 + 4096 )) B
	judge "text bytes, $got sessions (2 x 100 sessions + 4 KiB)" "$(wc -c <many.txt)" $(( $(wc -c <few.txt) * 2 + 4096 )) B
}

for part in $PARTS; do
	echo "soak: $part"
	soak_$part
done
exit $failed
