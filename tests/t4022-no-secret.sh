#!/bin/sh
# ops-pgprobe never prints a secret: a new secret for every place a user can put one
# (a libpq password=, quoted or bare, one holding a space, a quote and a backslash written
# with libpq's escapes, sslpassword=, postgresql:// userinfo and ?password=,
# PGPASSWORD, a passfile named in the DSN or by PGPASSFILE, a config dsn built from ${VAR}
# or written literally, a --pgbouncer DSN, the exporter's basic auth password, and the
# PASSWORD '...' or URL of another session's statement in pg_stat_activity, a pool's
# env_file), then every format at -v and -vv on success and on every failure path (wrong
# password, closed port, the connection cut mid-probe, the server killed, malformed DSNs
# and URLs typed without their scheme, a config error on the line of the secret, --help,
# --dump-options), the exporter's /probe and /metrics answers and its log: no secret in
# any stdout, stderr, -o report or scrape (tests/lib/no-secret.sh).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
. "$TEST_LIB/faults.sh"
. "$TEST_LIB/no-secret.sh"
test_require_cmd psql curl

plant PASS "password= in a DSN (right)"
plant WRONG "password= in a DSN (wrong)"
plant URL_WRONG "postgresql:// userinfo (wrong)"
plant QUERY_WRONG "?password= of a URL (wrong)"
plant SSL_PASS "sslpassword= (a TLS key passphrase)"
plant ENV_WRONG "PGPASSWORD (wrong)"
plant FILE_WRONG "a passfile's password (wrong)"
plant CFG_LITERAL "a config dsn's password written literally"
plant BOUNCER_PASS "password= of a --pgbouncer DSN"
plant MALFORMED "password in a malformed DSN or URL"
plant STATEMENT "PASSWORD '...' in another session's statement"
plant STATEMENT_URL "URL password in another session's statement (query text cut inside it)"
plant EXP_PASS "exporter basic auth password"
plant QUERY_DSN_PASS "password of a DSN in an exporter ?target="
plant ENV_FILE "secrets of a pool's env_file next to its pool sizes"
plant ESC_A "a libpq-escaped password= (before its space)"
plant ESC_B "a libpq-escaped password= (between its space and its quote)"
plant ESC_C "a libpq-escaped password= (between its quote and its backslash)"
plant ESC_D "a libpq-escaped password= (after its backslash)"

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
pg_sql "ALTER ROLE \"$PG_PW_USER\" PASSWORD '$PASS'; GRANT pg_monitor TO \"$PG_PW_USER\"" >/dev/null || { echo "Bail out! no password set"; exit 1; }
DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=$PG_PW_USER"
URL_HOST=127.0.0.1:$PG_PORT
CLOSED=$(free_port)
start_fault_tcp_proxy "$PG_PORT" 600 && fault_rule "cut-at up SELECT" && CUT_PORT=$FAULT_TCP_PORT &&
	start_fault_tcp_proxy "$PG_PORT" 600 && fault_rule "delay 300" && SLOW_PORT=$FAULT_TCP_PORT ||
	{ echo "Bail out! the fault proxies did not start"; exit 1; }
printf '127.0.0.1:%s:*:%s:%s\n' "$PG_PORT" "$PG_PW_USER" "$PASS" >right.pgpass
printf '127.0.0.1:%s:*:%s:%s\n' "$PG_PORT" "$PG_PW_USER" "$FILE_WRONG" >wrong.pgpass
chmod 600 right.pgpass wrong.pgpass
export PGPROBE_PASSWORD=$PASS EXPORTER_PASSWORD=$EXP_PASS

