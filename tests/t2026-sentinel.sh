#!/bin/sh
# ops-redisaudit on sentinel:// targets: a real Sentinel (password-protected) monitoring a
# primary with one replica names the primary to audit, or with --replica a healthy replica;
# Sentinels are tried in order; Sentinel's password never shows.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

SPASS=s3nt-Pa55w0rd-x
start_redis primary || { echo "Bail out! redis-server did not start"; exit 1; }
PRIMARY_PORT=$REDIS_PORT
rcli EVAL "for i = 1, 300 do redis.call('SET', 'k:' .. i, 'x') end return 1" 0 >/dev/null
start_redis replica -- --replicaof 127.0.0.1 "$PRIMARY_PORT" ||
	{ echo "Bail out! replica did not start"; exit 1; }
REPLICA_PORT=$REDIS_PORT
start_redis_sentinel "$PRIMARY_PORT" mymaster "$SPASS" || { echo "Bail out! sentinel did not start"; exit 1; }
# Sentinel learns of the replica from the primary's INFO: wait (bounded) until it is healthy.
n=0
until REDISCLI_AUTH=$SPASS redis-cli -p "$SENTINEL_PORT" SENTINEL REPLICAS mymaster 2>/dev/null | grep -qx ok ||
	test $n -gt 200; do
	sleep 0.1; n=$((n + 1))
done
DEAD_PORT=$(free_port 55535)

cat >opskit.yaml <<EOF2
redis:
  targets:
    viaconfig:
      sentinels: ["127.0.0.1:$SENTINEL_PORT"]
      master_name: mymaster
      sentinel_password: \${SPASS}
    viaurl:
      url: sentinel://127.0.0.1:$DEAD_PORT,127.0.0.1:$SENTINEL_PORT/mymaster
      sentinel_password: \${SPASS}
    unknown:
      url: sentinel://127.0.0.1:$SENTINEL_PORT/nosuchmaster
      sentinel_password: \${SPASS}
EOF2
export SPASS

no_secret() { ! grep -q "$SPASS" "$@"; }

test_expect_success 'sentinels + master_name: the primary Sentinel names is audited' '
	ops-redisaudit --config opskit.yaml --format json viaconfig >cfg.json 2>cfg.err; test $? -le 2 &&
	test "$(json_get cfg.json "d[\"nodes\"][0][\"node\"], d[\"nodes\"][0][\"role\"], d[\"totals\"][\"keys\"], d[\"complete\"]")" = \
		"('"'"'127.0.0.1:$PRIMARY_PORT'"'"', '"'"'standalone'"'"', 300, True)" &&
	test "$(json_get cfg.json "d[\"sentinel\"]")" = "Sentinel 127.0.0.1:$SENTINEL_PORT names 127.0.0.1:$PRIMARY_PORT as primary mymaster" &&
	no_secret cfg.json cfg.err
'

test_expect_success 'a sentinel:// URL: Sentinels tried in order (the first is down)' '
	ops-redisaudit --config opskit.yaml viaurl >url.txt 2>url.err; test $? -le 2 &&
	test_grep "^target   sentinel://127.0.0.1:$DEAD_PORT,127.0.0.1:$SENTINEL_PORT/mymaster" url.txt &&
	test_grep "^sentinel Sentinel 127.0.0.1:$SENTINEL_PORT names 127.0.0.1:$PRIMARY_PORT as primary mymaster" url.txt &&
	no_secret url.txt url.err
'

test_expect_success '--replica: a healthy replica Sentinel knows, facts from the primary' '
	ops-redisaudit --config opskit.yaml --format json --replica viaconfig >rep.json; test $? -le 2 &&
	test "$(json_get rep.json "d[\"nodes\"][0][\"node\"], d[\"nodes\"][0][\"role\"], d[\"nodes\"][0][\"primary\"], d[\"nodes\"][0][\"facts_from\"], d[\"totals\"][\"keys\"]")" = \
		"('"'"'127.0.0.1:$REPLICA_PORT'"'"', '"'"'replica'"'"', '"'"'127.0.0.1:$PRIMARY_PORT'"'"', '"'"'127.0.0.1:$PRIMARY_PORT'"'"', 300)"
'

test_expect_success 'a master name Sentinel does not know: UNKNOWN, said why' '
	ops-redisaudit --config opskit.yaml --format json unknown >unk.json 2>unk.err; test $? -eq 3 &&
	checks_of unk.json sentinel >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "no Sentinel named the primary .*nosuchmaster.*no primary of that name" unk.json &&
	no_secret unk.json unk.err
'

test_expect_success 'without the Sentinel password: UNKNOWN, authentication named' '
	ops-redisaudit --format json "sentinel://127.0.0.1:$SENTINEL_PORT/mymaster" >noauth.json 2>noauth.err; test $? -eq 3 &&
	checks_of noauth.json sentinel >got && echo "unknown None" >expect && test_cmp expect got &&
	test_grep "NOAUTH" noauth.json
'

test_expect_success 'malformed sentinel:// URLs are usage errors' '
	for url in "sentinel://127.0.0.1:$SENTINEL_PORT" "sentinel:///mymaster" "sentinel://h:0/m" "sentinel://h:1/m/x"; do
		ops-redisaudit --format json "$url" >bad.json 2>bad.err; rc=$?
		test $rc -eq 3 || { echo "$url: exit $rc"; return 1; }
		checks_of bad.json target | grep -q "^unknown" || { echo "$url: no target check"; return 1; }
	done
'

# A Sentinel that still names the old primary, now a replica (it missed a failover):
# here one told to monitor the replica.
start_redis_sentinel "$REPLICA_PORT" stale || { echo "Bail out! the second sentinel did not start"; exit 1; }
STALE_SENTINEL_PORT=$SENTINEL_PORT

test_expect_success 'a Sentinel naming a node that reports role:slave: UNKNOWN (stale Sentinel)' '
	{ ops-redisaudit --format json "sentinel://127.0.0.1:$STALE_SENTINEL_PORT/stale" >stale.json; test $? -eq 3; } &&
	checks_of stale.json sentinel >got && echo "unknown 127.0.0.1:$REPLICA_PORT" >expect && test_cmp expect got &&
	test_grep "reports role:slave" stale.json &&
	{ ops-redisaudit --config opskit.yaml --format json viaconfig >good.json; test $? -le 2; } &&
	checks_of good.json sentinel >got && test ! -s got
'

test_done
