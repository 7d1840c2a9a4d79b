#!/bin/sh
# ops-redisaudit: targets that cannot be audited fail fast with exit 3 and a clear message.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd python3

DEAD=$(free_port)

test_expect_code 3 'nothing listening: exit 3' 'ops-redisaudit "redis://127.0.0.1:$DEAD"'

test_expect_success 'nothing listening: the message names the address' '
	ops-redisaudit --format json "redis://127.0.0.1:$DEAD" >out 2>err; test $? -eq 3 &&
	test_grep "cannot connect to 127.0.0.1:$DEAD" err && test_grep "\"id\": \"connect\"" out
'

# A stub that accepts connections and never answers: the command timeout must end the run.
HANG=$(free_port)
python3 - "$HANG" >/dev/null 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
end = time.time() + 50
while time.time() < end:
    s.settimeout(1)
    try:
        conns.append(s.accept()[0])
    except OSError:
        pass
PY
STUB=$!
test_cleanup_add "kill $STUB"
n=0; while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$HANG" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done

test_expect_success 'a server that never answers: the command timeout ends the run (exit 3)' '
	start=$(date +%s) &&
	run_with_timeout 20 ops-redisaudit --timeout 500ms "redis://127.0.0.1:$HANG" >out 2>err; rc=$?
	test $rc -eq 3 && test $(( $(date +%s) - start )) -lt 10 &&
	test_grep "127.0.0.1:$HANG" err
'

test_expect_code 3 'rediss:// to a closed port: exit 3' 'ops-redisaudit rediss://127.0.0.1:1'
test_expect_success 'rediss:// to a closed port: the message says TLS and why' '
	! ops-redisaudit rediss://127.0.0.1:1 2>err && test_grep "cannot connect to 127.0.0.1:1 over TLS: Connection refused" err
'
test_expect_code 3 'TLS to a socket path is refused' 'ops-redisaudit --tls /tmp/nosuch.sock'
test_expect_code 3 'a bare word that is no configured target' 'ops-redisaudit nosuchtarget'
test_expect_code 3 'two targets at once' 'ops-redisaudit redis://127.0.0.1:1 redis://127.0.0.1:2'
test_expect_code 3 'a malformed database number' 'ops-redisaudit redis://127.0.0.1:6379/x'

for bad in "--count 0" "--count x" "--count 100001" "--sample 0" "--sample 1.5" "--rate -1" "--timeout 0" \
	"--big-key 12Q" "--depth 0" "--jobs 0" "--delimiters ''"; do
	test_expect_code 3 "usage error: $bad" "ops-redisaudit $bad redis://127.0.0.1:$DEAD"
done

test_expect_success 'an unknown key in the redis section is a located config error' '
	printf "redis:\n  prefix:\n    dept: 3\n" >bad.yaml &&
	ops-redisaudit --config bad.yaml 2>err; test $? -eq 3 &&
	test_grep "bad.yaml:3:" err
'

test_expect_success 'an out-of-range value in the redis section is located' '
	printf "redis:\n  count: 0\n" >zero.yaml &&
	ops-redisaudit --config zero.yaml "redis://127.0.0.1:$DEAD" 2>err; test $? -eq 3 &&
	test_grep "zero.yaml:2:.*redis.count must be from 1 to 100000" err
'

test_expect_success 'the default target comes from the first configured target' '
	printf "redis:\n  targets:\n    one:\n      url: redis://127.0.0.1:$DEAD\n" >one.yaml &&
	ops-redisaudit --config one.yaml 2>err; test $? -eq 3 &&
	test_grep "127.0.0.1:$DEAD" err
'

test_done
