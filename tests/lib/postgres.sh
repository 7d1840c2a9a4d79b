# tests/lib/postgres.sh — throwaway PostgreSQL and PgBouncer servers for tests and benches.
#
#   . "$TEST_LIB/postgres.sh"
#   start_postgres [MAX_CONNECTIONS [SUPERUSER_RESERVED]]   (defaults 20 and 3)
#   start_pgbouncer [DEFAULT_POOL_SIZE [MAX_CLIENT_CONN]]      (defaults 2 and 20)
#   stop_postgres, stop_pgbouncer                           (before starting another)
#
# Versions: Debian's PostgreSQL 15 and PgBouncer 1.18 unless PG_VERSION (12, 13, 14, 16,
# 17, 18) or PGB_VERSION (1.21, 1.25) is set, whose servers ci/install-peers.sh puts in
# $OPSKIT_PEERS (default /var/cache/opskit/peers). pg_bin_for VERSION and pgb_bin_for
# VERSION print where a version is, or fail when it is not installed (a test then skips
# it). start_* skip the whole script (skip_all) when the version asked for is missing.
#
# PG_OPTIONS adds server options (-c name=value ...) to start_postgres.
#
# After start_postgres:
#   PG_BIN      the server binaries (/usr/lib/postgresql/15/bin, or PG_VERSION's)
#   PG_DIR      data directory, also the Unix socket directory (owned by postgres)
#   PG_PORT     TCP port on 127.0.0.1
#   PG_DSN      "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" (trust)
#   PG_APP_DSN  the same as role "app" (no superuser: sees the reserved-slot refusal)
#   PG_PW_USER, PG_PW_PASSWORD  a role that must log in with a SCRAM password over TCP
# After start_replica (a streaming replica of the server above):
#   PG_REPLICA_DIR, PG_REPLICA_PORT, PG_REPLICA_DSN; pg_replica_sql SQL
# After start_pgbouncer:
#   PGB_DIR, PGB_PORT
#   PGB_ADMIN_DSN  "host=127.0.0.1 port=$PGB_PORT user=postgres dbname=pgbouncer"
#   PGB_APP_DSN    database "app" behind PgBouncer (session pooling, small pool)
#   PGB_BIN        the pgbouncer binary
# PGB_INI_EXTRA (lines for [pgbouncer]) and PGB_INI_USERS (a [users] section, 1.23+) add
# to its configuration.
#
# Helpers (each bounded in time):
#   pg_sql SQL               one psql -At over the Unix socket (superuser, never refused
#                            while a reserved slot is free)
#   pg_session NAME [DSN]    a psql kept open in the background, fed from NAME.fifo;
#   pg_send NAME SQL         send it SQL (no wait for the answer)
#   pg_wait_for SQL WANT [S] until pg_sql SQL prints WANT (default 15 s)
#   pg_wait_output NAME PAT  until session NAME printed PAT (works when the server is full)
#   pg_session_in NAME [DSN] a pg_session that is in (has answered), started again when
#                            refused for a slot a leaving backend still held
#   pg_wait_clients N [S]    until exactly N other client backends are left and the one
#                            that counted them is gone: a probe started next sees N and
#                            itself, not a pg_sql or an earlier probe still on its way out
#   pg_kill_sessions         close every session (no wait)
#   pg_end_sessions          close every session and wait until the server sees them gone
#   pgb_wait_for_waiting N   until PgBouncer's pool "app" has N clients waiting, the
#                            oldest for a second or more (default 15 s)
# Teardown (servers, sessions) is registered with test_cleanup_add.

OPSKIT_PEERS=${OPSKIT_PEERS:-/var/cache/opskit/peers}
# Client programs (pg_isready, pg_basebackup) are Debian's whatever the server's version.
PG_CLIENT_BIN=/usr/lib/postgresql/15/bin
PG_BIN=${PG_BIN:-$PG_CLIENT_BIN}

# pg_bin_for MAJOR: the directory of that version's initdb, pg_ctl and postgres.
pg_bin_for() {
	case $1 in
	15) _b=/usr/lib/postgresql/15/bin ;;
	*) _b=$OPSKIT_PEERS/pg-$1/bin ;;
	esac
	test -x "$_b/postgres" && test -x "$_b/initdb" && test -x "$_b/pg_ctl" && echo "$_b"
}

