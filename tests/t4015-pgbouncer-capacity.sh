#!/bin/sh
# PgBouncer as deployed, on 1.18 (Debian), 1.21 and 1.25 (ci/install-peers.sh; a
# version that is not installed is skipped): its clients grouped by application_name,
# address and user (the top 10, the rest summed up; the application_name_add_host hint
# when the names tell nothing),
# databases paused (PAUSE) and disabled (DISABLE), max_db_connections and (1.23+, [users])
# max_user_connections in use, so_reuseport, and what all its pools may open against the
# server's usable connections, times the processes sharing the port.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql python3

# 20 max_connections, 3 superuser_reserved: 17 usable (PostgreSQL 15 has no reserved_connections).
start_postgres 20 3 || { echo "Bail out! PostgreSQL did not start"; exit 1; }

admin() { timeout -k 2 10 psql -X -q -c "$1" "$PGB_ADMIN_DSN"; }

# pgb_clients_are N [STATE]: until PgBouncer has N clients besides the admin console's
# (and one at least in STATE), at most 15 s: the tests count clients exactly.
pgb_clients_are() {
	deadline=$(( $(date +%s) + 15 ))
	until timeout -k 2 10 psql -X -At -F ' ' -c 'SHOW CLIENTS' "$PGB_ADMIN_DSN" |
		awk -v n="$1" -v st="${2:-}" '$3 != "pgbouncer" { c++; if ($4 == st) s++ }
			END { exit !(c == n && (st == "" || s > 0)) }'; do
		[ "$(date +%s)" -le $deadline ] || { say "PgBouncer never had $1 clients ${2:-}"; return 1; }
		sleep 0.2
	done
}

# capacity_scenario VERSION
capacity_scenario() {
	v=$1
	PGB_VERSION=$v
	# Four databases of pool_size 4 + reserve 1 each: app2 is capped at max_db_connections 2,
	# so PgBouncer may open 5 + 2 + 5 + 5 = 17 server connections: exactly what the server
	# takes. 1.25 sizes the pools of user postgres at 2 ([users]) and caps that user at 3.
	db="host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres"
	PGB_INI_EXTRA=$(printf '%s\n' "reserve_pool_size = 1" "so_reuseport = 1" "[databases]" \
		"app2 = $db pool_size=8 max_db_connections=2" "app3 = $db" "app4 = $db")
	case $v in
	1.18|1.21) PGB_INI_USERS= ;;
	*) PGB_INI_USERS="postgres = pool_size=2 max_user_connections=3" ;;
	esac
	start_pgbouncer 4 20 || { test_expect_success "PgBouncer $v starts" false; return; }
	PGB_APP2_DSN=$(echo "$PGB_APP_DSN" | sed 's/dbname=app/dbname=app2/')

	# Two clients that do not name themselves (psql calls them all "psql").
	pg_session anon1-$v "$PGB_APP_DSN"
	pg_session anon2-$v "$PGB_APP_DSN"
	pg_send anon1-$v "SELECT 'anon1-ready';"
	pg_send anon2-$v "SELECT 'anon2-ready';"
	pg_wait_output anon1-$v anon1-ready || say "PgBouncer $v: the unnamed client anon1 did not get a server"
	pg_wait_output anon2-$v anon2-ready || say "PgBouncer $v: the unnamed client anon2 did not get a server"

	test_expect_success "PgBouncer $v: clients with one application_name get the application_name_add_host hint" '
		ops-pgprobe --format json --pgbouncer "$PGB_ADMIN_DSN" >hint-$v.json
		json_assert hint-$v.json "