cat >opskit.yaml <<EOF
postgres:
  exporter:
    allow_any_target: true
    username: prom
    password: \${EXPORTER_PASSWORD}
  targets:
    fromenv:
      dsn: "$DSN password=\${PGPROBE_PASSWORD}"
    literal:
      dsn: "postgresql://$PG_PW_USER:$CFG_LITERAL@$URL_HOST/postgres"
    cut:
      dsn: "host=127.0.0.1 port=$CUT_PORT dbname=postgres user=$PG_PW_USER password=\${PGPROBE_PASSWORD} sslmode=disable"
    closed:
      dsn: "host=127.0.0.1 port=$CLOSED user=$PG_PW_USER password=\${PGPROBE_PASSWORD}"
EOF

test_expect_success 'right credentials: password=, sslpassword=, URL, passfile, PGPASSFILE, config' '
	run_every_way kv ops-pgprobe "$DSN password=$PASS sslpassword=$SSL_PASS" && exits_are kv 0 1 &&
	run_every_way quoted ops-pgprobe "$DSN password = '\''$PASS'\''" && exits_are quoted 0 1 &&
	run_every_way url ops-pgprobe "postgresql://$PG_PW_USER:$PASS@$URL_HOST/postgres?sslpassword=$SSL_PASS" &&
	exits_are url 0 1 &&
	run_every_way passfile ops-pgprobe "$DSN passfile=$TRASH/right.pgpass" && exits_are passfile 0 1 &&
	PGPASSFILE=$TRASH/right.pgpass run_every_way pgpassfile ops-pgprobe "$DSN" && exits_are pgpassfile 0 1 &&
	run_every_way fromenv ops-pgprobe fromenv && exits_are fromenv 0 1
'

test_expect_success 'wrong credentials: password=, URL, ?password=, PGPASSWORD, passfile, config' '
	run_every_way wrong ops-pgprobe "$DSN password=$WRONG" && exits_are wrong 2 &&
	test_grep "authentication failed" "$NS_OUT/wrong.stdout.out" &&
	run_every_way urlwrong ops-pgprobe "postgresql://$PG_PW_USER:$URL_WRONG@$URL_HOST/postgres" &&
	exits_are urlwrong 2 &&
	run_every_way querywrong ops-pgprobe "postgresql://$PG_PW_USER@$URL_HOST/postgres?password=$QUERY_WRONG" &&
	exits_are querywrong 2 &&
	PGPASSWORD=$ENV_WRONG run_every_way envwrong ops-pgprobe "$DSN" && exits_are envwrong 2 &&
	run_every_way filewrong ops-pgprobe "$DSN passfile=$TRASH/wrong.pgpass" && exits_are filewrong 2 &&
	PGPASSFILE=$TRASH/wrong.pgpass run_every_way pgpassfilewrong ops-pgprobe "$DSN" &&
	exits_are pgpassfilewrong 2 &&
	run_every_way literal ops-pgprobe literal && exits_are literal 2
'

# A password with a space, a quote and a backslash, as libpq decodes it, and written the two
# ways conninfo_parse() reads: quoted (\' and \\ escaped) and bare (\ before the space, the
# quote literal); the wrong one is the same pieces in another order. Every piece is a
# planted secret, so any part that leaks is found.
ESC_PW="$ESC_A $ESC_B'$ESC_C\\$ESC_D"
ESC_QUOTED="password = '$ESC_A $ESC_B\\'$ESC_C\\\\$ESC_D'"
ESC_BARE="password=$ESC_A\\ $ESC_B'$ESC_C\\\\$ESC_D"
ESC_WRONG="password='$ESC_D $ESC_C\\'$ESC_B\\\\$ESC_A'"
ESC_SQL=$(printf '%s' "$ESC_PW" | sed "s/'/''/g")
test_expect_success 'a password with a space, a quote and a backslash: right (quoted, bare) and wrong' '
	pg_sql "ALTER ROLE \"$PG_PW_USER\" PASSWORD '\''$ESC_SQL'\''" >/dev/null &&
	run_every_way escquoted ops-pgprobe "$DSN $ESC_QUOTED" && exits_are escquoted 0 1 &&
	run_every_way escbare ops-pgprobe "$DSN $ESC_BARE" && exits_are escbare 0 1 &&
	run_every_way escwrong ops-pgprobe "$DSN $ESC_WRONG" && exits_are escwrong 2 &&
	test_grep "authentication failed" "$NS_OUT/escwrong.stdout.out"
