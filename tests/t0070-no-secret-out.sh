#!/bin/sh
# No secret out, as a property: random markers, new each run, enter through every channel
# a secret can take (DSN and URL passwords, PGPASSWORD, REDISCLI_AUTH, config values
# expanded from the environment, --*-creds, creds files, docker config.json, a credential
# helper, an identity token, .env secrets, ${VAR} from the environment, schema secret:
# true); every tool runs in every format with -v and -o, on success and on its failure
# paths (wrong password, server down, stalled socket); then no marker may appear in any
# stdout, stderr, report file or git tag message, plain or base64. A hit names the channel
# and the run. (envcheck --fix --backup's FILE.bak is the user's own file: it must keep
# its mode, 0600, and is not searched.)
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/faults.sh"
test_require_cmd python3 git

marker() { printf 'Mk%s%s' "$1" "$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')"; }
mkdir -p runs markers
# secret NAME CHANNEL: a new marker in $NAME, remembered with the channel it goes through
secret() {
	_m=$(marker "$1")
	eval "$1=\$_m"
	printf '%s\n' "$2" >"markers/$_m"
}

# run_formats TOOL CASE ARGS...: TOOL -v in every format it writes, the report through -o
# (and text on stdout too); everything it printed or wrote lands in runs/.
run_formats() {
	_tool=$1 _case=$2
	shift 2
	_fmts=$(ops-$_tool --help 2>&1 | sed -n 's/.*--format \([a-z|]*\).*/\1/p' | head -1 | tr '|' ' ')
	for _fmt in $_fmts; do
		run_with_timeout 60 ops-$_tool -v --format "$_fmt" -o "runs/$_tool.$_case.$_fmt.report" "$@" \
			>"runs/$_tool.$_case.$_fmt.out" 2>"runs/$_tool.$_case.$_fmt.err"
		echo $? >"runs/$_tool.$_case.$_fmt.rc"
	done
	run_with_timeout 60 ops-$_tool -v "$@" >"runs/$_tool.$_case.stdout" 2>"runs/$_tool.$_case.stderr"
	echo $? >"runs/$_tool.$_case.stdout.rc"
}

# rc_is TOOL CASE RC...: every run of that case exited with one of RC
rc_is() {
	_t=$1 _c=$2
	shift 2
	for _f in runs/$_t.$_c.*rc; do
		case " $* " in *" $(cat "$_f") "*) ;; *) echo "$_f: exit $(cat "$_f"), want one of $*"; return 1 ;; esac
	done
}

# no_marker DIR...: no marker of markers/ in any file under DIR, plain or base64-encoded
# at any of the three alignments (a marker inside "user:MARKER" encodes differently)
no_marker() {
	python3 - "$@" <<'PY'
import base64, os, sys
needles = []
for m in os.listdir("markers"):
    channel = open(os.path.join("markers", m)).read().strip()
    needles.append((m.encode(), channel))
    for pad in range(3):
        enc = base64.b64encode(b"x" * pad + m.encode())
        needles.append((enc[4:-4], channel + " (base64)"))
bad = 0
for top in sys.argv[1:]:
    for root, _, files in os.walk(top):
        for f in sorted(files):
            path = os.path.join(root, f)
            data = open(path, "rb").read()
            for needle, channel in needles:
                at = data.find(needle)
                if at >= 0:
                    print("LEAK: the %s marker in %s: ...%r..." % (channel, path, data[max(0, at - 60):at + 80]))
                    bad = 1
sys.exit(bad)
PY
}

