#!/bin/sh
# No secret out, as a property: random secrets, new each run, enter through every channel
# a secret can take (DSN and URL passwords, PGPASSWORD, REDISCLI_AUTH, config values
# expanded from the environment, --*-creds, creds files, docker config.json, a credential
# helper, an identity token, .env secrets, ${VAR} from the environment, schema secret:
# true); every tool runs in every format with -v and -vv and -o, on success and on its
# failure paths (wrong password, server down, stalled socket); then no secret may appear in
# any stdout, stderr, report file or git tag message, plain or base64. A hit names the
# channel and the run. tests/lib/no-secret.sh plants, runs and searches. (envcheck --fix
# --backup's FILE.bak is the user's own file: it must keep its mode, 0600, and is not
# searched.)
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/faults.sh"
. "$TEST_LIB/no-secret.sh"
test_require_cmd python3 git

# ---- ops-pgprobe ----
if command -v psql >/dev/null && . "$TEST_LIB/postgres.sh" && start_postgres; then
	plant PG_PASS "DSN password (right)"
	plant PG_URL_PASS "postgresql:// URL password (wrong)"
	plant PG_ENV_PASS "PGPASSWORD (wrong)"
	plant PG_CFG_PASS "config dsn password from \${PGPROBE_PASSWORD}"
	pg_sql "ALTER ROLE \"$PG_PW_USER\" PASSWORD '$PG_PASS'" >/dev/null
	DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=$PG_PW_USER"
	printf 'postgres:\n  targets:\n    db:\n      dsn: "%s password=${PGPROBE_PASSWORD:-}"\n' "$DSN" >pg.yaml
	DEAD=$(free_port)
	start_fault_tcp_proxy "$PG_PORT" 600 && fault_rule "stall-at up SELECT"
	test_expect_success 'pgprobe: every format, success and failure paths' '
		run_every_way pgprobe.ok ops-pgprobe "$DSN password=$PG_PASS" && exits_are pgprobe.ok 0 1 &&
		run_every_way pgprobe.url ops-pgprobe "postgresql://$PG_PW_USER:$PG_URL_PASS@127.0.0.1:$PG_PORT/postgres" &&
		exits_are pgprobe.url 2 &&
		PGPASSWORD=$PG_ENV_PASS run_every_way pgprobe.env ops-pgprobe "$DSN" && exits_are pgprobe.env 2 &&
		PGPROBE_PASSWORD=$PG_CFG_PASS run_every_way pgprobe.cfg ops-pgprobe --config pg.yaml db && exits_are pgprobe.cfg 2 &&
		run_every_way pgprobe.down ops-pgprobe "host=127.0.0.1 port=$DEAD user=x password=$PG_PASS" && exits_are pgprobe.down 2 &&
		run_every_way pgprobe.stalled ops-pgprobe --timeout 1s \
			"host=127.0.0.1 port=$FAULT_TCP_PORT dbname=postgres user=$PG_PW_USER password=$PG_PASS sslmode=disable" &&
		exits_are pgprobe.stalled 2
	'
else
	test_skip 'pgprobe: every format, success and failure paths' 'PostgreSQL did not start'
fi

# ---- ops-redisaudit ----
if command -v redis-server >/dev/null && . "$TEST_LIB/redis.sh"; then
	plant R_PASS "redis requirepass in the URL (right)"
	plant R_ACL "redis ACL user password in the URL (right)"
	plant R_WRONG "redis URL password (wrong)"
	plant R_ENV "REDISCLI_AUTH (wrong)"
	plant R_CFG "redis config password from \${REDIS_AUDIT_PASSWORD}"
	start_redis --requirepass "$R_PASS" --acl-user auditor "$R_ACL" sec && rcli SET session:1 v >/dev/null
	printf 'redis:\n  targets:\n    r:\n      url: redis://127.0.0.1:%s/0\n      username: auditor\n      password: ${REDIS_AUDIT_PASSWORD:-}\n' \
		"$REDIS_PORT" >redis.yaml
	start_fault_tcp_proxy "$REDIS_PORT" 600 && fault_rule "stall-at up SCAN"
	test_expect_success 'redisaudit: every format, success and failure paths' '
		run_every_way redisaudit.ok ops-redisaudit "redis://:$R_PASS@127.0.0.1:$REDIS_PORT" && exits_are redisaudit.ok 0 1 2 &&
		run_every_way redisaudit.acl ops-redisaudit "redis://auditor:$R_ACL@127.0.0.1:$REDIS_PORT" && exits_are redisaudit.acl 0 1 2 &&
		run_every_way redisaudit.wrong ops-redisaudit "redis://auditor:$R_WRONG@127.0.0.1:$REDIS_PORT" && exits_are redisaudit.wrong 3 &&
		REDISCLI_AUTH=$R_ENV run_every_way redisaudit.env ops-redisaudit "redis://127.0.0.1:$REDIS_PORT" && exits_are redisaudit.env 3 &&
		REDIS_AUDIT_PASSWORD=$R_CFG run_every_way redisaudit.cfg ops-redisaudit --config redis.yaml r && exits_are redisaudit.cfg 3 &&
		run_every_way redisaudit.down ops-redisaudit "redis://:$R_PASS@127.0.0.1:$(free_port)" && exits_are redisaudit.down 3 &&
		run_every_way redisaudit.stalled ops-redisaudit --timeout 1s "redis://:$R_PASS@127.0.0.1:$FAULT_TCP_PORT" &&
		exits_are redisaudit.stalled 3
	'
