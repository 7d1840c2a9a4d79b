#!/bin/sh
# ops-pgprobe against a real PostgreSQL: the one-query picture, sessions idle in a
# transaction, a lock wait with its blocker, the output formats, query text hiding.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }

test_expect_success 'a quiet server is OK, exit 0' '
	ops-pgprobe "$PG_DSN" >out &&
	test_grep "^OK  *connections .* of 17 usable connections" out &&
	test_grep "PostgreSQL 15" out &&
	test_grep "ops-pgprobe: OK" out
'

test_expect_success 'json: server block with max_connections, reserved, usable' '
	ops-pgprobe --format json "$PG_DSN" >out.json &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	s = d["server"]
	assert s["max_connections"] == 20 and s["reserved"] == 3 and s["usable"] == 17, s
	assert s["version"].startswith("15"), s
	c = d["connections"]
	assert c["total"] >= 1 and c["by_state"]["active"] >= 1, c
	assert any(a["application"] == "ops-pgprobe" for a in c["by_application"]), c
	assert "walwriter" in c["background"], c
	assert d["sessions"] == [], d["sessions"]
	assert c["hidden"] == 0, c
	ids = [k["id"] for k in d["checks"]]
	for want in ("connect", "query", "connections", "application-share", "idle-in-transaction",
	             "idle-in-transaction-count", "long-queries", "lock-waits", "oldest-transaction",
	             "idle-connections", "visibility"):
	    assert want in ids, (want, ids)
	PY
'

# Sessions for the rest: one holds a row lock idle in transaction, one waits for it,
# one more sits idle in a transaction with a secret in its query text.
pg_session holder
pg_send holder "SET application_name = 'billing'; BEGIN; SELECT * FROM t WHERE id = 1 FOR UPDATE;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'billing' AND state = 'idle in transaction'" 1 ||
	say "the lock holder did not start"
pg_session waiter "host=$PG_DIR port=$PG_PORT user=app dbname=postgres application_name=web"
pg_send waiter "UPDATE t SET v = 'two' WHERE id = 1;"
pg_session idler
pg_send idler "SET application_name = 'reports'; BEGIN; SELECT 'hunter2-not-shown' AS tag;"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'" 1 &&
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 2 || say "sessions did not settle"
# The 1s thresholds below need every session past 1s: poll for it (bounded), no guessing.
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('billing', 'web', 'reports')
	AND state_change < now() - interval '1.2s'" 3 || say "sessions did not age"

test_expect_code 1 'idle in transaction past -w is WARNING (exit 1)' '
	ops-pgprobe -w idle-in-transaction=1s -w lock-waits=5 "$PG_DSN"
'

test_expect_code 2 'idle in transaction past -c is CRITICAL (exit 2)' '
	ops-pgprobe -c idle-in-transaction=1s "$PG_DSN"
'

test_expect_success 'idle in transaction: count, oldest age and who' '
	ops-pgprobe -w idle-in-transaction=1s --session-age 1s --idle-tx-age 0 "$PG_DSN" >out; test $? -eq 1 &&
	test_grep "^WARNING  *idle-in-transaction .*oldest session idle in transaction for [0-9.]*s (pid [0-9]*, user postgres, application \"billing\")" out &&
	test_grep "idle-in-transaction-count .* 2 sessions idle in transaction; the longest: pid [0-9]* (user postgres, application \"billing\") [0-9.]*s, query \"SELECT \* FROM t WHERE id = 1 FOR UPDATE;\"" out
'

test_expect_success 'a lock wait is found with its blocker' '
	holder=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = '"'billing'"'") &&
	{ ops-pgprobe "$PG_DSN" >out; test $? -eq 1; } &&
	test_grep "^WARNING  *lock-waits .*1 session waits on locks.*application \"web\".*blocked by pid $holder" out
'

test_expect_success 'json sessions: waiting with blocked_by, blocking, idle in transaction' '
	holder=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = '"'billing'"'") &&
	{ ops-pgprobe --format json --session-age 1s "$PG_DSN" >out.json; test $? -eq 1; } &&
	python3 - out.json "$holder" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1])); holder = int(sys.argv[2])
	by_kind = {s["kind"]: s for s in d["sessions"]}
	w = by_kind["waiting"]
	assert w["blocked_by"] == [holder] and w["application"] == "web" and w["user"] == "app", w
	assert w["state"] == "active" and w["query"].startswith("UPDATE t SET"), w
	b = by_kind["blocking"]
	assert b["pid"] == holder and b["state"] == "idle in transaction" and b["age_seconds"] >= 1, b
	i = by_kind["idle in transaction"]
	assert i["application"] == "reports" and "hunter2" in i["query"], i
	assert d["connections"]["by_state"]["idle in transaction"] == 2, d["connections"]
	apps = {a["application"]: a for a in d["connections"]["by_application"]}
	assert apps["web"]["waiting"] == 1 and apps["billing"]["idle_in_transaction"] == 1, apps
	PY
'

