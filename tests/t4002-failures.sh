#!/bin/sh
# Failure is information: wrong password, DNS, refused, a port that never answers, the
# server full (53300) and the reserved-slot refusal are each a distinct CRITICAL, exit 2,
# bounded by --timeout; bad options exit 3.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

# 6 slots, 2 reserved for superusers: app fills 4, then only superusers get in.
start_postgres 6 2 || { echo "Bail out! PostgreSQL did not start"; exit 1; }

test_expect_code 2 'wrong password: exit 2' '
	ops-pgprobe "host=127.0.0.1 port=$PG_PORT user=$PG_PW_USER password=Wr0ngPassword dbname=postgres"
'

test_expect_success 'wrong password: authentication failure, password never shown' '
	for fmt in text json nagios prometheus; do
		ops-pgprobe --format $fmt "host=127.0.0.1 port=$PG_PORT user=$PG_PW_USER password=Wr0ngPassword dbname=postgres" >out.$fmt 2>err.$fmt
		test $? -eq 2 && test_grep_not Wr0ngPassword out.$fmt && test_grep_not Wr0ngPassword err.$fmt || return 1
	done &&
	test_grep "^CRITICAL  *connect .*authentication failed (SQLSTATE 28P01): password authentication failed for user \"$PG_PW_USER\"" out.text &&
	test_grep "^PGPROBE CRITICAL - .*authentication failed" out.nagios
'

test_expect_success 'wrong password in a URL: masked too' '
	ops-pgprobe --format json "postgresql://$PG_PW_USER:Wr0ngPassword@127.0.0.1:$PG_PORT/postgres" >out 2>err
	test $? -eq 2 && test_grep_not Wr0ngPassword out && test_grep_not Wr0ngPassword err &&
	test_grep "authentication failed" out
'

test_expect_success 'wrong password in a config DSN: masked in every format' '
	cat >pw.yaml <<-EOF &&
	postgres:
	  targets:
	    main:
	      dsn: "host=127.0.0.1 port=$PG_PORT user=$PG_PW_USER password=Wr0ngPassword dbname=postgres"
	EOF
	for fmt in text json nagios prometheus; do
		ops-pgprobe --config pw.yaml --format $fmt -v >out 2>err
		test $? -eq 2 && test_grep_not Wr0ngPassword out && test_grep_not Wr0ngPassword err || return 1
	done
'

test_expect_success 'wrong password from ${VAR} in the config, PGPASSWORD, quoted: never shown' '
	cat >env-pw.yaml <<-EOF &&
	postgres:
	  targets:
	    main:
	      dsn: "host=127.0.0.1 port=$PG_PORT user=$PG_PW_USER password=\${PGPROBE_TEST_PW} dbname=postgres"
	EOF
	for fmt in text json nagios prometheus; do
		PGPROBE_TEST_PW=Env5ecretWrong ops-pgprobe -v --config env-pw.yaml --format $fmt >out 2>err
		test $? -eq 2 && test_grep_not Env5ecret out && test_grep_not Env5ecret err || return 1
		PGPASSWORD=PgPwWrong123 ops-pgprobe -v --format $fmt "host=127.0.0.1 port=$PG_PORT user=$PG_PW_USER dbname=postgres" >out 2>err
		test $? -eq 2 && test_grep_not PgPwWrong123 out && test_grep_not PgPwWrong123 err || return 1
		ops-pgprobe -v --format $fmt "host=127.0.0.1 port=$PG_PORT user=$PG_PW_USER password='"'"'Quoted W4rong pw'"'"' dbname=postgres" >out 2>err
		test $? -eq 2 && test_grep_not "W4rong" out && test_grep_not "W4rong" err || return 1
		test $fmt != nagios || test_grep "^PGPROBE CRITICAL - .*authentication failed" out || return 1
	done
'

test_expect_success 'the right password connects' '
	ops-pgprobe "host=127.0.0.1 port=$PG_PORT user=$PG_PW_USER password=$PG_PW_PASSWORD dbname=postgres" >out &&
	test_grep_not "$PG_PW_PASSWORD" out
'

pg_sql "CREATE ROLE nologin NOLOGIN" >/dev/null
test_expect_success 'a role without LOGIN is its own message (28000)' '
	ops-pgprobe "host=127.0.0.1 port=$PG_PORT user=nologin dbname=postgres" >out; test $? -eq 2 &&
	test_grep "^CRITICAL  *connect .*the role may not log in (SQLSTATE 28000, NOLOGIN): role \"nologin\" is not permitted to log in\$" out &&
	test_grep "hint: ALTER ROLE ... LOGIN" out
'

test_expect_success 'connection refused is its own message' '
	port=$(free_port) &&
	{ ops-pgprobe "host=127.0.0.1 port=$port" >out; test $? -eq 2; } &&
	test_grep "^CRITICAL  *connect .*connection refused" out
'

test_expect_success 'a name that does not resolve is a DNS failure' '
	ops-pgprobe "host=no-such-host.invalid port=5432" >out; test $? -eq 2 &&
	test_grep "^CRITICAL  *connect .*does not resolve (DNS)" out
'

test_expect_success 'a port that accepts and never answers: CRITICAL within --timeout' '
	python3 -c "