'
pg_sql "ALTER ROLE \"$PG_PW_USER\" PASSWORD '$PASS'" >/dev/null || { echo "Bail out! the password not restored"; exit 1; }

test_expect_success 'a --pgbouncer DSN, reachable or not' '
	run_every_way bouncer ops-pgprobe --pgbouncer "host=127.0.0.1 port=$CLOSED dbname=pgbouncer password=$BOUNCER_PASS" \
		"$DSN password=$PASS" && exits_are bouncer 2 &&
	run_every_way badbouncer ops-pgprobe --pgbouncer "host=127.0.0.1 port=x password=$BOUNCER_PASS" &&
	exits_are badbouncer 2 3
'

test_expect_success 'a statement with PASSWORD '\''...'\'' held idle in a transaction' '
	pg_session_in held "$PG_DSN" &&
	pg_send held "BEGIN; CREATE ROLE held_role LOGIN PASSWORD '\''$STATEMENT'\'';" &&
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = '\''idle in transaction'\''" 1 &&
	sleep 1 &&
	run_every_way held ops-pgprobe --session-age 500ms --idle-tx-age 500ms \
		"$DSN password=$PASS" && exits_are held 0 1 2 &&
	test_grep "CREATE ROLE held_role" "$NS_OUT/held.stdout.out" &&
	pg_end_sessions &&
	pg_session_in url "$PG_DSN" &&
	pg_send url "BEGIN; SELECT '\''postgresql://app:$STATEMENT_URL@db/app'\'' AS dsn;" &&
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = '\''idle in transaction'\''" 1 &&
	sleep 1 &&
	run_every_way cutquery ops-pgprobe --idle-tx-age 500ms --query-length 40 "$DSN password=$PASS" &&
	exits_are cutquery 0 1 2 &&
	test_grep "postgresql://app:" "$NS_OUT/cutquery.stdout.out" &&
	pg_end_sessions
'

