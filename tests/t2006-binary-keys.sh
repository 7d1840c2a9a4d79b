#!/bin/sh
# ops-redisaudit: binary key names (newlines, quotes, 0xff, NUL, tabs) are examined
# binary-safely and escaped in every format.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }

# Written over RESP from Python: redis-cli cannot send a NUL byte.
python3 - "$REDIS_PORT" <<'PY' || { echo "Bail out! could not write binary keys"; exit 1; }
import socket, sys
keys = [b'bin:new\nline', b'bin:"quoted"', b'bin:\xff\xfe', b'bin:tab\there', b'bin:nul\x00byte',
        b"bin:back\\slash", b'plain:1']
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
out = b""
for k in keys:
    v = b"x" * 2000
    out += b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v)
s.sendall(out)
got = b""
while got.count(b"+OK\r\n") < len(keys):
    chunk = s.recv(4096)
    if not chunk:
        sys.exit(1)
    got += chunk
PY


test_expect_success 'every binary key is examined (TYPE/MEMORY/PTTL found it)' '
	ops-redisaudit --format json --big-key 1k "$REDIS_URL" >out.json; test $? -le 2 &&
	test "$(json_get out.json "d[\"totals\"][\"keys\"], d[\"totals\"][\"vanished\"], d[\"totals\"][\"types\"][\"string\"]")" = "(7, 0, 7)"
'

test_expect_success 'JSON keeps the exact names (invalid UTF-8 as Latin-1 code points)' '
	python3 - out.json <<-"PY"
	import json, sys
	d = json.load(open(sys.argv[1]))
	names = sorted(k["key"] for k in d["top_keys"])
	want = sorted(["bin:new\nline", "bin:\"quoted\"", "bin:\u00ff\u00fe", "bin:tab\there",
	               "bin:nul\u0000byte", "bin:back\\slash", "plain:1"])
	assert names == want, (names, want)
	PY
'

test_expect_success 'text escapes control bytes and 0xff, one line per key' '
	ops-redisaudit --big-key 1k "$REDIS_URL" >out.txt; test $? -le 2 &&
	test_grep "bin:new\\\\nline" out.txt &&
	test_grep "bin:\\\\xff\\\\xfe" out.txt &&
	test_grep "bin:nul\\\\x00byte" out.txt &&
	test_grep "bin:tab\\\\there" out.txt &&
	test_grep_not "^line" out.txt &&
	! LC_ALL=C grep -q "$(printf "\377")" out.txt
'

test_expect_success 'check subjects and messages show control bytes as control pictures' '
	ops-redisaudit --format nagios --big-key 1k "$REDIS_URL" >out.nagios; test $? -le 2 &&
	test_grep "bin:new␊line" out.nagios && test_grep "bin:tab␉here" out.nagios &&
	test_grep "bin:nul␀byte" out.nagios &&
	! LC_ALL=C grep -q "$(printf "\377")" out.nagios &&
	test "$(wc -l <out.nagios)" -lt 20 &&
	{ ops-redisaudit --format prometheus --big-key 1k "$REDIS_URL" >out.prom; test $? -le 2; } &&
	! LC_ALL=C grep -q "$(printf "\377")" out.prom &&
	test_grep_not "^line" out.prom &&
	{ ops-redisaudit --big-key 1k "$REDIS_URL" >out2.txt; test $? -le 2; } &&
	test_grep "^WARNING  *big-key  *bin:new␊line  *string key \"bin:new␊line\" on" out2.txt
'

test_expect_success 'the JSON check subjects carry them too' '
	test "$(json_get out.json "sorted(c[\"subject\"] for c in d[\"checks\"] if c[\"id\"] == \"big-key\")")" = \
		"$(python3 -c "print(sorted([\"bin:new\u240aline\", \"bin:\\\"quoted\\\"\", \"bin:\u00ff\u00fe\", \"bin:tab\u2409here\", \"bin:nul\u2400byte\", \"bin:back\\\\slash\", \"plain:1\"]))")"
'

test_done
