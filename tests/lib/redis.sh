# redis.sh — throwaway redis-server instances for opskit tests (source after test-lib.sh).
#
#   start_redis [--requirepass PASS] [--acl-user USER PASS] [NAME] [-- SERVER-ARGS...]
#       One standalone server on a free loopback port, data dir $TRASH/redis-NAME
#       (NAME default "main"). Sets:
#         REDIS_PORT      its TCP port
#         REDIS_URL       redis://127.0.0.1:PORT (no credentials in it)
#         REDIS_SOCK      its unix socket path
#         REDIS_PIDFILE   its pid file; REDIS_DIR its directory
#         REDIS_PASS      the password given with --requirepass (empty otherwise)
#       --acl-user adds an ACL user with every command and key (~* &* +@all).
#       Arguments after -- go to redis-server (--rename-command MEMORY "" ...).
#   start_fake_redis SCRIPT.json
#       tests/lib/fake-redis.py: a scripted RESP server for replies a real server cannot
#       be made to give on demand (SCAN duplicates). Sets FAKE_REDIS_PORT.
#   start_redis_tls [NAME]
#       start_redis with a TLS port too, its certificate (SAN IP 127.0.0.1, DNS
#       redis.test) signed by a throwaway CA made by openssl. Sets, besides start_redis':
#         REDIS_TLS_PORT, REDIS_TLS_URL (rediss://127.0.0.1:PORT), REDIS_TLS_CA (the CA),
#         REDIS_TLS_OTHER_CA (a CA that signed nothing), REDIS_TLS_CLIENT_CERT/KEY
#         (a client certificate from the CA)
#   rcli ARGS...        redis-cli against the last start_redis server (with its password)
#   start_redis_cluster [--replicas]
#       Three primaries (with --replicas: plus one replica each), slots split by
#       redis-cli --cluster create; ports below 55535 (the bus port is port+10000). Sets:
#         REDIS_CLUSTER_PORTS   "p1 p2 p3" (all nodes: six with --replicas)
#         REDIS_CLUSTER_URL     redis://127.0.0.1:p1
#   start_redis_sentinel PRIMARY_PORT [MASTER_NAME [SENTINEL_PASS]]
#       One Sentinel (redis-server --sentinel) monitoring 127.0.0.1:PRIMARY_PORT as
#       MASTER_NAME (default mymaster, quorum 1), with requirepass SENTINEL_PASS when given.
#       Sets SENTINEL_PORT.
#   start_redis_cluster_ipv6
#       Two primaries that announce ::1 (CLUSTER NODES and MOVED then print the bare
#       "::1:port"), the first holding every slot; REDIS_BIND must include ::1. Sets
#       REDIS_CLUSTER_PORTS "p1 p2" and REDIS_CLUSTER_URL redis://127.0.0.1:p1.
#   stop_redis_pidfile FILE   kill -9 the server of that pid file (a crash, for tests)
#   Slot moves on the cluster (SLOT set by the caller, a slot that holds keys):
#   cluster_slot_owner       the port of the primary whose keys are in $SLOT
#   cluster_other_port PORT  a node port that is not PORT
#   cluster_node_id PORT     CLUSTER MYID
#   cluster_wait_for_scan PORT   until (bounded) an audit sent its first SCAN to PORT
#   cluster_migrate_keys SRC DST  every key of $SLOT moved from SRC to DST, the slot left
#                            MIGRATING/IMPORTING (an audit then meets ASK)
#   cluster_give_slot PORT   every node says PORT serves $SLOT (ends a migration: MOVED)
#
# Every server runs with --daemonize yes --save '' --appendonly no --bind $REDIS_BIND and is
# killed at exit through test_cleanup_add (also when started inside a test body).
# REDIS_BIND is 127.0.0.1 unless the test sets it after sourcing this file (an IPv6 test:
# "127.0.0.1 ::1"; loopback only); redis_ipv6_ok says whether ::1 can be used here.

