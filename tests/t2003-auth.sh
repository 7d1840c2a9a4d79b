#!/bin/sh
# ops-redisaudit: AUTH from the URL, the config and REDISCLI_AUTH; ACL users and the default
# user (a password alone, or an empty username), named so when refused; the password never
# reaches any output.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"

PASS='s3cr3t-Pa55word'
USERPASS='aud1tor-Secret'
start_redis --requirepass "$PASS" --acl-user auditor "$USERPASS" ||
	{ echo "Bail out! redis-server did not start"; exit 1; }
rcli SET k:1 v >/dev/null && rcli SET k:2 v >/dev/null

no_secret() {
	for f in "$@"; do
		if grep -e "$PASS" -e "$USERPASS" "$f"; then echo "secret leaked into $f"; return 1; fi
	done
}

test_expect_success 'password in the URL' '
	ops-redisaudit --format json "redis://:$PASS@127.0.0.1:$REDIS_PORT" >out 2>err; test $? -le 2 &&
	test_grep "\"keys\": 2," out && no_secret out err
'

test_expect_success 'password from REDISCLI_AUTH' '
	REDISCLI_AUTH=$PASS ops-redisaudit --format json "$REDIS_URL" >out 2>err; test $? -le 2 &&
	test_grep "\"keys\": 2," out && no_secret out err
'

test_expect_success 'ACL user and password in the URL' '
	ops-redisaudit --format json "redis://auditor:$USERPASS@127.0.0.1:$REDIS_PORT/0" >out 2>err; test $? -le 2 &&
	test_grep "\"keys\": 2," out && no_secret out err &&
	rcli ACL LOG | grep -v auditor >/dev/null
'

test_expect_success 'a URL password is percent-decoded (@ : / % in it) and never printed' '
	rcli ACL SETUSER odd on ">p@ss:w/rd%9-Secret" "~*" "&*" +@all >/dev/null &&
	{ ops-redisaudit --format json "redis://odd:p%40ss%3Aw%2Frd%259-Secret@127.0.0.1:$REDIS_PORT" >odd.json 2>odd.err
		test $? -le 2; } &&
	test_grep "\"keys\": 2," odd.json &&
	for f in odd.json odd.err; do test_grep_not "9-Secret\|p%40ss\|p@ss" $f || return 1; done
'

test_expect_success 'ACL user and password from a config target (password from ${VAR})' '
	cat >cfg.yaml <<-EOF &&
	redis:
	  targets:
	    cache:
	      url: redis://127.0.0.1:$REDIS_PORT
	      username: auditor
	      password: \${AUDIT_PASS}
	EOF
	{ AUDIT_PASS=$USERPASS ops-redisaudit --config cfg.yaml --format json cache >out 2>err; test $? -le 2; } &&
	test_grep "\"keys\": 2," out && no_secret out err &&
	{ AUDIT_PASS=$USERPASS ops-redisaudit --config cfg.yaml --format json >out2 2>err2; test $? -le 2; } &&
	test_grep "\"keys\": 2," out2
'

test_expect_success 'no password: exit 3 with an UNKNOWN connect check' '
	ops-redisaudit --format json "$REDIS_URL" >out 2>err; test $? -eq 3 &&
	test_grep "\"id\": \"connect\"" out && test_grep "NOAUTH\|Authentication required" out
'

test_expect_success 'a wrong password: exit 3, and neither password is printed in any format' '
	for f in text json prometheus nagios; do
		ops-redisaudit --format $f "redis://auditor:$PASS@127.0.0.1:$REDIS_PORT" >out.$f 2>err.$f
		test $? -eq 3 || return 1
		no_secret out.$f err.$f || return 1
	done &&
	test_grep "authentication as auditor failed" err.text &&
	test_grep "WRONGPASS" out.json
'

# AUTH with a password alone logs in as the default user: the message says so (it said
# "authentication as  failed", an empty name, when the config's username was "").
default_user_refused() {
	test_grep "127.0.0.1:$REDIS_PORT: authentication failed (default user): WRONGPASS" "$1" &&
	test_grep_not "authentication as" "$1"
}

test_expect_success 'a wrong password for the default user: named so, in every format, no password' '
	for f in text json prometheus nagios; do
		ops-redisaudit --format $f "redis://:$USERPASS@127.0.0.1:$REDIS_PORT" >dflt.$f 2>dflt.err.$f
		test $? -eq 3 || return 1
		no_secret dflt.$f dflt.err.$f || return 1
	done &&
	default_user_refused dflt.err.text && default_user_refused dflt.json &&
	{ REDISCLI_AUTH=$USERPASS ops-redisaudit "$REDIS_URL" >env.out 2>env.err; test $? -eq 3; } &&
	default_user_refused env.err && no_secret env.out env.err
