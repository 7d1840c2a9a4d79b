#!/bin/sh
# ops-redisaudit never prints a secret: a new secret for every place a user can put one
# (redis:// and rediss:// userinfo, an ACL user's password, REDISCLI_AUTH, the config's
# password and sentinel_password from ${VAR} or literal, a URL in the config built from
# ${VAR}, sentinel:// userinfo, the exporter's basic auth password), then every format at
# -v and -vv on success and on every failure path (wrong password, closed port, a
# connection cut mid-scan, malformed URLs and mistyped ones, a config error on the line
# of the secret, --help, --dump-options), the exporter's /probe and /metrics answers, the
# results of its scheduled scans (state_dir) and its log: no secret in any stdout,
# stderr, -o report, scrape or state file (tests/lib/no-secret.sh).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
. "$TEST_LIB/faults.sh"
. "$TEST_LIB/no-secret.sh"
test_require_cmd curl openssl

plant PASS "requirepass in a URL (right)"
plant ACL_PASS "ACL user password in a rediss:// URL (right)"
plant WRONG "URL password (wrong)"
plant ENV_PASS "REDISCLI_AUTH (right)"
plant ENV_WRONG "REDISCLI_AUTH (wrong)"
plant CFG_PASS "config password from \${REDIS_PASSWORD}"
plant CFG_URL_PASS "config url userinfo from \${URL_PW}"
plant CFG_LITERAL "config password written literally"
plant SENT_PASS "sentinel_password from \${SENTINEL_PASSWORD}"
plant SENT_WRONG "sentinel_password (wrong)"
plant MALFORMED "password in a malformed URL"
plant EXP_PASS "exporter basic auth password"
plant QUERY_PASS "URL password in an exporter ?target="

start_redis_tls sec || { echo "Bail out! redis with TLS did not start"; exit 1; }
rcli CONFIG SET requirepass "$PASS" >/dev/null && REDIS_PASS=$PASS &&
	rcli ACL SETUSER default ">$ENV_PASS" ">$CFG_PASS" >/dev/null &&
	rcli ACL SETUSER auditor on ">$ACL_PASS" ">$CFG_URL_PASS" '~*' '&*' '+@all' >/dev/null &&
	rcli EVAL "for i = 1, 200 do redis.call('SET', 'session:' .. i, 'v') end return 1" 0 >/dev/null ||
	{ echo "Bail out! redis did not take the password"; exit 1; }
PORT=$REDIS_PORT TLS_PORT=$REDIS_TLS_PORT
start_redis --requirepass "$PASS" victim && VICTIM_PORT=$REDIS_PORT VICTIM_PIDFILE=$REDIS_PIDFILE &&
	rcli EVAL "for i = 1, 400 do redis.call('SET', 'k:' .. i, 'v') end return 1" 0 >/dev/null ||
	{ echo "Bail out! the second redis did not start"; exit 1; }
# (auth-pass: Sentinel reaches the primary, which it would otherwise mark down and fail over)
start_redis_sentinel "$PORT" cache "$SENT_PASS" &&
	REDISCLI_AUTH=$SENT_PASS redis-cli -p "$SENTINEL_PORT" SENTINEL SET cache auth-pass "$PASS" >/dev/null ||
	{ echo "Bail out! sentinel did not start"; exit 1; }
CLOSED=$(free_port 55535)
start_fault_tcp_proxy "$PORT" 600 && fault_rule "cut-at up SCAN" ||
	{ echo "Bail out! the fault proxy did not start"; exit 1; }
export REDIS_PASSWORD=$CFG_PASS URL_PW=$CFG_URL_PASS SENTINEL_PASSWORD=$SENT_PASS EXPORTER_PASSWORD=$EXP_PASS

cat >opskit.yaml <<EOF
redis:
  exporter:
    allow_any_target: true
    username: prom
    password: \${EXPORTER_PASSWORD}
    state_dir: "$NS_OUT/state"
  targets:
    envpass:
      url: redis://127.0.0.1:$PORT
      password: \${REDIS_PASSWORD}
      scan_interval: 1s
    urlpass:
      url: redis://auditor:\${URL_PW}@127.0.0.1:$PORT/0
    literal:
      url: redis://127.0.0.1:$PORT
      username: nobody
      password: $CFG_LITERAL
      scan_interval: 1s
    viasentinel:
      sentinels: ["127.0.0.1:$SENTINEL_PORT"]
      master_name: cache
      sentinel_password: \${SENTINEL_PASSWORD}
      password: \${REDIS_PASSWORD}
    badsentinel:
      url: sentinel://:$PASS@127.0.0.1:$SENTINEL_PORT/cache
      sentinel_password: $SENT_WRONG
    cut:
      url: redis://:\${REDIS_PASSWORD}@127.0.0.1:$FAULT_TCP_PORT
    closed:
      url: redis://:\${REDIS_PASSWORD}@127.0.0.1:$CLOSED
