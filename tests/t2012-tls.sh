#!/bin/sh
# ops-redisaudit over TLS (rediss://, --tls, --ca-file, --cert/--key, --sni, config keys):
# against redis-server --tls-port with a throwaway CA; verification is on by default.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3 openssl

start_redis_tls || { echo "Bail out! redis-server with TLS did not start"; exit 1; }
rcli EVAL "for i = 1, 2500 do redis.call('SET', 'k:' .. i, 'x') end return 1" 0 >/dev/null
rcli ACL SETUSER tu on ">tls-Pa55" "~*" "+@all" >/dev/null


test_expect_success 'rediss:// with --ca-file: every key, complete' '
	ops-redisaudit --format json --count 100 --ca-file "$REDIS_TLS_CA" "$REDIS_TLS_URL" >ok.json 2>ok.err; test $? -le 2 &&
	test "$(json_get ok.json "d[\"totals\"][\"keys\"], d[\"complete\"], d[\"target\"]")" = \
		"(2500, True, '"'"'rediss://127.0.0.1:$REDIS_TLS_PORT/0'"'"')"
'

test_expect_success '--tls with a redis:// URL, user and password; the password never shown' '
	ops-redisaudit --format json --tls --ca-file "$REDIS_TLS_CA" "redis://tu:tls-Pa55@127.0.0.1:$REDIS_TLS_PORT" >u.json 2>u.err; test $? -le 2 &&
	test "$(json_get u.json "d[\"totals\"][\"keys\"]")" = 2500 &&
	test_grep_not "tls-Pa55" u.json u.err
'

test_expect_success 'a wrong CA: a clear error, exit 3' '
	ops-redisaudit --format json --ca-file "$REDIS_TLS_OTHER_CA" "$REDIS_TLS_URL" >bad.json 2>bad.err; test $? -eq 3 &&
	test_grep "\"id\": \"connect\"" bad.json &&
	test_grep "over TLS: TLS handshake failed: certificate verify failed" bad.json
'

test_expect_success 'verification is on by default (the system store does not know the CA)' '
	ops-redisaudit --format json "$REDIS_TLS_URL" >def.json 2>def.err; test $? -eq 3 &&
	test_grep "certificate verify failed" def.json
'

test_expect_success '--sni: the name is verified against the certificate' '
	ops-redisaudit --format json --ca-file "$REDIS_TLS_CA" --sni redis.test "$REDIS_TLS_URL" >sni.json; test $? -le 2 &&
	test "$(json_get sni.json "d[\"totals\"][\"keys\"]")" = 2500 &&
	{ ops-redisaudit --format json --ca-file "$REDIS_TLS_CA" --sni wrong.test "$REDIS_TLS_URL" >wsni.json; test $? -eq 3; } &&
	test_grep "certificate verify failed" wsni.json
'

test_expect_success 'a client certificate (--cert/--key); --cert without --key is refused' '
	ops-redisaudit --format json --ca-file "$REDIS_TLS_CA" --cert "$REDIS_TLS_CLIENT_CERT" \
		--key "$REDIS_TLS_CLIENT_KEY" "$REDIS_TLS_URL" >cc.json; test $? -le 2 &&
	test "$(json_get cc.json "d[\"totals\"][\"keys\"]")" = 2500 &&
	{ ops-redisaudit --format json --ca-file "$REDIS_TLS_CA" --cert "$REDIS_TLS_CLIENT_CERT" "$REDIS_TLS_URL" >nk.json; test $? -eq 3; } &&
	test_grep "cert and --key go together" nk.json
'

test_expect_success 'TLS settings of a configured target' '
	cat >tls.yaml <<-EOF &&
	redis:
	  targets:
	    secure:
	      url: redis://127.0.0.1:$REDIS_TLS_PORT
	      tls: true
	      ca_file: $REDIS_TLS_CA
	      sni: redis.test
	EOF
	{ ops-redisaudit --config tls.yaml --format json secure >cfg.json; test $? -le 2; } &&
	test "$(json_get cfg.json "d[\"totals\"][\"keys\"]")" = 2500
'

test_expect_success 'plaintext to the TLS port fails within the timeout' '
	start=$(date +%s) &&
	{ ops-redisaudit --timeout 1s "redis://127.0.0.1:$REDIS_TLS_PORT" >pt.out 2>pt.err; test $? -eq 3; } &&
	test $(( $(date +%s) - start )) -le 5
'

test_expect_success 'a TLS server that does not answer: the handshake times out' '
	python3 -c "
import socket, time
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(1)
open(\"mute.port\", \"w\").write(str(s.getsockname()[1]))
time.sleep(6)" &
	mpid=$! && n=0 && while ! test -s mute.port && test $n -lt 50; do sleep 0.1; n=$((n + 1)); done &&
	start=$(date +%s) &&
	{ ops-redisaudit --timeout 1s --ca-file "$REDIS_TLS_CA" "rediss://127.0.0.1:$(cat mute.port)" >mute.out 2>mute.err; rc=$?; } || { kill $mpid 2>/dev/null; exit 1; }
	kill $mpid 2>/dev/null
	test $rc -eq 3 && test $(( $(date +%s) - start )) -le 4 &&
	test_grep "TLS handshake failed: no answer within 1000 ms" mute.err
'

test_done
