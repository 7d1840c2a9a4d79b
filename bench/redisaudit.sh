#!/bin/sh
# bench/redisaudit.sh — ops-redisaudit against redis-cli --memkeys, side by side, on the same
# loopback redis-server holding BENCH_REDIS_KEYS (default 1,000,000) mixed keys: 60% strings
# (a third with a TTL), 15% hashes, 10% lists, 8% sets, 6% zsets, 1% streams.
#
# Prints the keys/s of both (wall clock, best of BENCH_RUNS, default 3), the ratio (target
# >= 6x), the server CPU each run cost (last run; on loopback the server's own work per key
# bounds any SCAN-based audit), the peak RSS of ops-redisaudit (limit 64 MiB), and checks
# that both tools saw the same number of keys per type. Exit 1 when the counts differ or the RSS is over the limit.
# The server it starts (loopback, no persistence) is stopped at the end.
set -u

KEYS=${BENCH_REDIS_KEYS:-1000000}
RUNS=${BENCH_RUNS:-3}
RSS_LIMIT_KB=65536
TARGET_RATIO=6
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${OPSKIT_BIN:-$root/bin}
AUDIT=$BIN/ops-redisaudit

for c in redis-server redis-cli python3 "$AUDIT"; do
	command -v "$c" >/dev/null 2>&1 || { echo "redisaudit bench: $c is missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/opskit-bench-redis.XXXXXX)
pidfile=$work/redis.pid
cleanup() {
	[ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
	sleep 0.2
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
	--dir "$work" --pidfile "$pidfile" --logfile "$work/redis.log" || exit 1
n=0
until redis-cli -p "$port" PING 2>/dev/null | grep -q PONG; do
	n=$((n + 1)); [ $n -gt 100 ] && { echo "redis-server did not start" >&2; exit 1; }
	sleep 0.1
done

# Populate in server-side chunks of 100,000 keys (one EVAL each, no client round trips).
echo "populating $KEYS keys on 127.0.0.1:$port ..."
chunk=100000
start=0
while [ "$start" -lt "$KEYS" ]; do
	end=$((start + chunk)); [ "$end" -gt "$KEYS" ] && end=$KEYS
	redis-cli -p "$port" EVAL "
	for i = tonumber(ARGV[1]) + 1, tonumber(ARGV[2]) do
		local m = i % 100
		if m < 60 then
			if m < 20 then redis.call('SET', 'str:' .. i, 'value-' .. i, 'EX', 86400)
			else redis.call('SET', 'str:' .. i, 'value-' .. i) end
		elseif m < 75 then redis.call('HSET', 'user:' .. i .. ':profile', 'name', 'n' .. i, 'age', m)
		elseif m < 85 then redis.call('RPUSH', 'queue:' .. i, 'a', 'b', 'c', 'd')
		elseif m < 93 then redis.call('SADD', 'tags:' .. i, 'red', 'green', 'blue')
		elseif m < 99 then redis.call('ZADD', 'rank:' .. i, 1, 'a', 2, 'b')
		else redis.call('XADD', 'events:' .. i, '*', 'k', 'v') end
	end
	return 1" 0 "$start" "$end" >/dev/null || exit 1
	start=$end
done
dbsize=$(redis-cli -p "$port" DBSIZE)
[ "$dbsize" -eq "$KEYS" ] || { echo "DBSIZE $dbsize, wanted $KEYS" >&2; exit 1; }

now() { date +%s.%N; }
# CPU seconds the server has used: the floor of any SCAN-based audit is its own work.
server_cpu() {
	redis-cli -p "$port" INFO cpu | tr -d '\r' |
		awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.3f", s }'
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a + 0 < b + 0) ? a : b }'; }

# redis-cli --memkeys: the same SCAN walk, TYPE and MEMORY USAGE per key.
best_cli=
i=0
while [ $i -lt "$RUNS" ]; do
	c0=$(server_cpu)
	t0=$(now)
	timeout 600 redis-cli -p "$port" --memkeys >"$work/memkeys.out" 2>&1 || { echo "redis-cli --memkeys failed" >&2; exit 1; }
	t1=$(now)
	best_cli=$(min "$(elapsed "$t0" "$t1")" "$best_cli")
	cpu_cli=$(elapsed "$c0" "$(server_cpu)")
	i=$((i + 1))
done

# ops-redisaudit, with its peak RSS from /usr/bin/time (else from /proc polling).
best_ours=
rss_kb=0
i=0
while [ $i -lt "$RUNS" ]; do
	c0=$(server_cpu)
	t0=$(now)
	if [ -x /usr/bin/time ]; then
		timeout 600 /usr/bin/time -f '%M' -o "$work/rss" "$AUDIT" --format json "redis://127.0.0.1:$port" >"$work/ours.json" 2>"$work/ours.err"
		rc=$?
		run_rss=$(tail -n 1 "$work/rss")
	else
		timeout 600 "$AUDIT" --format json "redis://127.0.0.1:$port" >"$work/ours.json" 2>"$work/ours.err" &
		apid=$!
		run_rss=0
		while kill -0 $apid 2>/dev/null; do
			v=$(awk '/^VmHWM:/ { print $2 }' /proc/$apid/status 2>/dev/null)
			[ -n "$v" ] && [ "$v" -gt "$run_rss" ] && run_rss=$v
			sleep 0.05
		done
		wait $apid; rc=$?
	fi
	t1=$(now)
	[ "$rc" -le 2 ] || { echo "ops-redisaudit failed (exit $rc):" >&2; cat "$work/ours.err" >&2; exit 1; }
	[ "$run_rss" -gt "$rss_kb" ] && rss_kb=$run_rss
	best_ours=$(min "$(elapsed "$t0" "$t1")" "$best_ours")
	cpu_ours=$(elapsed "$c0" "$(server_cpu)")
	i=$((i + 1))
done

# Keys per type: redis-cli's summary ("600000 strings with ...") against our JSON totals.
sed -n 's/^\([0-9][0-9]*\) \(strings\|lists\|sets\|zsets\|hashs\|streams\) with .*/\2 \1/p' "$work/memkeys.out" |
	sed 's/^strings/string/; s/^lists/list/; s/^sets/set/; s/^zsets/zset/; s/^hashs/hash/; s/^streams/stream/' |
	sort >"$work/cli.types"
python3 - "$work/ours.json" >"$work/ours.types" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for t, n in sorted(d["totals"]["types"].items()):
    if n:
        print(t, n)
PY

awk -v keys="$KEYS" -v cli="$best_cli" -v ours="$best_ours" -v rss="$rss_kb" -v target="$TARGET_RATIO" \
	-v ccli="$cpu_cli" -v cours="$cpu_ours" 'BEGIN {
	kc = keys / cli; ko = keys / ours
	printf "%-28s %10s %12s %12s\n", "tool (" keys " keys)", "seconds", "keys/s", "server CPU s"
	printf "%-28s %10.2f %12.0f %12.2f\n", "redis-cli --memkeys", cli, kc, ccli
	printf "%-28s %10.2f %12.0f %12.2f\n", "ops-redisaudit", ours, ko, cours
	printf "ratio: %.2fx (target >= %dx: %s)\n", ko / kc, target, ((ko / kc >= target) ? "met" : "NOT met")
	printf "ops-redisaudit peak RSS: %.1f MiB (limit 64 MiB)\n", rss / 1024
	printf "server-bound ceiling on this host: ops-redisaudit at most %.0f keys/s (%.2fx)\n", keys / cours, (keys / cours) / kc
}'

rc=0
if cmp -s "$work/cli.types" "$work/ours.types"; then
	echo "keys per type: identical ($(tr '\n' ' ' <"$work/ours.types"))"
else
	echo "keys per type DIFFER (redis-cli, then ops-redisaudit):"
	paste "$work/cli.types" "$work/ours.types"
	rc=1
fi
if [ "$rss_kb" -ge "$RSS_LIMIT_KB" ]; then
	echo "peak RSS over the limit"
	rc=1
fi
exit $rc