test_require_cmd redis-server redis-cli
REDIS_BIND=127.0.0.1

# Under SANITIZE=1 a sanitizer report must fail a test even where exit codes 1-2 are fine.
if [ "${SANITIZE:-}" = 1 ]; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=99" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=99"
fi

_redis_kill_at_exit() {
	test_cleanup_add "kill -9 \$(cat '$1' 2>/dev/null) 2>/dev/null"
}

_redis_wait_pidfile() {
	_n=0
	while [ ! -s "$1" ] && [ $_n -lt 100 ]; do sleep 0.05; _n=$((_n + 1)); done
	[ -s "$1" ]
}

# _redis_spawn DIR PORT [extra redis-server args...]
_redis_spawn() {
	_dir=$1 _port=$2
	shift 2
	mkdir -p "$_dir"
	redis-server --port "$_port" --bind $REDIS_BIND --daemonize yes --save '' \
		--appendonly no --dir "$_dir" --pidfile "$_dir/redis.pid" \
		--logfile "$_dir/redis.log" --unixsocket "$_dir/redis.sock" --unixsocketperm 700 \
		"$@" || return 1
	_redis_kill_at_exit "$_dir/redis.pid"
	_redis_wait_pidfile "$_dir/redis.pid" && _redis_wait_ping "$_port"
}

# Ready means answering PING (NOAUTH counts), not merely listening.
_redis_wait_ping() {
	_n=0
	until redis-cli -p "$1" PING 2>/dev/null | grep -q 'PONG\|NOAUTH'; do
		_n=$((_n + 1))
		[ $_n -gt 200 ] && { echo "redis on port $1 does not answer" >&2; return 1; }
		sleep 0.05
	done
}

start_redis() {
	_pass= _acl_user= _acl_pass= _name=main
	while [ $# -gt 0 ]; do
		case $1 in
		--requirepass) _pass=$2; shift 2 ;;
		--acl-user) _acl_user=$2 _acl_pass=$3; shift 3 ;;
		--) shift; break ;;
		*) _name=$1; shift ;;
		esac
	done
	REDIS_PORT=$(free_port 55535)
	REDIS_DIR=$TRASH/redis-$_name
	REDIS_PIDFILE=$REDIS_DIR/redis.pid
	REDIS_SOCK=$REDIS_DIR/redis.sock
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT
	REDIS_PASS=$_pass
	[ -n "$_pass" ] && set -- --requirepass "$_pass" "$@"
	_redis_spawn "$REDIS_DIR" "$REDIS_PORT" "$@" || return 1
	if [ -n "$_acl_user" ]; then
		rcli ACL SETUSER "$_acl_user" on ">$_acl_pass" '~*' '&*' '+@all' >/dev/null || return 1
	fi
}

_redis_ca() {   # DIR NAME: a self-signed CA DIR/NAME.crt / .key
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=opskit test $2" \
		-keyout "$1/$2.key" -out "$1/$2.crt" 2>/dev/null
}

_redis_leaf() {   # DIR NAME CA CN SAN
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$4" -keyout "$1/$2.key" -out "$1/$2.csr" 2>/dev/null &&
	printf 'subjectAltName=%s\n' "$5" >"$1/$2.ext" &&
	openssl x509 -req -in "$1/$2.csr" -CA "$1/$3.crt" -CAkey "$1/$3.key" -CAcreateserial \
		-days 2 -extfile "$1/$2.ext" -out "$1/$2.crt" 2>/dev/null
}