# ---- ops-pgprobe ----
if command -v psql >/dev/null && . "$TEST_LIB/postgres.sh" && start_postgres; then
	secret PG_PASS "DSN password (right)"
	secret PG_URL_PASS "postgresql:// URL password (wrong)"
	secret PG_ENV_PASS "PGPASSWORD (wrong)"
	secret PG_CFG_PASS "config dsn password from \${PGPROBE_PASSWORD}"
	pg_sql "ALTER ROLE \"$PG_PW_USER\" PASSWORD '$PG_PASS'" >/dev/null
	DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=$PG_PW_USER"
	printf 'postgres:\n  targets:\n    db:\n      dsn: "%s password=${PGPROBE_PASSWORD:-}"\n' "$DSN" >pg.yaml
	DEAD=$(free_port)
	start_fault_tcp_proxy "$PG_PORT" 600 && fault_rule "stall-at up SELECT"
	test_expect_success 'pgprobe: every format, success and failure paths' '
		run_formats pgprobe ok "$DSN password=$PG_PASS" && rc_is pgprobe ok 0 1 &&
		run_formats pgprobe url "postgresql://$PG_PW_USER:$PG_URL_PASS@127.0.0.1:$PG_PORT/postgres" &&
		rc_is pgprobe url 2 &&
		PGPASSWORD=$PG_ENV_PASS run_formats pgprobe env "$DSN" && rc_is pgprobe env 2 &&
		PGPROBE_PASSWORD=$PG_CFG_PASS run_formats pgprobe cfg --config pg.yaml db && rc_is pgprobe cfg 2 &&
		run_formats pgprobe down "host=127.0.0.1 port=$DEAD user=x password=$PG_PASS" && rc_is pgprobe down 2 &&
		run_formats pgprobe stalled --timeout 1s \
			"host=127.0.0.1 port=$FAULT_TCP_PORT dbname=postgres user=$PG_PW_USER password=$PG_PASS sslmode=disable" &&
		rc_is pgprobe stalled 2
	'
else
	test_skip 'pgprobe: every format, success and failure paths' 'PostgreSQL did not start'
fi

# ---- ops-redisaudit ----
if command -v redis-server >/dev/null && . "$TEST_LIB/redis.sh"; then
	secret R_PASS "redis requirepass in the URL (right)"
	secret R_ACL "redis ACL user password in the URL (right)"
	secret R_WRONG "redis URL password (wrong)"
	secret R_ENV "REDISCLI_AUTH (wrong)"
	secret R_CFG "redis config password from \${REDIS_AUDIT_PASSWORD}"
	start_redis --requirepass "$R_PASS" --acl-user auditor "$R_ACL" sec && rcli SET session:1 v >/dev/null
	printf 'redis:\n  targets:\n    r:\n      url: redis://127.0.0.1:%s/0\n      username: auditor\n      password: ${REDIS_AUDIT_PASSWORD:-}\n' \
		"$REDIS_PORT" >redis.yaml
	start_fault_tcp_proxy "$REDIS_PORT" 600 && fault_rule "stall-at up SCAN"
	test_expect_success 'redisaudit: every format, success and failure paths' '
		run_formats redisaudit ok "redis://:$R_PASS@127.0.0.1:$REDIS_PORT" && rc_is redisaudit ok 0 1 2 &&
		run_formats redisaudit acl "redis://auditor:$R_ACL@127.0.0.1:$REDIS_PORT" && rc_is redisaudit acl 0 1 2 &&
		run_formats redisaudit wrong "redis://auditor:$R_WRONG@127.0.0.1:$REDIS_PORT" && rc_is redisaudit wrong 3 &&
		REDISCLI_AUTH=$R_ENV run_formats redisaudit env "redis://127.0.0.1:$REDIS_PORT" && rc_is redisaudit env 3 &&
		REDIS_AUDIT_PASSWORD=$R_CFG run_formats redisaudit cfg --config redis.yaml r && rc_is redisaudit cfg 3 &&
		run_formats redisaudit down "redis://:$R_PASS@127.0.0.1:$(free_port)" && rc_is redisaudit down 3 &&
		run_formats redisaudit stalled --timeout 1s "redis://:$R_PASS@127.0.0.1:$FAULT_TCP_PORT" &&
		rc_is redisaudit stalled 3
	'
else
	test_skip 'redisaudit: every format, success and failure paths' 'redis-server is not installed'
fi

# ---- ops-envcheck ----
secret E_DOTENV "a .env value of a secret-named key"
secret E_TOKEN "a .env token value"
secret E_SCHEMA "a .env value of a schema secret: true key"
secret E_FROM_ENV "a value expanded from the environment (\${CI_TOKEN})"
secret E_BAD "a secret in a line the loader refuses"
printf 'DB_PASSWORD=%s\nAPI_TOKEN="%s"\nMY_SETTING=%s\nFROM_CI=${CI_TOKEN}\nDSN=postgres://u:%s@db/app\n' \
	"$E_DOTENV" "$E_TOKEN" "$E_SCHEMA" "$E_DOTENV" >app.env