b = d[\"pgbouncer\"][0]
g = b[\"client_groups\"]
assert len(g) == 1 and g[0][\"application\"] == \"psql\" and g[0][\"total\"] == 2, g
assert g[0][\"linked\"] == 2 and g[0][\"user\"] == \"postgres\" and g[0][\"addr\"] == \"127.0.0.1\", g
assert \"application_name_add_host = 1\" in b[\"client_groups_hint\"], b
assert b[\"client_groups_more\"] == {\"groups\": 0, \"clients\": 0}, b
"
	'
	pg_kill_sessions
	pgb_clients_are 0

	pg_session web1-$v "$PGB_APP_DSN application_name=web"
	pg_session web2-$v "$PGB_APP_DSN application_name=web"
	pg_session wk-$v "$PGB_APP2_DSN application_name=worker"
	for s in web1 web2 wk; do pg_send $s-$v "SELECT '$s-ready';"; done
	for s in web1 web2 wk; do pg_wait_output $s-$v $s-ready || say "PgBouncer $v: $s got no server"; done
	admin "PAUSE app3"
	admin "DISABLE app4"

	test_expect_success "PgBouncer $v: groups, paused and disabled databases, limits, so_reuseport, sizing" '
		ops-pgprobe --format json \
			--pgbouncer "$PGB_ADMIN_DSN" "$PG_DSN" >cap-$v.json
		json_assert cap-$v.json "
v = tuple(int(x) for x in \"$v\".split(\".\"))
c = {k[\"id\"]: k for k in d[\"checks\"]}
b = d[\"pgbouncer\"][0]
g = {x[\"application\"]: x for x in b[\"client_groups\"]}
assert g[\"web\"][\"total\"] == 2 and g[\"web\"][\"linked\"] == 2 and g[\"worker\"][\"total\"] == 1, g
assert \"client_groups_hint\" not in b, b
db = c[\"pgbouncer-databases\"]
assert db[\"status\"] == \"warning\" and \"paused (PAUSE): app3\" in db[\"message\"], db
assert \"disabled (DISABLE), new clients refused: app4\" in db[\"message\"], db
dbs = {x[\"name\"]: x for x in b[\"databases\"]}
assert dbs[\"app3\"][\"paused\"] == \"yes\" and dbs[\"app4\"][\"disabled\"] == \"yes\", dbs
assert dbs[\"app2\"][\"max_db_connections\"] == 2 and dbs[\"app2\"][\"current_connections\"] == 1, dbs
assert dbs[\"app\"][\"reserve_pool_size\"] == 1, dbs
lim = c[\"pgbouncer-limits\"]
if v >= (1, 25):
    assert \"max_user_connections of user postgres: 3 of 3\" in lim[\"message\"], lim
    u = {x[\"name\"]: x for x in b[\"users\"]}
    assert (u[\"postgres\"][\"pool_size\"], u[\"postgres\"][\"max_user_connections\"], u[\"postgres\"][\"current_connections\"]) == (2, 3, 3), u
else:
    assert \"users\" not in b, b
    assert \"max_db_connections of database app2: 1 of 2\" in lim[\"message\"], lim
pr = c[\"pgbouncer-processes\"]
assert pr[\"status\"] == \"warning\" and \"the admin DSN reaches one at random\" in pr[\"message\"], pr
sz = [k for k in d[\"checks\"] if k[\"id\"] == \"pgbouncer-server-sizing\"]
assert len(sz) == 1 and sz[0][\"status\"] == \"ok\", sz
want = 11 if v >= (1, 25) else 17
assert \"may open %d server connections (4 databases\" % want in sz[0][\"message\"], sz
assert \"<= the server\x27s 17 usable\" in sz[0][\"message\"], sz
"
	'

	test_expect_success "PgBouncer $v: two processes behind the port can open more than the server accepts" '
		ops-pgprobe --pgbouncer-processes 2 --pgbouncer "$PGB_ADMIN_DSN" "$PG_DSN" >sizing-$v.txt
		test_grep "^WARNING  *pgbouncer-server-sizing .* x 2 processes) > the server.s 17 usable" sizing-$v.txt &&
		test_grep "hint: PgBouncer can open more server connections than PostgreSQL accepts" sizing-$v.txt &&
		test_grep "^OK  *pgbouncer-processes .*2 PgBouncer processes declared" sizing-$v.txt
	'
	if [ "$v" = 1.18 ]; then many_groups; fi
	admin "RESUME app3"
	admin "ENABLE app4"
	pg_kill_sessions
	stop_pgbouncer
}

# many_groups: 11 more applications (13 groups with web and worker): 10 are shown, those
# with waiting clients first (the pool of app has 4 + 1 server connections), the rest
# summed up.
many_groups() {
	i=1
	while [ $i -le 11 ]; do
		pg_session c$i "$PGB_APP_DSN application_name=c$i"
		pg_send c$i "SELECT 'c$i-sent';"
		i=$((i + 1))
	done
	pgb_clients_are 14 waiting
	test_expect_success "PgBouncer $v: 13 client groups: the top 10 (waiting first), the rest summed up" '
		ops-pgprobe --format json --pgbouncer "$PGB_ADMIN_DSN" >many.json
		json_assert many.json "
b = d[\"pgbouncer\"][0]
g, more = b[\"client_groups\"], b[\"client_groups_more\"]
assert len(g) == 10 and more[\"groups\"] == 3, (g, more)
assert sum(x[\"total\"] for x in g) + more[\"clients\"] == 14, (g, more)
assert g[0][\"waiting\"] >= 1, g
w = [x[\"waiting\"] for x in g]
assert w == sorted(w, reverse=True), w
"
	'
}

pgb_each_version capacity_scenario "capacity"

test_done
