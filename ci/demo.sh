#!/bin/sh
# make demo: start throwaway servers on loopback (temp dir, free ports), run each opskit
# tool against them, show its report, stop everything (trap). Nothing outside 127.0.0.1.
set -u
OPSKIT_ROOT=${OPSKIT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
export OPSKIT_ROOT
# test-lib gives us the temp dir, the teardown trap, free ports and the server helpers.
. "$OPSKIT_ROOT/tests/test-lib.sh"
unset NO_COLOR

step() { printf '\n\033[1m== %s\033[0m\n' "$*" 2>/dev/null; }
show() {
	printf '$ %s\n' "$*"
	"$@"
	printf '(exit %d)\n' $?
}

demo_pgprobe() {
	. "$TEST_LIB/postgres.sh"
	step "ops-pgprobe: a PostgreSQL 15 with max_connections=20, one session idle in a transaction"
	start_postgres 20 3 || return 1
	pg_session idler
	pg_send idler "BEGIN; SELECT * FROM t FOR UPDATE;"
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 1 || return 1
	sleep 2
	show ops-pgprobe -w idle-in-transaction=1s --pool web=4x3+1 "$PG_DSN"
	step "ops-pgprobe as a Nagios plugin"
	show ops-pgprobe --format nagios "$PG_DSN"
	pg_end_sessions
}

demo_redisaudit() {
	. "$TEST_LIB/redis.sh"
	step "ops-redisaudit: a Redis 7 with sessions (some never expire), a stream past its MAXLEN, a client that ran KEYS"
	start_redis || return 1
	rcli EVAL "
	for i = 1, 5000 do redis.call('SET', 'session:' .. i, 'x', 'EX', 3600) end
	for i = 1, 40 do redis.call('SET', 'session:' .. (100000 + i), 'x') end
	for i = 1, 800 do redis.call('HSET', 'user:' .. i .. ':profile', 'name', 'n' .. i) end
	for i = 1, 3000 do redis.call('XADD', 'queue:mail', '*', 'n', i) end
	redis.call('SET', 'report:2026', string.rep('x', 2000000))
	return 1" 0 >/dev/null
	rcli CONFIG SET slowlog-log-slower-than 0 >/dev/null
	printf 'CLIENT SETNAME nightly-job\nKEYS user:*\n' | rcli >/dev/null
	rcli CONFIG SET slowlog-log-slower-than 10000 >/dev/null
	printf 'redis:\n  streams:\n    mail:\n      match: "queue:*"\n      maxlen: 1000\n' >"$TRASH/redis-demo.yaml"
	show ops-redisaudit --config "$TRASH/redis-demo.yaml" --top 5 "$REDIS_URL"
	step "ops-redisaudit as JSON (totals)"
	ops-redisaudit --config "$TRASH/redis-demo.yaml" --format json "$REDIS_URL" |
		python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["totals"], indent=2))'
}

demo_promote() {
	. "$TEST_LIB/registry.sh"
	step "ops-promote: a local docker-registry with app:pr-42 (a 2-platform image CI tested)"
	start_registry demo plain || return 1
	make_test_image "$TRASH/img" pr-42 2 4096 "$(git -C "$OPSKIT_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" >/dev/null &&
		push_test_image "$TRASH/img" pr-42 "$REG_DEMO/app:pr-42" >/dev/null || return 1
	show ops-promote --dry-run "$REG_DEMO/app:pr-42" "$REG_DEMO/app:production"
	step "ops-promote: retag the tested digest as production (same repository: 3 requests)"
	show ops-promote "$REG_DEMO/app:pr-42" "$REG_DEMO/app:production"
	step "ops-promote: run again: nothing to do"
	show ops-promote "$REG_DEMO/app:pr-42" "$REG_DEMO/app:production"
	step "ops-promote: into another repository (blobs mounted, not copied), as JSON"
	show ops-promote --format json "$REG_DEMO/app:pr-42" "$REG_DEMO/shop/app:1.4.2"
}

demo_envcheck() {
	step "ops-envcheck: a service's .env that will 500 in production (broken TTS credential, # in a value)"
	openssl genrsa -out "$TRASH/sa.pem" 2048 2>/dev/null
	mkdir -p "$TRASH/svc" && cd "$TRASH/svc" || return 1
	# A service-account JSON whose private key was truncated when pasted.
	python3 - "$TRASH/sa.pem" >sa.b64 <<-'PY'
	import base64, json, sys
	key = open(sys.argv[1]).read()
	sa = {"type": "service_account", "project_id": "demo", "private_key_id": "k1",
	      "private_key": key[:200], "client_email": "tts@demo.iam.gserviceaccount.com",
	      "token_uri": "https://oauth2.googleapis.com/token"}
	print(base64.b64encode(json.dumps(sa).encode()).decode())
	PY
	{
		echo "DATABASE_URL=postgres://app:s3cret-pw@db:5432/app"
		echo "PORT=8080"
		echo "db_pool_max=20"
		echo "DB_POOL_MIN=30"
		echo "LOG_LEVEL = info"
		echo "COLOR=#ff0000"
		echo "TTS_PROVIDER=google"
		echo "GOOGLE_CLOUD_CREDENTIALS_B64=$(cat sa.b64)"
	} >.env
	chmod 600 .env
	show ops-envcheck --no-git --schema "$OPSKIT_ROOT/configs/envcheck-tts.schema.yaml" .env
	step "ops-envcheck print: what python-dotenv and node's dotenv load from it (secrets masked)"
	show ops-envcheck print --dialect python .env
	show ops-envcheck print --dialect node .env
	cd "$TRASH" || return 1
}

rc=0
for part in ${DEMO_PARTS:-pgprobe redisaudit promote envcheck}; do
	if command -v "demo_$part" >/dev/null 2>&1; then
		"demo_$part" || { echo "demo of $part failed" >&2; rc=1; }
	fi
done
step "done: servers stopped, temp dir removed"
exit $rc
