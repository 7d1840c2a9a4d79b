#!/bin/sh
# The pool model on a real server: ceil(pods x surge) x processes x concurrency x
# (pool + overflow), from --pool's long form and from the config (pods, concurrency,
# surge), the short form unchanged, and the pool-held check: an application that holds
# more connections than its declared pools may open (a leak) is a WARNING, counted on
# the server or, when more, among a PgBouncer's clients (where some wait for a server).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

# 20 max_connections, 3 superuser_reserved: 17 usable.
start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }

# "leaky" declares one pool of 2 but holds 3 connections; "web" holds 1 of its many.
for s in leak1 leak2 leak3; do pg_session $s "$PG_DSN application_name=leaky"; done
pg_session web1 "$PG_DSN application_name=web"
for s in leak1 leak2 leak3 web1; do pg_send $s "SELECT '$s-ready';"; done
for s in leak1 leak2 leak3 web1; do pg_wait_output $s $s-ready || say "session $s did not start"; done

test_expect_success 'long form: pods x surge x processes x (pool + overflow) overflows the server' '
	ops-pgprobe --format json --pool "app=web,pods=6,processes=4,pool=5,overflow=10,surge=1.25" "$PG_DSN" >web.json
	json_assert web.json "
c = {k[\"id\"]: k for k in d[\"checks\"]}
s = c[\"pool-sizing\"]
assert s[\"status\"] == \"critical\", s
assert \"pools can open 480 connections (web 8 pods (6 x surge 1.25) x 4 x (5 + 10) = 480)\" in s[\"message\"], s
p = d[\"pools\"][0]
assert (p[\"name\"], p[\"pods\"], p[\"surge\"], p[\"workers\"], p[\"concurrency\"], p[\"peak\"]) == (\"web\", 6, 1.25, 4, 1, 480), p
h = c[\"pool-held\"]
assert h[\"status\"] == \"ok\" and \"web 1 of 480\" in h[\"message\"], h
"
'

test_expect_success 'an application holding more than declared is a leak (WARNING); the short form still reads' '
	ops-pgprobe --pool "app=leaky,pool=2" --pool "web=1x2+1" "$PG_DSN" >leak.out; test $? -eq 1 &&
	test_grep "^WARNING  *pool-held .*holding more connections than declared: leaky 3 of 2" leak.out &&
	test_grep "hint: an application holding more than its pools may open leaks connections" leak.out &&
	test_grep "^OK  *pool-sizing .*pools can open 5 connections (leaky 1 x (2 + 0) = 2, web 1 x (2 + 1) = 3)" leak.out
'

cat >opskit.yaml <<EOF
postgres:
  pools:
    celery:
      workers: 4
      concurrency: 4
      pool_max: 1
    web:
      pods: 3
      surge: 1.5
      workers: 1
      pool_max: 1
EOF
test_expect_success 'config: pods, surge and Celery concurrency; the declared total against the usable slots' '
	ops-pgprobe --config opskit.yaml "$PG_DSN" >cfg.out; test $? -eq 2 &&
	test_grep "pools can open 21 connections (celery 4 x concurrency 4 x (1 + 0) = 16, web 5 pods (3 x surge 1.5) x 1 x (1 + 0) = 5)" cfg.out &&
	test_grep "^CRITICAL  *pool-sizing .* + 3 reserved = 24 > max_connections 20: overflows by 4" cfg.out &&
	test_grep "^OK  *pool-held .*celery 0 of 16, web 1 of 5" cfg.out
'

# Behind PgBouncer (session pooling, pool_size 1): "bq" has 2 clients, 1 on the server.
start_pgbouncer 1 10 || { echo "Bail out! PgBouncer did not start"; exit 1; }
pg_session bq1 "$PGB_APP_DSN application_name=bq"
pg_send bq1 "SELECT 'bq1-ready';"
pg_wait_output bq1 bq1-ready || say "the first PgBouncer client got no server"
pg_session bq2 "$PGB_APP_DSN application_name=bq"
pg_send bq2 "SELECT 'bq2-ready';"
pgb_wait_for_waiting 1 || say "the second PgBouncer client never waited"
test_expect_success 'pool-held counts the PgBouncer clients when they are more than the server sessions' '
	ops-pgprobe --pool "app=bq,pool=1" --pool "app=leaky,pool=3" "$PG_DSN" >direct.out; test $? -eq 0 &&
	test_grep "^OK  *pool-held .*bq 1 of 1, leaky 3 of 3" direct.out &&
	{ ops-pgprobe --pool "app=bq,pool=1" --pool "app=leaky,pool=3" --pgbouncer "$PGB_ADMIN_DSN" "$PG_DSN" >via.out; test $? -eq 2; } &&
	test_grep "^WARNING  *pool-held .*holding more connections than declared: bq 2 of 1" via.out
'

test_done