'

test_expect_success 'a config username set empty is the default user (its password works, a wrong one is named so)' '
	cat >empty-user.yaml <<-EOF &&
	redis:
	  targets:
	    cache:
	      url: redis://127.0.0.1:$REDIS_PORT
	      username: ""
	      password: \${TRY_PASS}
	EOF
	{ TRY_PASS=$PASS ops-redisaudit --config empty-user.yaml --format json cache >eu.json 2>eu.err; test $? -le 2; } &&
	test_grep "\"keys\": 2," eu.json && no_secret eu.json eu.err &&
	{ TRY_PASS=$USERPASS ops-redisaudit --config empty-user.yaml cache >ew.out 2>ew.err; test $? -eq 3; } &&
	default_user_refused ew.err && no_secret ew.out ew.err
'

test_expect_success '-v shows OK hints too, never a password (URL, config, REDISCLI_AUTH)' '
	ops-redisaudit -v "redis://auditor:$USERPASS@127.0.0.1:$REDIS_PORT" >v.url 2>v.url.err; test $? -le 2 &&
	{ AUDIT_PASS=$USERPASS ops-redisaudit -v --config cfg.yaml cache >v.cfg 2>v.cfg.err; test $? -le 2; } &&
	{ REDISCLI_AUTH=$PASS ops-redisaudit -v --format json "$REDIS_URL" >v.env 2>v.env.err; test $? -le 2; } &&
	{ REDISCLI_AUTH=wrong-$PASS ops-redisaudit -v "$REDIS_URL" >v.bad 2>v.bad.err; test $? -eq 3; } &&
	test_grep "keyspace" v.url && test_grep "keyspace" v.cfg &&
	no_secret v.url v.url.err v.cfg v.cfg.err v.env v.env.err v.bad v.bad.err
'

test_expect_success 'a password in a malformed URL is not echoed either' '
	ops-redisaudit "redis://u:$PASS@127.0.0.1:notaport" >out 2>err; test $? -eq 3 &&
	no_secret out err && test_grep "malformed host:port" err
'

test_expect_success 'a password in a target that is no URL (scheme missing or mistyped) is not echoed' '
	{ ops-redisaudit "u:$PASS@127.0.0.1:$REDIS_PORT" >out 2>err; test $? -eq 3; } &&
	no_secret out err && test_grep "is neither a redis:// URL" err &&
	{ ops-redisaudit --format json "redis:/u:$PASS@127.0.0.1:$REDIS_PORT" >out 2>err; test $? -eq 3; } &&
	no_secret out err && test_grep "cannot connect to redis:/u:\*\*\*@" out
'

test_expect_success 'a least-privilege ACL user can audit; what it may not read is UNKNOWN' '
	rcli ACL SETUSER minimal on ">min-Pa55" "~*" +scan +type "+memory|usage" +pttl +xlen +dbsize >/dev/null &&
	{ ops-redisaudit --format json "redis://minimal:min-Pa55@127.0.0.1:$REDIS_PORT" >min.json 2>min.err; test $? -eq 3; } &&
	test_grep "\"keys\": 2," min.json && test_grep "\"complete\": true" min.json &&
	test_grep "cannot tell who calls KEYS: the server refused" min.json &&
	test_grep "INFO did not report maxmemory" min.json
'

test_expect_success 'MEMORY USAGE refused: the keyspace check is UNKNOWN and says why' '
	rcli ACL SETUSER nomem on ">nm-Pa55" "~*" +scan +type +pttl +xlen +dbsize +info "+slowlog|get" "+client|list" >/dev/null &&
	{ ops-redisaudit --format json "redis://nomem:nm-Pa55@127.0.0.1:$REDIS_PORT" >nomem.json 2>nomem.err; test $? -eq 3; } &&
	test_grep "refused MEMORY USAGE for 2 keys" nomem.json && test_grep "\"keys\": 2," nomem.json
'

test_expect_success 'the recommended ACL (+info +slowlog|get +client|list) gives every check' '
	rcli ACL SETUSER audit on ">aud-Pa55" "~*" +scan +type "+memory|usage" +pttl +xlen +dbsize \
		+info "+slowlog|get" "+client|list" "+config|get" >/dev/null &&
	{ ops-redisaudit --format json "redis://audit:aud-Pa55@127.0.0.1:$REDIS_PORT" >rec.json 2>rec.err; test $? -le 2; } &&
	test_grep_not "refused" rec.json
'

test_done