import socket, sys, time
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(8)
open(\"hang.port\", \"w\").write(str(s.getsockname()[1]))
held = []; end = time.time() + 30
s.settimeout(0.2)
while time.time() < end:
    try: held.append(s.accept()[0])
    except socket.timeout: pass
" &
	hang=$! &&
	i=0 && until test -s hang.port || test $i -gt 100; do sleep 0.05; i=$((i + 1)); done &&
	start=$(date +%s%N) &&
	{ run_with_timeout 10 ops-pgprobe --timeout 1s "host=127.0.0.1 port=$(cat hang.port)" >out; rc=$?; } || { kill $hang; exit 1; }
	end=$(date +%s%N); kill $hang
	test $rc -eq 2 &&
	test $(( (end - start) / 1000000 )) -lt 4000 &&
	test_grep "^CRITICAL  *connect .*no answer within 1.0s (--timeout): the port accepts connections but nothing answered" out
'

# A fault stub next to the real server: a PostgreSQL whose lc_messages is German refuses
# in German; the SQLSTATE of its FATAL must still be recognised.
test_expect_success 'a refusal in another language is classified by its SQLSTATE' '
	python3 -c "
import socket, struct, time
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(8)
open(\"stub.port\", \"w\").write(str(s.getsockname()[1]))
s.settimeout(0.2); end = time.time() + 30
fields = (b\"SFATAL\\0VFATAL\\0C53300\\0Mtut mir leid, schon zu viele Verbindungen\\0\"
          b\"Fproc.c\\0L361\\0RInitProcess\\0\\0\")
while time.time() < end:
    try: c = s.accept()[0]
    except socket.timeout: continue
    c.settimeout(5)
    try:
        while True:  # SSLRequest / GSSENCRequest get N, the startup packet the FATAL
            n = struct.unpack(\"!I\", c.recv(4, socket.MSG_WAITALL))[0]
            code = struct.unpack(\"!I\", c.recv(n - 4, socket.MSG_WAITALL)[:4])[0]
            if code not in (80877103, 80877104): break
            c.sendall(b\"N\")
        c.sendall(b\"E\" + struct.pack(\"!I\", len(fields) + 4) + fields)
    except Exception: pass
    c.close()
" &
	stub=$! &&
	i=0 && until test -s stub.port || test $i -gt 100; do sleep 0.05; i=$((i + 1)); done &&
	{ run_with_timeout 10 ops-pgprobe --timeout 2s "host=127.0.0.1 port=$(cat stub.port) user=app" >out; rc=$?; } || { kill $stub; exit 1; }
	kill $stub
	test $rc -eq 2 &&
	test_grep "^CRITICAL  *connect .*connection slots are taken (SQLSTATE 53300): tut mir leid, schon zu viele Verbindungen\$" out &&
	test_grep_not LOCATION out
'

# Fill the ordinary slots with role app, then the reserved ones with the superuser.
# (pg_session_in, not pg_wait_for: a polling connection would take a slot itself and
# get an app session refused; a session refused because a refused probe above has not
# left yet tries again.)
for i in 1 2 3 4; do
	pg_session_in app$i "host=$PG_DIR port=$PG_PORT user=app dbname=postgres application_name=pool$i" ||
		say "app session $i did not start"
done

test_expect_success 'reserved slots only: an ordinary role is refused, 53300, distinct message' '
	ops-pgprobe "$PG_APP_DSN" >out; test $? -eq 2 &&
	test_grep "^CRITICAL  *connect .*only reserved connection slots are left (SQLSTATE 53300)" out
'

test_expect_success 'a superuser still gets in and sees the server full' '
	ops-pgprobe "$PG_DSN" >out; test $? -eq 2 &&
	test_grep "^CRITICAL  *connections .*5 of 4 usable connections in use" out
'

pg_session_in su1 && pg_session_in su2 || say "superuser sessions did not start"

test_expect_success 'every slot taken: too many clients (53300) within --timeout' '
	run_with_timeout 10 ops-pgprobe --timeout 2s --format nagios "$PG_DSN" >out; test $? -eq 2 &&
	test_grep "^PGPROBE CRITICAL - .*too many clients (SQLSTATE 53300)" out
'

test_expect_success 'pool sizing cannot tell when the server refuses us: UNKNOWN next to the CRITICAL' '
	ops-pgprobe --pool web=2x2 "$PG_DSN" >out; test $? -eq 2 &&
	test_grep "^UNKNOWN  *pool-sizing .*max_connections is unknown" out
'

pg_end_sessions

test_expect_code 3 'unknown threshold name exits 3' 'ops-pgprobe -w no-such-check=1 "$PG_DSN"'
test_expect_code 3 'a duration where a count belongs exits 3' 'ops-pgprobe -w lock-waits=5s "$PG_DSN"'
test_expect_code 3 'a percentage where a duration belongs exits 3' 'ops-pgprobe -c long-queries=50% "$PG_DSN"'
test_expect_code 3 'bad --timeout exits 3' 'ops-pgprobe --timeout soon "$PG_DSN"'
test_expect_code 3 'bad --pool exits 3' 'ops-pgprobe --pool web=eight "$PG_DSN"'
test_expect_code 3 'an unknown target name exits 3' 'ops-pgprobe no-such-target'
test_expect_code 3 'a DSN libpq cannot parse exits 3' 'ops-pgprobe "host=127.0.0.1 bogus_option=1"'
test_expect_code 3 '--watch without a terminal exits 3' 'ops-pgprobe --watch 1 "$PG_DSN" >out'

test_expect_success 'a bad config threshold is located, exit 3' '
	printf "postgres:\n  thresholds:\n    lock_waits:\n      warning: 10s\n" >bad.yaml &&
	{ ops-pgprobe --config bad.yaml "$PG_DSN" >out 2>err; test $? -eq 3; } &&
	test_grep "bad.yaml:4:[0-9]*: postgres.thresholds.lock_waits.warning must be a number" err
'

test_done