test_expect_success '--no-query-text hides every query text' '
	ops-pgprobe --no-query-text --format json --session-age 1s "$PG_DSN" >out.json; test $? -eq 1 &&
	test_grep_not hunter2 out.json && test_grep_not "UPDATE t" out.json &&
	test_grep "\"query\": null" out.json &&
	{ ops-pgprobe --no-query-text --session-age 1s "$PG_DSN" >out.txt; test $? -eq 1; } &&
	test_grep_not hunter2 out.txt
'

test_expect_success '--query-length truncates query text' '
	ops-pgprobe --query-length 6 --format json --session-age 1s "$PG_DSN" >out.json; test $? -eq 1 &&
	test_grep "\"query\": \"UPDATE\"" out.json
'

test_expect_success 'nagios: one status line with perfdata, then one line per check' '
	ops-pgprobe --format nagios -w idle-in-transaction=1s "$PG_DSN" >out; test $? -eq 1 &&
	head -n 1 out >first &&
	test_grep "^PGPROBE WARNING - .*idle in transaction.* | .*connections.=[0-9]*;" first &&
	test_grep "^WARNING: lock-waits " out &&
	test_grep "^OK: connect " out
'

test_expect_success 'prometheus: status and metrics for the textfile collector' '
	ops-pgprobe --format prometheus "$PG_DSN" >out.prom; test $? -eq 1 &&
	test_grep "^opskit_check_status{tool=\"ops-pgprobe\",check=\"lock-waits\",subject=\"127.0.0.1:$PG_PORT/postgres\"} 1$" out.prom &&
	test_grep "^opskit_pgprobe_connections{check=\"connections\",subject=\"127.0.0.1:$PG_PORT/postgres\"} [0-9]" out.prom &&
	test_grep "^opskit_pgprobe_lock_waits{" out.prom &&
	test_grep "^# TYPE opskit_pgprobe_idle_in_transaction_seconds gauge" out.prom
'

test_expect_success 'percent and count thresholds on connections' '
	ops-pgprobe -w connections=1 -c connections=50% "$PG_DSN" >out; test $? -eq 1 &&
	test_grep "^WARNING  *connections " out &&
	{ ops-pgprobe -c connections=10% "$PG_DSN" >out; test $? -eq 2; } &&
	test_grep "^CRITICAL  *connections " out
'

test_expect_success 'thresholds from the config; flags win over it' '
	cat >cfg.yaml <<-EOF &&
	postgres:
	  targets:
	    main:
	      dsn: "$PG_DSN"
	  thresholds:
	    idle_in_transaction:
	      critical: 1s
	EOF
	{ ops-pgprobe --config cfg.yaml >out; test $? -eq 2; } &&
	test_grep "^CRITICAL  *idle-in-transaction  *main " out &&
	{ ops-pgprobe --config cfg.yaml -c idle-in-transaction=1h -c lock-waits=9 -w lock-waits=9 main >out; test $? -eq 0; }
'

test_expect_success 'the probe costs one connection: it does not see itself twice' '
	ops-pgprobe --format json "$PG_DSN" >out.json; test $? -eq 1 &&
	python3 -c "import json,sys; d=json.load(open(\"out.json\")); a=[x for x in d[\"connections\"][\"by_application\"] if x[\"application\"]==\"ops-pgprobe\"]; assert a[0][\"total\"]==1, a"
'

test_expect_success 'a role without pg_monitor: visibility WARNING, hidden sessions still counted' '
	ops-pgprobe --format json "$PG_APP_DSN" >out.json; test $? -eq 1 &&
	python3 - out.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	c = {k["id"]: k for k in d["checks"]}
	v = c["visibility"]
	assert v["status"] == "warning" and "2 sessions of other roles" in v["message"], v
	assert "GRANT pg_monitor TO app" in v["hint"], v
	assert d["connections"]["hidden"] == 2 and d["connections"]["total"] == 4, d["connections"]
	PY
'

test_expect_success 'text: aligned sessions list, never two blank lines in a row' '
	ops-pgprobe --session-age 1s "$PG_DSN" "host=127.0.0.1 port=$(free_port)" >out; test $? -eq 2 &&
	! awk "prev == \"\" && \$0 == \"\" && NR > 1 { bad = 1 } { prev = \$0 } END { exit !bad }" out &&
	! head -n 1 out | grep -q "^\$" &&
	test_grep "^  PID *KIND  *AGE  USER  *APPLICATION  BLOCKED_BY  QUERY" out &&
	test_grep "^127.0.0.1:[0-9]*/root: not probed (the connect check below says why)" out &&
	sed -n "/^sessions:/,/^\$/p" out | sed "1d; /^\$/d" >sessions &&
	test $(wc -l <sessions) -ge 3 &&
	awk "NR == 1 { col = index(\$0, \"APPLICATION\"); next }
		substr(\$0, col - 2, 2) != \"  \" || substr(\$0, col, 1) == \" \" { bad = 1 }
		END { exit bad }" sessions
'