# The monitoring password pasted into a dollar-quoted string of a transaction left open:
# no PASSWORD keyword, so only the client's redaction masks it. psql sends the SELECT
# alone, and the secret begins at its character 50: every cut of the text falls inside
# it, the idle-in-transaction message's and the text sessions table's (60 characters),
# and --query-length 58's on the server. Cut before the redaction, the text printed the
# secret's first 10 or 8 characters, fewer than the 13 no_secret_in looks for: any 6 of
# them are looked for here.
PASTE_PAD=an-operator-pasted-the-monitoring-pass:-
PASTE_SQL=$(printf 'SELECT $q$%s%s$q$ AS pasted;' "$PASTE_PAD" "$PASS")
test_expect_success 'the monitoring password in a dollar-quoted string, every cut inside it' '
	test "${PASTE_SQL%%S3cr3t-*}" = "SELECT \$q\$$PASTE_PAD" && test ${#PASTE_PAD} -eq 40 &&
	pg_session_in pasted "$PG_DSN" &&
	pg_send pasted "BEGIN; $PASTE_SQL" &&
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = '\''idle in transaction'\''" 1 &&
	sleep 1 &&
	run_every_way pasted ops-pgprobe --session-age 500ms --idle-tx-age 500ms "$DSN password=$PASS" &&
	exits_are pasted 0 1 2 &&
	run_every_way pastedcut ops-pgprobe --session-age 500ms --idle-tx-age 500ms --query-length 58 \
		"$DSN password=$PASS" && exits_are pastedcut 0 1 2 &&
	pg_end_sessions &&
	test_grep "query \"SELECT .q.$PASTE_PAD" "$NS_OUT/pasted.stdout.out" &&
	test_grep "  SELECT .q.$PASTE_PAD" "$NS_OUT/pasted.stdout.out" &&
	test_grep "\"query\": \"SELECT .q.$PASTE_PAD" "$NS_OUT/pastedcut.json-vv.report" &&
	pass6=$(printf "%s" "$PASS" | cut -c1-6) &&
	if grep -F -l -e "$pass6" "$NS_OUT"/pasted.* "$NS_OUT"/pastedcut.*; then
		echo "the first characters of the password ($pass6...) were printed" && false
	fi
'

test_expect_success 'the server unreachable, the connection cut mid-probe, the backend terminated' '
	run_every_way closed ops-pgprobe closed && exits_are closed 2 &&
	run_every_way cut ops-pgprobe --timeout 2s cut && exits_are cut 2 &&
	{ ops-pgprobe -vv --timeout 30s --format json -o "$NS_OUT/terminated.json-vv.report" \
		"host=127.0.0.1 port=$SLOW_PORT dbname=postgres user=$PG_PW_USER password=$PASS sslmode=disable" \
		>"$NS_OUT/terminated.out" 2>"$NS_OUT/terminated.err" & } &&
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\''ops-pgprobe'\''" 1 20 &&
	pg_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\''ops-pgprobe'\''" \
		>/dev/null &&
	{ wait $!; echo $? >"$NS_OUT/terminated.rc"; } && exits_are terminated 2 &&
	test_grep "terminat" "$NS_OUT/terminated.json-vv.report"
'

test_expect_success 'malformed DSNs and URLs, and URLs typed without their scheme' '
	i=0 &&
	for dsn in "postgresql://u:$MALFORMED@127.0.0.1:notaport/db" "postgresql://u:$MALFORMED@[127.0.0.1:1/db" \
		"postgresql://u:$MALFORMED%zz@127.0.0.1:1/db" "postgresql://u@127.0.0.1:1/db?password=$MALFORMED&bogus=1" \
		"host=127.0.0.1 password=$MALFORMED junk" "host=127.0.0.1 password='\''$MALFORMED" \
		"host=127.0.0.1 password=$MALFORMED port=notaport" "u:$MALFORMED@127.0.0.1:$PG_PORT/postgres" \
		"postgres:/u:$MALFORMED@127.0.0.1:$PG_PORT/postgres" "postgresql//u:$MALFORMED@127.0.0.1:$PG_PORT/db" \
		"pgsql://u:$MALFORMED@127.0.0.1:$PG_PORT/db" "postgresql://u:$MALFORMED@db@127.0.0.1:1/db" \
		"postgresql://u:$MALFORMED/tail@127.0.0.1:1/db" "postgresql://u:head/$MALFORMED@127.0.0.1:1/db"; do
		i=$((i + 1)) &&
		run_every_way malformed$i ops-pgprobe --timeout 2s "$dsn" && exits_are malformed$i 2 3 || exit 1
	done
'

printf 'DATABASE_URL=postgresql://app:%s@db/app\nDB_PASSWORD=%s\nWEB_CONCURRENCY=4\nDB_POOL_SIZE=5\n' \
	"$ENV_FILE" "$ENV_FILE" >app.env
printf 'BROKEN="%s\nWEB_CONCURRENCY=4\n' "$ENV_FILE" >broken.env
# pool ENV_FILE WORKERS_KEY: a config whose pool reads its numbers from ENV_FILE
pool() {
	printf 'postgres:\n  pools:\n    web:\n      env_file: %s\n      env_keys:\n        workers: %s\n        pool_max: DB_POOL_SIZE\n' \
		"$1" "$2"
}
pool app.env WEB_CONCURRENCY >pool.yaml && pool app.env DB_PASSWORD >pool-secret.yaml &&
	pool broken.env BROKEN >pool-broken.yaml

test_expect_success 'a pool env_file: its secrets never quoted, also when a key names one' '
	run_every_way pool ops-pgprobe --config pool.yaml "$DSN password=$PASS" && exits_are pool 0 1 2 &&
	test_grep "web" "$NS_OUT/pool.stdout.out" &&
	run_every_way poolsecret ops-pgprobe --config pool-secret.yaml "$DSN password=$PASS" &&
	exits_are poolsecret 3 && test_grep "DB_PASSWORD is not a whole number" "$NS_OUT/poolsecret.stdout.err" &&
	run_every_way poolbroken ops-pgprobe --config pool-broken.yaml "$DSN password=$PASS" && exits_are poolbroken 2 3
'

test_expect_success 'a config error on the line of the secret' '
	config_errors config ops-pgprobe postgres "dsn: \"$DSN password=$CFG_LITERAL" \
		"dsn: $DSN password=$CFG_LITERAL: x" "dssn: \"$DSN password=$CFG_LITERAL\"" \
		"dsn: [\"password=$CFG_LITERAL\"]" "dsn: \"password=\${PGPROBE_PASSWORD}\${UNSET_X}\"" \
		"dsn: \"password=\${PGPROBE_PASSWORD:-x\""
'

test_expect_success '--help and --dump-options next to secrets' '
	PGPASSWORD=$ENV_WRONG run_one help ops-pgprobe --help "$DSN password=$PASS" &&
	PGPASSWORD=$ENV_WRONG run_one dump ops-pgprobe --dump-options &&
	run_one dumpmore ops-pgprobe --dump-options "$DSN password=$PASS" &&
	run_one unknown ops-pgprobe --password="$PASS" "$DSN" &&
	exits_are help 0 && exits_are dump 0 && exits_are dumpmore 3 && exits_are unknown 3
'

EXPORTER_PORT=$(free_port)
start_exporter ops-pgprobe "$EXPORTER_PORT" opskit.yaml ||
	{ echo "Bail out! the exporter did not start"; cat exporter.err; exit 1; }
E=http://127.0.0.1:$EXPORTER_PORT

test_expect_success 'exporter: /probe of every target, a DSN in ?target=, /metrics, its log' '
	for t in fromenv literal cut closed; do
		scrape probe-$t "$E/probe?target=$t" -u "prom:$EXP_PASS" || exit 1
	done &&
	test_grep "^opskit_probe_success 1" "$NS_OUT/probe-fromenv.body" &&
	scrape probe-dsn "$E/probe?target=host%3D127.0.0.1+port%3D$PG_PORT+user%3D$PG_PW_USER+password%3D$QUERY_DSN_PASS" \
		-u "prom:$EXP_PASS" &&
	scrape probe-url "$E/probe?target=postgresql%3A%2F%2Fu%3A$QUERY_DSN_PASS%40127.0.0.1%3Anotaport%2Fdb" \
		-u "prom:$EXP_PASS" &&
	scrape probe-noscheme "$E/probe?target=u%3A$QUERY_DSN_PASS%40127.0.0.1%3A$PG_PORT" -u "prom:$EXP_PASS" &&
	scrape metrics "$E/metrics" -u "prom:$EXP_PASS" &&
	scrape unauthorised "$E/metrics" -u "prom:$WRONG" &&
	test_grep "^opskit_exporter_scrapes_total" "$NS_OUT/metrics.body"
'

test_expect_success 'the server killed: every format on a refused connection' '
	stop_postgres && run_every_way killed ops-pgprobe "$DSN password=$PASS" && exits_are killed 2
'

test_expect_success 'no secret in any stdout, stderr, report, scrape or the exporter log' '
	kill $EXPORTER && cp exporter.err "$NS_OUT/exporter.log" &&
	say "$(ls "$TRASH/ns-planted" | wc -l) secrets, $(ls "$NS_OUT" | wc -l) files" &&
	no_secret_in "$NS_OUT"
'

test_done