EOF
# Scrapes of the exporter also sweep the files above, so the config must hold the
# config's secrets to be searched: it is kept out of ns-out.

test_expect_success 'right credentials: URL, ACL user over TLS, REDISCLI_AUTH, config, Sentinel' '
	run_every_way url ops-redisaudit "redis://:$PASS@127.0.0.1:$PORT" && exits_are url 0 1 2 &&
	run_every_way tls ops-redisaudit --ca-file "$REDIS_TLS_CA" "rediss://auditor:$ACL_PASS@127.0.0.1:$TLS_PORT" &&
	exits_are tls 0 1 2 &&
	REDISCLI_AUTH=$ENV_PASS run_every_way env ops-redisaudit "redis://127.0.0.1:$PORT" && exits_are env 0 1 2 &&
	run_every_way envpass ops-redisaudit envpass && exits_are envpass 0 1 2 &&
	run_every_way urlpass ops-redisaudit urlpass && exits_are urlpass 0 1 2 &&
	run_every_way sentinel ops-redisaudit viasentinel && exits_are sentinel 0 1 2 &&
	test_grep "names 127.0.0.1:$PORT as primary cache" "$NS_OUT/sentinel.text-v.report"
'

test_expect_success 'wrong credentials: URL, REDISCLI_AUTH, config, Sentinel' '
	run_every_way wrong ops-redisaudit "redis://auditor:$WRONG@127.0.0.1:$PORT" && exits_are wrong 3 &&
	test_grep "authentication" "$NS_OUT/wrong.stdout.err" &&
	REDISCLI_AUTH=$ENV_WRONG run_every_way envwrong ops-redisaudit "redis://127.0.0.1:$PORT" &&
	exits_are envwrong 3 &&
	run_every_way literal ops-redisaudit literal && exits_are literal 3 &&
	run_every_way badsentinel ops-redisaudit badsentinel && exits_are badsentinel 3
'

test_expect_success 'the server unreachable, the connection cut mid-scan, the server killed mid-scan' '
	{ ops-redisaudit -vv --format json -o "$NS_OUT/killed.json-vv.report" --count 10 --rate 100 \
		"redis://:$PASS@127.0.0.1:$VICTIM_PORT" >"$NS_OUT/killed.out" 2>"$NS_OUT/killed.err" & } &&
	sleep 1 && stop_redis_pidfile "$VICTIM_PIDFILE" &&
	{ wait $!; echo $? >"$NS_OUT/killed.rc"; } && exits_are killed 3 &&
	run_every_way closed ops-redisaudit --timeout 2s closed && exits_are closed 3 &&
	run_every_way cut ops-redisaudit --timeout 2s cut && exits_are cut 3 &&
	run_every_way badca ops-redisaudit --timeout 2s --tls --ca-file "$REDIS_TLS_OTHER_CA" \
		"redis://:$PASS@127.0.0.1:$TLS_PORT" && exits_are badca 3
'

test_expect_success 'malformed and mistyped URLs holding a password' '
	run_every_way port ops-redisaudit "redis://u:$MALFORMED@127.0.0.1:notaport" && exits_are port 3 &&
	run_every_way db ops-redisaudit "rediss://u:$MALFORMED@127.0.0.1:$PORT/notadb" && exits_are db 3 &&
	run_every_way noscheme ops-redisaudit "u:$MALFORMED@127.0.0.1:$PORT" && exits_are noscheme 3 &&
	run_every_way slash ops-redisaudit "redis:/u:$MALFORMED@127.0.0.1:$PORT" && exits_are slash 3 &&
	run_every_way ipv6 ops-redisaudit "redis://u:$MALFORMED@[::1:$PORT" && exits_are ipv6 3 &&
	run_every_way nomaster ops-redisaudit "sentinel://u:$MALFORMED@127.0.0.1:$SENTINEL_PORT" &&
	exits_are nomaster 3 &&
	run_every_way pct ops-redisaudit "redis://u:$MALFORMED%zz@127.0.0.1:$CLOSED" && exits_are pct 3 &&
	run_every_way slashdb ops-redisaudit "redis://u:$CLOSED/$MALFORMED@127.0.0.1" && exits_are slashdb 3 &&
	run_every_way slashmaster ops-redisaudit "sentinel://u:$SENTINEL_PORT/$MALFORMED@127.0.0.1" &&
	exits_are slashmaster 3