printf 'keys:\n  MY_SETTING: {secret: true, min_length: 200}\n  DB_PASSWORD: {secret: true}\n' >schema.yaml
printf 'DB_PASSWORD=\nAPI_TOKEN=\nMY_SETTING=\nOTHER=\n' >app.env.example
printf 'DB_PASSWORD="%s\nNEXT=1\n' "$E_BAD" >broken.env
chmod 644 app.env broken.env
test_expect_success 'envcheck: every format, lint, schema, compare, print, fix' '
	CI_TOKEN=$E_FROM_ENV run_formats envcheck lint --no-git app.env && rc_is envcheck lint 1 2 &&
	CI_TOKEN=$E_FROM_ENV run_formats envcheck schema --no-git --schema schema.yaml app.env && rc_is envcheck schema 2 &&
	run_formats envcheck compare --no-git compare app.env app.env.example && rc_is envcheck compare 1 2 &&
	run_formats envcheck broken --no-git broken.env && rc_is envcheck broken 2 &&
	ops-envcheck --schema schema.yaml print app.env >runs/envcheck.print.out 2>runs/envcheck.print.err &&
	cp app.env fix.env && chmod 600 fix.env &&
	{ ops-envcheck -v --no-git --schema schema.yaml --fix --backup fix.env >runs/envcheck.fix.out 2>runs/envcheck.fix.err; test $? -le 2; } &&
	{ ops-envcheck -v --no-git --schema schema.yaml --fix --dry-run app.env >runs/envcheck.dryrun.out 2>runs/envcheck.dryrun.err; test $? -le 2; } &&
	test "$(stat -c %a fix.env.bak)" = 600
'

# ---- ops-promote ----
if command -v docker-registry >/dev/null && command -v skopeo >/dev/null && command -v htpasswd >/dev/null &&
	. "$TEST_LIB/registry.sh"; then
	secret REG_PASS "registry password (--src-creds, creds file, config.json, helper)"
	secret REG_REFRESH_TOKEN "identitytoken (bearer refresh token) in config.json"
	secret P_WRONG "registry password (wrong, --dest-creds)"
	secret P_HELPER_WRONG "credential helper output (wrong)"
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
		run_formats promote creds --src-creds "$REG_USER:$REG_PASS" --dest-creds "$REG_USER:$REG_PASS" \
			--git-repo repo --record-tag $C/app:pr-1 $C/app:tagged && rc_is promote creds 0 &&
		run_formats promote wrong --src-creds "$REG_USER:$REG_PASS" --dest-creds "$REG_USER:$P_WRONG" \
			$C/app:pr-1 $C/app:w && rc_is promote wrong 2 &&
		run_formats promote file --src-creds-file creds --dest-creds-file creds $C/app:pr-1 $C/app:f &&
		rc_is promote file 0 &&
		DOCKER_CONFIG=$TRASH/dc-auth run_formats promote auth $C/app:pr-1 $C/app:a && rc_is promote auth 0 &&
		DOCKER_CONFIG=$TRASH/dc-helper run_formats promote helper $C/app:pr-1 $C/app:h && rc_is promote helper 0 &&
		DOCKER_CONFIG=$TRASH/dc-bad run_formats promote badhelper $C/app:pr-1 $C/app:b && rc_is promote badhelper 2 &&
		DOCKER_CONFIG=$TRASH/dc-idt run_formats promote token $T/app:pr-1 $T/app:i && rc_is promote token 0 &&
		run_formats promote down --src-creds "$REG_USER:$REG_PASS" 127.0.0.1:$(free_port)/app:1 $C/app:d &&
		rc_is promote down 2 3 &&
		run_formats promote stalled --timeout 1s --retries 0 --src-creds "$REG_USER:$REG_PASS" \
			127.0.0.1:$FAULT_TCP_PORT/app:pr-1 127.0.0.1:$FAULT_TCP_PORT/app:s && rc_is promote stalled 2 3 &&
		for t in $(git -C repo tag -l); do git -C repo cat-file tag "$t"; done >runs/git-tags.txt &&
		test -s runs/git-tags.txt
	'
else
	test_skip 'promote: every format, every credential channel, failure paths, the git tag' \
		'docker-registry, skopeo or htpasswd is not installed'
fi

test_expect_success 'no marker in any stdout, stderr, report file or git tag message' '
	say "$(ls markers | wc -l) markers, $(ls runs | wc -l) files" &&
	no_marker runs
'

test_expect_success 'the search finds a planted marker, plain and base64' '
	mkdir planted && echo "x $E_TOKEN y" >planted/plain && ! no_marker planted >/dev/null &&
	rm planted/plain && printf "%s" "u:$REG_PASS" | base64 >planted/b64 && ! no_marker planted >/dev/null
'

test_done