start_redis_tls() {
	test_require_cmd openssl
	_tdir=$TRASH/tls-${1:-main}
	mkdir -p "$_tdir" &&
	_redis_ca "$_tdir" ca && _redis_ca "$_tdir" other &&
	_redis_leaf "$_tdir" server ca redis.test "IP:127.0.0.1,DNS:redis.test" &&
	_redis_leaf "$_tdir" client ca client "DNS:client" || return 1
	REDIS_TLS_PORT=$(free_port 55535)
	start_redis "${1:-main}" -- --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$_tdir/server.crt" \
		--tls-key-file "$_tdir/server.key" --tls-ca-cert-file "$_tdir/ca.crt" \
		--tls-auth-clients optional || return 1
	REDIS_TLS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT
	REDIS_TLS_CA=$_tdir/ca.crt
	REDIS_TLS_OTHER_CA=$_tdir/other.crt
	REDIS_TLS_CLIENT_CERT=$_tdir/client.crt
	REDIS_TLS_CLIENT_KEY=$_tdir/client.key
}

rcli() {
	if [ -n "${REDIS_PASS:-}" ]; then
		REDISCLI_AUTH=$REDIS_PASS redis-cli -p "$REDIS_PORT" "$@"
	else
		redis-cli -p "$REDIS_PORT" "$@"
	fi
}

start_fake_redis() {
	_pf=$TRASH/fake-redis.port.$$.$(date +%s%N)
	python3 "$TEST_LIB/fake-redis.py" "$_pf" "$1" >"$_pf.log" 2>&1 &
	test_cleanup_add "kill $! 2>/dev/null"
	_n=0
	while [ ! -s "$_pf" ] && [ $_n -lt 100 ]; do sleep 0.05; _n=$((_n + 1)); done
	FAKE_REDIS_PORT=$(cat "$_pf" 2>/dev/null)
	[ -n "$FAKE_REDIS_PORT" ]
}

stop_redis_pidfile() {
	kill -9 "$(cat "$1")" 2>/dev/null
}

# A free port whose cluster bus port (+10000) is free too.
_redis_cluster_port() {
	python3 - <<'PY'
import random, socket
for _ in range(500):
    port = random.randint(20000, 55535)
    socks = []
    try:
        for p in (port, port + 10000):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(port)
        break
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
PY
}

start_redis_cluster() {
	REDIS_CLUSTER_PORTS=
	_addrs=
	_nodes="1 2 3" _replicas=0
	[ "${1:-}" = --replicas ] && _nodes="1 2 3 4 5 6" _replicas=1
	for _i in $_nodes; do
		_p=$(_redis_cluster_port)
		_redis_spawn "$TRASH/cluster-$_i" "$_p" --cluster-enabled yes \
			--cluster-config-file "$TRASH/cluster-$_i/nodes.conf" \
			--cluster-node-timeout 5000 || return 1
		REDIS_CLUSTER_PORTS="$REDIS_CLUSTER_PORTS $_p"
		_addrs="$_addrs 127.0.0.1:$_p"
	done
	REDIS_CLUSTER_PORTS=${REDIS_CLUSTER_PORTS# }
	set -- $REDIS_CLUSTER_PORTS
	REDIS_CLUSTER_URL=redis://127.0.0.1:$1
	redis-cli --cluster create $_addrs --cluster-replicas $_replicas --cluster-yes >"$TRASH/cluster-create.log" 2>&1 || {
		cat "$TRASH/cluster-create.log"; return 1
	}
	# Every node must agree the cluster is up before tests write to it.
	_n=0
	for _p in $REDIS_CLUSTER_PORTS; do
		while ! redis-cli -p "$_p" CLUSTER INFO | grep -q '^cluster_state:ok'; do
			_n=$((_n + 1))
			[ $_n -gt 200 ] && { echo "cluster did not come up" >&2; return 1; }
			sleep 0.1
		done
	done
}

redis_ipv6_ok() {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); s.close()' 2>/dev/null
}