# pgb_bin_for X.Y: that PgBouncer's binary (1.18 is Debian's).
pgb_bin_for() {
	case $1 in
	1.18) command -v pgbouncer ;;
	*) test -x "$OPSKIT_PEERS/pgbouncer-$1/bin/pgbouncer" && echo "$OPSKIT_PEERS/pgbouncer-$1/bin/pgbouncer" ;;
	esac
}
# pgb_each_version SCENARIO WHAT: SCENARIO X.Y for PgBouncer 1.18, 1.21 and 1.25; one not
# installed is skipped with the reason, or fails in CI (OPSKIT_REQUIRE_PEERS=1).
pgb_each_version() {
	for _pgb_v in 1.18 1.21 1.25; do
		if pgb_bin_for "$_pgb_v" >/dev/null; then
			"$1" "$_pgb_v"
		elif [ "${OPSKIT_REQUIRE_PEERS:-}" = 1 ]; then
			test_expect_success "PgBouncer $_pgb_v: $2 (OPSKIT_REQUIRE_PEERS=1, not in $OPSKIT_PEERS)" false
		else
			test_skip "PgBouncer $_pgb_v: $2" "PgBouncer $_pgb_v is not installed (ci/install-peers.sh puts it in $OPSKIT_PEERS)"
		fi
	done
}
PG_PW_USER=pwuser
PG_PW_PASSWORD='S3cret-Pr0be-Passw0rd'

_pg_as_postgres() { su postgres -s /bin/sh -c "$1"; }

start_postgres() {
	_max=${1:-20} _reserved=${2:-3}
	if [ -n "${PG_VERSION:-}" ]; then
		PG_BIN=$(pg_bin_for "$PG_VERSION") ||
			skip_all "PostgreSQL $PG_VERSION is not installed (run ci/install-peers.sh)"
	fi
	test -x "$PG_BIN/postgres" || skip_all "PostgreSQL 15 is not installed (run ci/install-deps.sh)"
	PG_DIR=$TRASH/pg${PG_VERSION:+-$PG_VERSION}
	PG_PORT=$(free_port)
	mkdir -p "$PG_DIR" && chown postgres: "$PG_DIR" && chmod 700 "$PG_DIR"
	_pg_as_postgres "$PG_BIN/initdb -N -D '$PG_DIR' -A trust -U postgres" >"$TRASH/initdb.log" 2>&1 || {
		cat "$TRASH/initdb.log"; return 1; }
	# pwuser needs a password over TCP; everyone else is trusted (loopback only).
	cat >"$PG_DIR/pg_hba.conf" <<-EOF
	local all all trust
	local replication all trust
	host all $PG_PW_USER 127.0.0.1/32 scram-sha-256
	host all all 127.0.0.1/32 trust
	EOF
	chown postgres: "$PG_DIR/pg_hba.conf"
	_pg_as_postgres "$PG_BIN/pg_ctl -D '$PG_DIR' -l '$PG_DIR/server.log' -w -t 30 -o \"-p $PG_PORT -k '$PG_DIR' -c listen_addresses=127.0.0.1 -c max_connections=$_max -c superuser_reserved_connections=$_reserved -c max_prepared_transactions=4 -c fsync=off -c shared_buffers=16MB ${PG_OPTIONS:-}\" start" >/dev/null 2>&1 || {
		cat "$PG_DIR/server.log"; return 1; }
	test_cleanup_add "su postgres -s /bin/sh -c \"$PG_BIN/pg_ctl -D '$PG_DIR' -m immediate -w stop\""
	test_cleanup_add "pg_kill_sessions"
	PG_DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
	PG_APP_DSN="host=127.0.0.1 port=$PG_PORT user=app dbname=postgres"
	pg_sql "CREATE ROLE app LOGIN; CREATE ROLE $PG_PW_USER LOGIN PASSWORD '$PG_PW_PASSWORD';
		CREATE TABLE t(id int primary key, v text); INSERT INTO t VALUES (1, 'one');
		GRANT ALL ON t TO app" >/dev/null
	export PG_BIN PG_DIR PG_PORT PG_DSN PG_APP_DSN PG_PW_USER PG_PW_PASSWORD
}

# stop_postgres: stop the server of start_postgres now (and its sessions), so that a
# test can start another version; its data directory goes with the trash.
stop_postgres() {
	pg_kill_sessions
	_pg_as_postgres "$PG_BIN/pg_ctl -D '$PG_DIR' -m immediate -w -t 30 stop" >/dev/null 2>&1
}