else
	test_skip 'redisaudit: every format, success and failure paths' 'redis-server is not installed'
fi

# ---- ops-envcheck ----
plant E_DOTENV "a .env value of a secret-named key"
plant E_TOKEN "a .env token value"
plant E_SCHEMA "a .env value of a schema secret: true key"
plant E_FROM_ENV "a value expanded from the environment (\${CI_TOKEN})"
plant E_BAD "a secret in a line the loader refuses"
printf 'DB_PASSWORD=%s\nAPI_TOKEN="%s"\nMY_SETTING=%s\nFROM_CI=${CI_TOKEN}\nDSN=postgres://u:%s@db/app\n' \
	"$E_DOTENV" "$E_TOKEN" "$E_SCHEMA" "$E_DOTENV" >app.env
printf 'keys:\n  MY_SETTING: {secret: true, min_length: 200}\n  DB_PASSWORD: {secret: true}\n' >schema.yaml
printf 'DB_PASSWORD=\nAPI_TOKEN=\nMY_SETTING=\nOTHER=\n' >app.env.example
printf 'DB_PASSWORD="%s\nNEXT=1\n' "$E_BAD" >broken.env
chmod 644 app.env broken.env
test_expect_success 'envcheck: every format, lint, schema, compare, print, fix' '
	CI_TOKEN=$E_FROM_ENV run_every_way envcheck.lint ops-envcheck --no-git app.env && exits_are envcheck.lint 1 2 &&
	CI_TOKEN=$E_FROM_ENV run_every_way envcheck.schema ops-envcheck --no-git --schema schema.yaml app.env && exits_are envcheck.schema 2 &&
	run_every_way envcheck.compare ops-envcheck --no-git compare app.env app.env.example && exits_are envcheck.compare 1 2 &&
	run_every_way envcheck.broken ops-envcheck --no-git broken.env && exits_are envcheck.broken 2 &&
	run_one envcheck.print ops-envcheck --schema schema.yaml print app.env && exits_are envcheck.print 0 &&
	cp app.env fix.env && chmod 600 fix.env &&
	run_one envcheck.fix ops-envcheck -v --no-git --schema schema.yaml --fix --backup fix.env &&
	exits_are envcheck.fix 0 1 2 &&
	run_one envcheck.dryrun ops-envcheck -v --no-git --schema schema.yaml --fix --dry-run app.env &&
	exits_are envcheck.dryrun 0 1 2 &&
	test "$(stat -c %a fix.env.bak)" = 600
'