'

test_expect_success 'a config error on the line of the secret' '
	config_errors config ops-redisaudit redis "password: \"$CFG_LITERAL" "password: $CFG_LITERAL: x" \
		"pasword: $CFG_LITERAL" "password: [$CFG_LITERAL]" "password: {a: $CFG_LITERAL}" \
		"password: \${REDIS_PASSWORD}\${UNSET_X}" "password: \${REDIS_PASSWORD:-x" \
		"url: redis://u:$CFG_LITERAL@127.0.0.1:0" "sni: [\${REDIS_PASSWORD}]"
'

test_expect_success '--help and --dump-options next to secrets' '
	REDISCLI_AUTH=$ENV_PASS run_one help ops-redisaudit --help "redis://:$PASS@127.0.0.1:$PORT" &&
	REDISCLI_AUTH=$ENV_PASS run_one dump ops-redisaudit --dump-options &&
	run_one dumpmore ops-redisaudit --dump-options "redis://:$PASS@127.0.0.1:$PORT" &&
	run_one unknown ops-redisaudit --passsword="$PASS" "redis://:$PASS@127.0.0.1:$PORT" &&
	exits_are help 0 && exits_are dump 0 && exits_are dumpmore 3 && exits_are unknown 3
'

EXPORTER_PORT=$(free_port)
start_exporter ops-redisaudit "$EXPORTER_PORT" opskit.yaml ||
	{ echo "Bail out! the exporter did not start"; cat exporter.err; exit 1; }
E=http://127.0.0.1:$EXPORTER_PORT

test_expect_success 'exporter: /probe of every target, a URL in ?target=, /metrics, its log' '
	n=0 &&
	until scrape probe-scan "$E/probe?target=envpass" -u "prom:$EXP_PASS" &&
		grep -q "^opskit_redis_scan_age_seconds" "$NS_OUT/probe-scan.body"; do
		test $n -lt 50 || { echo "no scheduled scan"; exit 1; }
		sleep 0.2 && n=$((n + 1))
	done &&
	for t in envpass urlpass literal viasentinel badsentinel cut closed; do
		scrape probe-$t "$E/probe?target=$t" -u "prom:$EXP_PASS" || exit 1
	done &&
	test_grep "^opskit_probe_success 1" "$NS_OUT/probe-envpass.body" &&
	test_grep "^opskit_probe_success 0" "$NS_OUT/probe-literal.body" &&
	scrape probe-query "$E/probe?target=redis%3A%2F%2F%3A$QUERY_PASS%40127.0.0.1%3A$PORT" -u "prom:$EXP_PASS" &&
	scrape probe-badquery "$E/probe?target=redis%3A%2F%2F%3A$QUERY_PASS%40127.0.0.1%3Anotaport" \
		-u "prom:$EXP_PASS" &&
	scrape probe-noscheme "$E/probe?target=u%3A$QUERY_PASS%40127.0.0.1%3A$PORT" -u "prom:$EXP_PASS" &&
	scrape metrics "$E/metrics" -u "prom:$EXP_PASS" &&
	scrape unauthorised "$E/metrics" -u "prom:$WRONG" &&
	test_grep "^opskit_exporter_scrapes_total" "$NS_OUT/metrics.body" &&
	test_grep_not "^opskit_exporter" "$NS_OUT/unauthorised.body"
'

test_expect_success 'no secret in any stdout, stderr, report, scrape or the exporter log' '
	kill $EXPORTER && cp exporter.err "$NS_OUT/exporter.log" &&
	say "$(ls "$TRASH/ns-planted" | wc -l) secrets, $(ls "$NS_OUT" | wc -l) files" &&
	no_secret_in "$NS_OUT"
'

test_expect_success 'the search finds a secret, plain or base64' '
	search_finds "$ACL_PASS"
'

test_done