# start_replica: a streaming replica of the server (pg_basebackup -R), for replay lag.
start_replica() {
	PG_REPLICA_DIR=$TRASH/replica
	PG_REPLICA_PORT=$(free_port)
	mkdir -p "$PG_REPLICA_DIR" && chown postgres: "$PG_REPLICA_DIR" && chmod 700 "$PG_REPLICA_DIR"
	_pg_as_postgres "$PG_CLIENT_BIN/pg_basebackup -D '$PG_REPLICA_DIR' -R -X stream -c fast -h '$PG_DIR' -p $PG_PORT -U postgres" \
		>"$TRASH/basebackup.log" 2>&1 || { cat "$TRASH/basebackup.log"; return 1; }
	_pg_as_postgres "$PG_BIN/pg_ctl -D '$PG_REPLICA_DIR' -l '$PG_REPLICA_DIR/server.log' -w -t 30 -o \"-p $PG_REPLICA_PORT -k '$PG_REPLICA_DIR' -c listen_addresses=127.0.0.1 -c max_prepared_transactions=4 -c fsync=off -c shared_buffers=16MB\" start" >/dev/null 2>&1 || {
		cat "$PG_REPLICA_DIR/server.log"; return 1; }
	test_cleanup_add "su postgres -s /bin/sh -c \"$PG_BIN/pg_ctl -D '$PG_REPLICA_DIR' -m immediate -w stop\""
	PG_REPLICA_DSN="host=127.0.0.1 port=$PG_REPLICA_PORT user=postgres dbname=postgres"
	export PG_REPLICA_DIR PG_REPLICA_PORT PG_REPLICA_DSN
}

# pg_replica_sql SQL: like pg_sql, on the replica.
pg_replica_sql() {
	timeout -k 2 20 psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_REPLICA_DIR" -p "$PG_REPLICA_PORT" -U postgres -d postgres -c "$1"
}

pg_sql() {
	timeout -k 2 20 psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -c "$1"
}

# pg_session NAME [DSN]: psql reading NAME.fifo; a sleeping writer keeps the fifo open.
pg_session() {
	_name=$1 _dsn=${2:-host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres}
	rm -f "$TRASH/$_name.fifo" && mkfifo "$TRASH/$_name.fifo"
	timeout -k 2 300 psql -X -q "$_dsn" <"$TRASH/$_name.fifo" >"$TRASH/$_name.out" 2>&1 &
	echo $! >>"$TRASH/.pg-session-pids"
	sleep 300 >"$TRASH/$_name.fifo" &
	echo $! >>"$TRASH/.pg-session-pids"
}

pg_send() { printf '%s\n' "$2" >"$TRASH/$1.fifo"; }

pg_kill_sessions() {
	test -f "$TRASH/.pg-session-pids" || return 0
	while read -r _pid; do kill "$_pid" 2>/dev/null; done <"$TRASH/.pg-session-pids"
	rm -f "$TRASH/.pg-session-pids"
}

# pg_end_sessions: close every pg_session (between tests that need a quiet server).
pg_end_sessions() {
	pg_kill_sessions
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" 0
}

# pg_wait_output NAME PATTERN [S]: until the session's output shows PATTERN (when the
# server is full and pg_sql itself would be refused).
pg_wait_output() {
	_deadline=$(( $(date +%s) + ${3:-15} ))
	until grep -q -- "$2" "$TRASH/$1.out" 2>/dev/null; do
		[ "$(date +%s)" -le $_deadline ] || { echo "pg_wait_output: $1 never printed $2" >&2; return 1; }
		sleep 0.05
	done
}

# A backend leaves a moment after its client has gone; under load the next client (a
# session, the probe) may still see it, or find its slot taken.
pg_session_in() {
	_in_deadline=$(( $(date +%s) + ${3:-15} ))
	while :; do
		pg_session "$1" "${2:-}"
		# (bounded: a refused psql may be gone, and a fifo with no reader blocks its writer)
		timeout -k 1 5 sh -c 'printf "%s\n" "$1" >"$2"' - "SELECT '$1-ready';" "$TRASH/$1.fifo"
		_in_left=$(( _in_deadline - $(date +%s) ))
		pg_wait_output "$1" "$1-ready\|FATAL" $(( _in_left > 1 ? _in_left : 1 )) 2>/dev/null &&
			grep -q -- "$1-ready" "$TRASH/$1.out" && return 0
		[ "$(date +%s)" -le $_in_deadline ] || { echo "pg_session_in: $1 never got in: $(cat "$TRASH/$1.out")" >&2; return 1; }
		sleep 0.1
	done
}