# ---- ops-promote ----
if command -v docker-registry >/dev/null && command -v skopeo >/dev/null && command -v htpasswd >/dev/null &&
	. "$TEST_LIB/registry.sh"; then
	plant REG_PASS "registry password (--src-creds, creds file, config.json, helper)"
	plant REG_REFRESH_TOKEN "identitytoken (bearer refresh token) in config.json"
	plant P_WRONG "registry password (wrong, --dest-creds)"
	plant P_HELPER_WRONG "credential helper output (wrong)"
	start_registry c basic && start_registry t token
	C=$REG_C T=$REG_T
	HOME=$TRASH/home && mkdir -p "$HOME/bin" && export HOME
	unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR DOCKER_CONFIG OPSKIT_SRC_CREDS OPSKIT_DEST_CREDS
	printf '#!/bin/sh\ncat >/dev/null\nprintf "{\\"Username\\":\\"%s\\",\\"Secret\\":\\"%s\\"}\\n"\n' "$REG_USER" "$REG_PASS" \
		>"$HOME/bin/docker-credential-mk" &&
	printf '#!/bin/sh\ncat >/dev/null\nprintf "{\\"Username\\":\\"%s\\",\\"Secret\\":\\"%s\\"}\\n"\n' "$REG_USER" "$P_HELPER_WRONG" \
		>"$HOME/bin/docker-credential-bad" &&
	chmod +x "$HOME/bin/docker-credential-mk" "$HOME/bin/docker-credential-bad"
	PATH=$HOME/bin:$PATH
	mkdir -p dc-auth dc-helper dc-bad dc-idt
	printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$C" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" >dc-auth/config.json
	printf '{"credHelpers":{"%s":"mk"}}\n' "$C" >dc-helper/config.json
	printf '{"credHelpers":{"%s":"bad"}}\n' "$C" >dc-bad/config.json
	printf '{"auths":{"%s":{"auth":"%s","identitytoken":"%s"}}}\n' "$T" "$(printf '<token>:' | base64)" \
		"$REG_REFRESH_TOKEN" >dc-idt/config.json
	printf '%s:%s\n' "$REG_USER" "$REG_PASS" >creds && chmod 600 creds
	git init -q -b main repo && git -C repo -c user.name=T -c user.email=t@e commit -q --allow-empty -m x &&
	REV=$(git -C repo rev-parse HEAD)
	start_fault_tcp_proxy "${C##*:}" 600 && fault_rule "stall-at up /v2/"
	test_expect_success 'promote: every format, every credential channel, failure paths, the git tag' '
		make_test_image img pr-1 1 1024 "$REV" >/dev/null &&
		push_test_image img pr-1 $C/app:pr-1 --dest-creds "$REG_USER:$REG_PASS" &&
		push_test_image img pr-1 $T/app:pr-1 --dest-creds "$REG_USER:$REG_PASS" &&
		run_every_way promote.creds ops-promote --src-creds "$REG_USER:$REG_PASS" --dest-creds "$REG_USER:$REG_PASS" \
			--git-repo repo --record-tag $C/app:pr-1 $C/app:tagged && exits_are promote.creds 0 &&
		run_every_way promote.wrong ops-promote --src-creds "$REG_USER:$REG_PASS" --dest-creds "$REG_USER:$P_WRONG" \
			$C/app:pr-1 $C/app:w && exits_are promote.wrong 2 &&
		run_every_way promote.file ops-promote --src-creds-file creds --dest-creds-file creds $C/app:pr-1 $C/app:f &&
		exits_are promote.file 0 &&
		DOCKER_CONFIG=$TRASH/dc-auth run_every_way promote.auth ops-promote $C/app:pr-1 $C/app:a && exits_are promote.auth 0 &&
		DOCKER_CONFIG=$TRASH/dc-helper run_every_way promote.helper ops-promote $C/app:pr-1 $C/app:h && exits_are promote.helper 0 &&
		DOCKER_CONFIG=$TRASH/dc-bad run_every_way promote.badhelper ops-promote $C/app:pr-1 $C/app:b && exits_are promote.badhelper 2 &&
		DOCKER_CONFIG=$TRASH/dc-idt run_every_way promote.token ops-promote $T/app:pr-1 $T/app:i && exits_are promote.token 0 &&
		run_every_way promote.down ops-promote --src-creds "$REG_USER:$REG_PASS" 127.0.0.1:$(free_port)/app:1 $C/app:d &&
		exits_are promote.down 2 3 &&
		run_every_way promote.stalled ops-promote --timeout 1s --retries 0 --src-creds "$REG_USER:$REG_PASS" \
			127.0.0.1:$FAULT_TCP_PORT/app:pr-1 127.0.0.1:$FAULT_TCP_PORT/app:s && exits_are promote.stalled 2 3 &&
		for t in $(git -C repo tag -l); do git -C repo cat-file tag "$t"; done >"$NS_OUT/git-tags.txt" &&
		test -s "$NS_OUT/git-tags.txt"
	'
else
	test_skip 'promote: every format, every credential channel, failure paths, the git tag' \
		'docker-registry, skopeo or htpasswd is not installed'
fi

test_expect_success 'no secret in any stdout, stderr, report file or git tag message' '
	say "$(ls "$TRASH/ns-planted" | wc -l) secrets, $(ls "$NS_OUT" | wc -l) files" &&
	no_secret_in "$NS_OUT"
'

test_expect_success 'the search finds a planted secret, plain and base64' '
	search_finds "$E_TOKEN"
'

test_done