start_redis_cluster_ipv6() {
	REDIS_CLUSTER_PORTS=
	for _i in 1 2; do
		_p=$(_redis_cluster_port)
		_redis_spawn "$TRASH/cluster6-$_i" "$_p" --cluster-enabled yes --cluster-announce-ip ::1 \
			--cluster-config-file "$TRASH/cluster6-$_i/nodes.conf" --cluster-node-timeout 5000 || return 1
		REDIS_CLUSTER_PORTS="$REDIS_CLUSTER_PORTS $_p"
	done
	set -- $REDIS_CLUSTER_PORTS
	REDIS_CLUSTER_PORTS="$1 $2"
	REDIS_CLUSTER_URL=redis://127.0.0.1:$1
	redis-cli -p "$1" CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null &&
	redis-cli -p "$1" CLUSTER MEET ::1 "$2" >/dev/null || return 1
	# up when each node counts both and calls the cluster ok
	_n=0
	for _p in $REDIS_CLUSTER_PORTS; do
		until redis-cli -p "$_p" CLUSTER INFO | grep -q '^cluster_known_nodes:2' &&
			redis-cli -p "$_p" CLUSTER INFO | grep -q '^cluster_state:ok'; do
			_n=$((_n + 1))
			[ $_n -gt 200 ] && { echo "the IPv6 cluster did not come up" >&2; return 1; }
			sleep 0.1
		done
	done
}

start_redis_sentinel() {
	SENTINEL_PORT=$(free_port 55535)
	_sdir=$TRASH/sentinel-$SENTINEL_PORT
	mkdir -p "$_sdir" || return 1
	{
		echo "port $SENTINEL_PORT"
		echo "bind $REDIS_BIND"
		echo "daemonize yes"
		echo "pidfile $_sdir/redis.pid"
		echo "logfile $_sdir/redis.log"
		echo "dir $_sdir"
		echo "sentinel monitor ${2:-mymaster} 127.0.0.1 $1 1"
		echo "sentinel down-after-milliseconds ${2:-mymaster} 2000"
		[ -n "${3:-}" ] && echo "requirepass $3"
	} >"$_sdir/sentinel.conf"
	redis-server "$_sdir/sentinel.conf" --sentinel || return 1
	_redis_kill_at_exit "$_sdir/redis.pid"
	_redis_wait_pidfile "$_sdir/redis.pid" && _redis_wait_ping "$SENTINEL_PORT"
}

cluster_slot_owner() {
	for _p in $REDIS_CLUSTER_PORTS; do
		redis-cli -p "$_p" CLUSTER COUNTKEYSINSLOT "$SLOT" | grep -qv '^0$' && { echo "$_p"; return; }
	done
}
cluster_other_port() { for _p in $REDIS_CLUSTER_PORTS; do test "$_p" = "$1" || { echo "$_p"; return; }; done; }
cluster_node_id() { redis-cli -p "$1" CLUSTER MYID; }

cluster_wait_for_scan() {
	_n=0
	until redis-cli -p "$1" INFO commandstats | grep -q '^cmdstat_scan:' || test $_n -gt 200; do
		sleep 0.05; _n=$((_n + 1))
	done
	redis-cli -p "$1" INFO commandstats | grep -q '^cmdstat_scan:'
}

cluster_migrate_keys() {
	redis-cli -p "$2" CLUSTER SETSLOT "$SLOT" IMPORTING "$(cluster_node_id "$1")" >/dev/null &&
	redis-cli -p "$1" CLUSTER SETSLOT "$SLOT" MIGRATING "$(cluster_node_id "$2")" >/dev/null &&
	_keys=$(redis-cli -p "$1" CLUSTER GETKEYSINSLOT "$SLOT" 1000) &&
	redis-cli -p "$1" MIGRATE 127.0.0.1 "$2" "" 0 5000 KEYS $_keys | grep -q OK
}

cluster_give_slot() {
	_id=$(cluster_node_id "$1") || return 1
	for _p in $REDIS_CLUSTER_PORTS; do
		redis-cli -p "$_p" CLUSTER SETSLOT "$SLOT" NODE "$_id" >/dev/null || return 1
	done
}