pg_wait_clients() {
	_deadline=$(( $(date +%s) + ${2:-15} ))
	while :; do
		_r=$(pg_sql "SELECT pg_backend_pid() || ' ' || count(*) FROM pg_stat_activity
			WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" 2>/dev/null)
		if [ "${_r#* }" = "$1" ]; then
			# our own backend exits after psql; its process gone, it is out of the count
			while kill -0 "${_r%% *}" 2>/dev/null && [ "$(date +%s)" -le $_deadline ]; do sleep 0.02; done
			return 0
		fi
		[ "$(date +%s)" -le $_deadline ] || { echo "pg_wait_clients: never $1 other clients (last: ${_r#* })" >&2; return 1; }
		sleep 0.05
	done
}

pg_wait_for() {
	_deadline=$(( $(date +%s) + ${3:-15} ))
	while [ "$(date +%s)" -le $_deadline ]; do
		[ "$(pg_sql "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "pg_wait_for: '$1' never gave '$2' (last: $(pg_sql "$1" 2>&1))" >&2
	return 1
}

start_pgbouncer() {
	_pool=${1:-2} _maxclients=${2:-20}
	if [ -n "${PGB_VERSION:-}" ]; then
		PGB_BIN=$(pgb_bin_for "$PGB_VERSION") ||
			skip_all "PgBouncer $PGB_VERSION is not installed (run ci/install-peers.sh)"
	else
		PGB_BIN=$(command -v pgbouncer) || skip_all "pgbouncer is not installed (run ci/install-deps.sh)"
	fi
	PGB_DIR=$TRASH/pgbouncer${PGB_VERSION:+-$PGB_VERSION}
	PGB_PORT=$(free_port)
	mkdir -p "$PGB_DIR"
	printf '"postgres" ""\n"app" ""\n' >"$PGB_DIR/userlist.txt"
	cat >"$PGB_DIR/pgbouncer.ini" <<-EOF
	[databases]
	app = host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres
	[pgbouncer]
	listen_addr = 127.0.0.1
	listen_port = $PGB_PORT
	unix_socket_dir =
	auth_type = trust
	auth_file = $PGB_DIR/userlist.txt
	admin_users = postgres
	pool_mode = session
	default_pool_size = $_pool
	max_client_conn = $_maxclients
	logfile = $PGB_DIR/pgbouncer.log
	pidfile = $PGB_DIR/pgbouncer.pid
	${PGB_INI_EXTRA:-}
	EOF
	if [ -n "${PGB_INI_USERS:-}" ]; then printf '[users]\n%s\n' "$PGB_INI_USERS" >>"$PGB_DIR/pgbouncer.ini"; fi
	chown -R postgres: "$PGB_DIR"
	_pg_as_postgres "'$PGB_BIN' -d '$PGB_DIR/pgbouncer.ini'" >"$PGB_DIR/start.log" 2>&1 || {
		cat "$PGB_DIR/start.log" "$PGB_DIR/pgbouncer.log"; return 1; }
	test_cleanup_add "kill \$(cat '$PGB_DIR/pgbouncer.pid')"
	# (wait_for_port needs bash's /dev/tcp; pg_isready works from any sh)
	_deadline=$(( $(date +%s) + 10 ))
	until "$PG_CLIENT_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGB_PORT" -t 1; do
		[ "$(date +%s)" -le $_deadline ] || { cat "$PGB_DIR/pgbouncer.log"; return 1; }
		sleep 0.1
	done
	PGB_ADMIN_DSN="host=127.0.0.1 port=$PGB_PORT user=postgres dbname=pgbouncer"
	PGB_APP_DSN="host=127.0.0.1 port=$PGB_PORT user=postgres dbname=app"
	export PGB_BIN PGB_DIR PGB_PORT PGB_ADMIN_DSN PGB_APP_DSN
}

# stop_pgbouncer: stop the PgBouncer of start_pgbouncer now, waiting (bounded) until it
# has gone so that its port and server connections are free.
stop_pgbouncer() {
	_pid=$(cat "$PGB_DIR/pgbouncer.pid" 2>/dev/null) || return 0
	kill "$_pid" 2>/dev/null
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
}

# pgb_wait_for_waiting N [S]: polls SHOW POOLS (the admin console has no SQL to wait
# with) until pool "app" has N clients waiting and maxwait >= 1 s.
pgb_wait_for_waiting() {
	_deadline=$(( $(date +%s) + ${2:-15} ))
	until timeout -k 2 10 psql -X -A -F '|' -c "SHOW POOLS" "$PGB_ADMIN_DSN" 2>/dev/null |
		awk -F'|' -v want="$1" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			$col["database"] == "app" && $col["cl_waiting"] == want && $col["maxwait"] >= 1 { ok = 1 }
			END { exit !ok }'; do
		[ "$(date +%s)" -le $_deadline ] || { echo "pgb_wait_for_waiting: never $1 waiting" >&2; return 1; }
		sleep 0.1
	done
}