test_expect_success 'two DSNs for the same server and database get distinct subjects' '
	ops-pgprobe --format prometheus "$PG_DSN" "host=127.0.0.1 port=$PG_PORT user=app dbname=postgres" >out.prom
	test $? -eq 1 &&
	test_grep "check=\"connections\",subject=\"app@127.0.0.1:$PG_PORT/postgres\"" out.prom &&
	test $(grep -v "^#" out.prom | sed "s/ [^ ]*\$//" | sort | uniq -d | wc -l) -eq 0
'

test_expect_success 'json: by_application counts fastpath too' '
	ops-pgprobe --format json "$PG_DSN" >out.json; test $? -eq 1 &&
	python3 -c "import json; d = json.load(open(\"out.json\")); assert all(\"fastpath\" in g for g in d[\"connections\"][\"by_application\"]), d"
'

test_expect_success '--watch: a compact screen redrawn on a terminal until interrupted, in colour unless NO_COLOR' '
	python3 - "$PG_DSN" <<-\PY
	import fcntl, os, pty, re, select, signal, struct, sys, termios, time
	def watch(no_color):
	    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
	    env["TERM"] = "xterm"
	    if no_color:
	        env["NO_COLOR"] = "1"
	    pid, fd = pty.fork()
	    if pid == 0:
	        os.execvpe("ops-pgprobe", ["ops-pgprobe", "--watch", "0.5", sys.argv[1]], env)
	    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
	    # Poll (bounded) until two screens are drawn, rather than guess how long that takes.
	    out = b""; end = time.time() + 20
	    while out.count(b"ops-pgprobe every 0.5s") < 3 and time.time() < end:
	        if select.select([fd], [], [], 0.1)[0]:
	            try: out += os.read(fd, 65536)
	            except OSError: break
	    os.kill(pid, signal.SIGINT)
	    status = os.waitpid(pid, 0)[1]
	    assert out.count(b"ops-pgprobe every 0.5s") >= 2, out[-2000:]
	    assert os.waitstatus_to_exitcode(status) == 1, status
	    # The last complete screen: each one ends with "erase below" (ESC [ J).
	    return out.rsplit(b"\x1b[J", 1)[0].split(b"\x1b[H")[-1].replace(b"\x1b[K", b"").decode()
	screen = watch(False)
	assert "\x1b[33mWARNING" in screen, "statuses in colour on a terminal: " + repr(screen)
	plain = re.sub("\x1b\\[[0-9;]*m", "", screen)
	assert max(len(l) for l in plain.splitlines()) <= 200, plain
	assert " conns " in plain and " waiting 1 " in plain, plain
	assert "blocking" in plain and "WARNING   lock-waits" in plain, plain
	assert "OK        connect" not in plain, "only the problems are listed: " + plain
	screen = watch(True)
	assert "\x1b[3" not in screen and "WARNING   lock-waits" in screen, "NO_COLOR: " + repr(screen)
	PY
'

pg_end_sessions

test_expect_success 'after the sessions end the server is OK again' '
	ops-pgprobe "$PG_DSN" >out && test_grep "no session waits on a lock" out
'

# A password in a running statement's text: masked by the server, in every format.
pg_session roler "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres application_name="
pg_send roler "BEGIN; ALTER ROLE app PASSWORD 'Sekr1tRolePw';"
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE 'ALTER ROLE%'" 1 ||
	say "the ALTER ROLE session did not settle"

test_expect_success 'a PASSWORD literal in query text is masked, the rest is shown' '
	for fmt in text json; do
		ops-pgprobe --format $fmt --session-age 1ms "$PG_DSN" >out.$fmt
		test_grep_not Sekr1tRolePw out.$fmt || return 1
	done &&
	test_grep "ALTER ROLE app PASSWORD .\*\*\*.;" out.text &&
	test_grep "oldest session idle in transaction for .* (pid [0-9]*, user postgres, no application_name)" out.text
'

# The other literal forms a password can take: E'' (backslash escapes), U&'', dollar quotes.
pg_session leake "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres"
pg_send leake "BEGIN; CREATE ROLE leak_e PASSWORD E'Sekr1tEsc\\'Pw';"
pg_session leaku "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres"
pg_send leaku "BEGIN; CREATE ROLE leak_u PASSWORD U&'Sekr1tUni';"
pg_session leakd "host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres"
pg_send leakd 'BEGIN; CREATE ROLE leak_d PASSWORD $pw$Sekr1tDollar$pw$ VALID UNTIL '"'infinity'"';'
pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE 'CREATE ROLE leak%'" 3 ||
	say "the CREATE ROLE sessions did not settle"

test_expect_success 'E'"''"', U&'"''"' and dollar-quoted PASSWORD literals are masked too' '
	for fmt in text json; do
		ops-pgprobe --format $fmt --session-age 1ms "$PG_DSN" >out.$fmt
		for pw in Sekr1tEsc Sekr1tUni Sekr1tDollar; do
			test_grep_not $pw out.$fmt || return 1
		done
	done &&
	test_grep "CREATE ROLE leak_e PASSWORD E.\*\*\*.;" out.text &&
	test_grep "CREATE ROLE leak_d PASSWORD \*\*\*" out.text
'

pg_end_sessions

test_done
