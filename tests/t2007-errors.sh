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
	{ run_with_timeout 20 ops-redisaudit --timeout 500ms "redis://127.0.0.1:$HANG" >out 2>err; rc=$?; } &&
	test $rc -eq 3 && test $(( $(date +%s) - start )) -lt 10 &&
	test_grep "127.0.0.1:$HANG" err
'

test_expect_code 3 'rediss:// to a closed port: exit 3' 'ops-redisaudit rediss://127.0.0.1:1'
test_expect_success 'rediss:// to a closed port: the message says TLS and why' '
	! ops-redisaudit rediss://127.0.0.1:1 2>err && test_grep "cannot connect to 127.0.0.1:1 over TLS: Connection refused" err
'
test_expect_code 3 'TLS to a socket path is refused' 'ops-redisaudit --tls /tmp/nosuch.sock'

# Usage errors against a live server: exit 3 can then only come from the usage error,
# and its message must say which option or argument is wrong.
. "$TEST_LIB/redis.sh"
start_redis || { echo "Bail out! redis-server did not start"; exit 1; }

test_expect_success 'the live server is audited with valid options (exit 0 or 1)' '
	ops-redisaudit --count 10 --sample 1 --rate 0 --depth 1 --jobs 1 "$REDIS_URL" >out 2>err
	test $? -le 1 && ! test -s err
'

test_expect_success 'a bare word that is no configured target' '
	ops-redisaudit nosuchtarget >out 2>err; test $? -eq 3 &&
	grep -F "\"nosuchtarget\" is neither a redis:// URL, a socket path nor a configured target" err
'
test_expect_success 'two targets at once' '
	ops-redisaudit "$REDIS_URL" "$REDIS_URL/1" >out 2>err; test $? -eq 3 &&
	test_grep "one target at a time (got 2)" err && test_grep "^usage: ops-redisaudit" err
'
test_expect_success 'a malformed database number' '
	ops-redisaudit "$REDIS_URL/x" >out 2>err; test $? -eq 3 &&
	test_grep "malformed database number" err
'

# OPTION|VALUE|the error (fixed string), followed by the usage
while IFS='|' read -r opt value msg; do
	test_expect_success "usage error: $opt '$value'" "
		ops-redisaudit $opt '$value' \"\$REDIS_URL\" >out 2>err; test \$? -eq 3 &&
		grep -F -e '$msg' err && test_grep '^usage: ops-redisaudit' err &&
		test_grep_not 'cannot connect' err && ! test -s out
	"
done <<'EOF'
--count|0|--count: must be from 1 to 100000, not 0
--count|x|--count: "x" is not a whole number
--count|100001|--count: must be from 1 to 100000, not 100001
--sample|0|--sample: needs a fraction in (0, 1], not "0"
--sample|1.5|--sample: needs a fraction in (0, 1], not "1.5"
--rate|-1|--rate: must be at least 0, not -1
--timeout|0|--timeout: must be at least 1ms, not 0
--big-key|12Q|--big-key: "12Q" is not a size in bytes (1048576, 512k, 10MiB)
--depth|0|--depth: must be from 1 to 64, not 0
--jobs|0|--jobs: must be from 1 to 1024, not 0
--delimiters||--delimiters: needs at least one character
EOF

test_expect_success 'an unknown key in the redis section is a located config error' '
	printf "redis:\n  prefix:\n    dept: 3\n" >bad.yaml &&
	{ ops-redisaudit --config bad.yaml 2>err; test $? -eq 3; } &&
	test_grep "bad.yaml:3:" err
'

test_expect_success 'an out-of-range value in the redis section is located' '
	printf "redis:\n  count: 0\n" >zero.yaml &&
	{ ops-redisaudit --config zero.yaml "redis://127.0.0.1:$DEAD" 2>err; test $? -eq 3; } &&
	test_grep "zero.yaml:2:.*redis.count must be from 1 to 100000" err
'

test_expect_success 'the default target comes from the first configured target' '
	printf "redis:\n  targets:\n    one:\n      url: redis://127.0.0.1:$DEAD\n" >one.yaml &&
	{ ops-redisaudit --config one.yaml 2>err; test $? -eq 3; } &&
	test_grep "127.0.0.1:$DEAD" err
'

# A password shorter than 4 bytes is not registered (it would blank ordinary words): in a
# spec that is no URL only the spec's own structure can mask it.
test_expect_success 'a short password in a target that is no URL is masked where the spec is echoed' '
	{ ops-redisaudit "u:pw1@127.0.0.1:$DEAD" >out 2>err; test $? -eq 3; } &&
	test_grep "\"u:\*\*\*@127.0.0.1:$DEAD\" is neither a redis:// URL" err &&
	{ ops-redisaudit --format json "redis:/u:pw1@127.0.0.1:$DEAD" >out 2>err; test $? -eq 3; } &&
	test_grep "cannot connect to redis:/u:\*\*\*@127.0.0.1:$DEAD" out &&
	! grep -e pw1 out err
'

test_done
