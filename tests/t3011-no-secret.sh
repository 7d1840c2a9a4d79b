#!/bin/sh
# ops-promote never prints a secret: a new secret for every place a user can put one
# (--src-creds/--dest-creds, --*-creds-file, OPSKIT_SRC_CREDS/OPSKIT_DEST_CREDS, the
# config's password, ${VAR}, password_env, password_file and token, docker's config.json
# auth, credential helpers and identitytoken, REGISTRY_AUTH_FILE), and the bearer tokens
# the token service issues; then every format at -v and -vv on success and on every
# failure path (wrong password, wrong token, closed port, the connection cut, the
# registry killed, references and credentials that are malformed, a config error on the
# line of the secret, --help, --dump-options), the status subcommand and the git tag of
# --record-tag: no secret in any stdout, stderr, -o report or tag (tests/lib/no-secret.sh).
# Nor is more than the secret masked: a registry entry named "token" keeps its host shown.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
. "$TEST_LIB/faults.sh"
. "$TEST_LIB/no-secret.sh"
test_require_cmd docker-registry skopeo python3 htpasswd openssl git

plant REG_PASS "the registry password (flag, file, env, config, auth, helper)"
plant REG_REFRESH_TOKEN "identitytoken (an OAuth2 refresh token) in config.json"
plant WRONG "--dest-creds password (wrong)"
plant ENV_WRONG "OPSKIT_DEST_CREDS password (wrong)"
plant CFG_WRONG "config password from \${REGISTRY_PASSWORD} (wrong)"
plant CFG_LITERAL "config password written literally (wrong)"
plant PASS_ENV_WRONG "config password_env's variable (wrong)"
plant FILE_WRONG "config password_file's content (wrong)"
plant TOKEN "config token, sent as Bearer (wrong)"
plant AUTH_WRONG "config.json auth (wrong)"
plant HELPER_WRONG "credential helper's Secret (wrong)"
plant IDT_WRONG "identitytoken (wrong)"
plant MALFORMED "a password in a malformed reference, creds or config.json"

start_registry c basic && start_registry t token || { echo "Bail out! the registries did not start"; exit 1; }
C=$REG_C T=$REG_T
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR DOCKER_CONFIG OPSKIT_SRC_CREDS OPSKIT_DEST_CREDS
HOME=$TRASH/home && mkdir -p "$HOME/bin" && export HOME
PATH=$HOME/bin:$PATH
CLOSED=$(free_port)
start_fault_tcp_proxy "${C##*:}" 600 && fault_rule "cut-at up /manifests/" ||
	{ echo "Bail out! the fault proxy did not start"; exit 1; }
CUT=127.0.0.1:$FAULT_TCP_PORT
export REGISTRY_PASSWORD=$CFG_WRONG PROMOTE_PW=$PASS_ENV_WRONG

# helper NAME SECRET: docker-credential-NAME answering the test user with SECRET
helper() {
	printf '#!/bin/sh\ncat >/dev/null\nprintf "{\\"Username\\":\\"%s\\",\\"Secret\\":\\"%s\\"}\\n"\n' \
		"$REG_USER" "$2" >"$HOME/bin/docker-credential-$1" && chmod +x "$HOME/bin/docker-credential-$1"
}
# auth USER:PASSWORD: its base64, as docker login stores it
auth() { printf '%s' "$1" | base64 -w0; }
helper right "$REG_PASS" && helper wrong "$HELPER_WRONG" && mkdir -p dc ||
	{ echo "Bail out! no credential helper"; exit 1; }
for d in auth authwrong helper helperwrong store idt idtwrong badjson badauth; do mkdir -p dc/$d; done
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$C" "$(auth "$REG_USER:$REG_PASS")" >dc/auth/config.json
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$C" "$(auth "$REG_USER:$AUTH_WRONG")" >dc/authwrong/config.json
printf '{"credHelpers":{"%s":"right"}}\n' "$C" >dc/helper/config.json
printf '{"credHelpers":{"%s":"wrong"}}\n' "$C" >dc/helperwrong/config.json
printf '{"credsStore":"right"}\n' >dc/store/config.json
printf '{"auths":{"%s":{"auth":"%s","identitytoken":"%s"}}}\n' "$T" "$(auth "<token>:")" "$REG_REFRESH_TOKEN" \
	>dc/idt/config.json
printf '{"auths":{"%s":{"auth":"%s","identitytoken":"%s"}}}\n' "$T" "$(auth "<token>:")" "$IDT_WRONG" \
	>dc/idtwrong/config.json
printf '{"auths":{"%s":{"auth":"%s:%s"' "$C" "$REG_USER" "$MALFORMED" >dc/badjson/config.json
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$C" "$MALFORMED" >dc/badauth/config.json
printf '%s:%s\n' "$REG_USER" "$REG_PASS" >creds
printf '%s\n' "$MALFORMED" >creds-nocolon
printf '%s\n' "$FILE_WRONG" >pw-wrong
chmod 600 creds creds-nocolon pw-wrong

# registry ENTRY KEY VALUE...: a config with one registry entry for $C
registry() {
	_name=$1
	shift
	{ printf 'promote:\n  registries:\n    %s:\n      host: "%s"\n' "$_name" "$C"; printf '      %s\n' "$@"; }
}
registry literal "username: $REG_USER" "password: $CFG_LITERAL" >literal.yaml
registry fromenv "username: $REG_USER" "password: \${REGISTRY_PASSWORD}" >fromenv.yaml
registry pwenv "username: $REG_USER" "password_env: PROMOTE_PW" >pwenv.yaml
registry pwfile "username: $REG_USER" "password_file: $TRASH/pw-wrong" >pwfile.yaml
registry token "token: $TOKEN" >token.yaml

git init -q -b main repo && git -C repo -c user.name=T -c user.email=t@e commit -q --allow-empty -m x ||
	{ echo "Bail out! no git repository"; exit 1; }
REV=$(git -C repo rev-parse HEAD)
make_test_image img pr-1 1 1024 "$REV" >/dev/null &&
	push_test_image img pr-1 "$C/app:pr-1" --dest-creds "$REG_USER:$REG_PASS" &&
	push_test_image img pr-1 "$T/app:pr-1" --dest-creds "$REG_USER:$REG_PASS" ||
	{ echo "Bail out! the test image was not pushed"; exit 1; }

test_expect_success 'right credentials: flag, file, environment, config.json, helpers, identitytoken' '
	run_every_way flag ops-promote --src-creds "$REG_USER:$REG_PASS" --dest-creds "$REG_USER:$REG_PASS" \
		--git-repo repo --record-tag "$C/app:pr-1" "$C/app:flag" && exits_are flag 0 &&
	run_every_way file ops-promote --src-creds-file creds --dest-creds-file creds "$C/app:pr-1" "$C/app:file" &&
	exits_are file 0 &&
	OPSKIT_SRC_CREDS=$REG_USER:$REG_PASS OPSKIT_DEST_CREDS=$REG_USER:$REG_PASS \
		run_every_way env ops-promote "$C/app:pr-1" "$C/app:env" && exits_are env 0 &&
	DOCKER_CONFIG=$TRASH/dc/auth run_every_way auth ops-promote "$C/app:pr-1" "$C/app:auth" && exits_are auth 0 &&
	REGISTRY_AUTH_FILE=$TRASH/dc/auth/config.json run_every_way authfile ops-promote "$C/app:pr-1" "$C/app:af" &&
	exits_are authfile 0 &&
	DOCKER_CONFIG=$TRASH/dc/helper run_every_way helper ops-promote "$C/app:pr-1" "$C/app:helper" &&
	exits_are helper 0 &&
	DOCKER_CONFIG=$TRASH/dc/store run_every_way store ops-promote "$C/app:pr-1" "$C/app:store" && exits_are store 0 &&
	run_every_way bearer ops-promote --src-creds "$REG_USER:$REG_PASS" --dest-creds "$REG_USER:$REG_PASS" \
		"$T/app:pr-1" "$T/app:bearer" && exits_are bearer 0 &&
	DOCKER_CONFIG=$TRASH/dc/idt run_every_way idt ops-promote "$T/app:pr-1" "$T/app:idt" && exits_are idt 0 &&
	run_every_way status ops-promote --src-creds "$REG_USER:$REG_PASS" status "$C/app:pr-1" "$C/app:flag" &&
	exits_are status 0 1 2 &&
	for t in $(git -C repo tag -l); do git -C repo cat-file tag "$t"; done >"$NS_OUT/git-tags" &&
	test -s "$NS_OUT/git-tags"
'

test_expect_success 'wrong credentials and tokens: flag, environment, config, config.json, helper' '
	run_every_way wrong ops-promote --src-creds "$REG_USER:$REG_PASS" --dest-creds "$REG_USER:$WRONG" \
		"$C/app:pr-1" "$C/app:w" && exits_are wrong 2 &&
	OPSKIT_DEST_CREDS=$REG_USER:$ENV_WRONG run_every_way envwrong ops-promote --src-creds "$REG_USER:$REG_PASS" \
		"$C/app:pr-1" "$C/app:w" && exits_are envwrong 2 &&
	for c in literal fromenv pwenv pwfile token; do
		run_every_way $c ops-promote --config $c.yaml "$C/app:pr-1" "$C/app:w" && exits_are $c 2 || exit 1
	done &&
	test_grep "^source  *$C/app:pr-1" "$NS_OUT/token.stdout.out" &&
	DOCKER_CONFIG=$TRASH/dc/authwrong run_every_way authwrong ops-promote "$C/app:pr-1" "$C/app:w" &&
	exits_are authwrong 2 &&
	DOCKER_CONFIG=$TRASH/dc/helperwrong run_every_way helperwrong ops-promote "$C/app:pr-1" "$C/app:w" &&
	exits_are helperwrong 2 &&
	DOCKER_CONFIG=$TRASH/dc/idtwrong run_every_way idtwrong ops-promote "$T/app:pr-1" "$T/app:w" &&
	exits_are idtwrong 2 &&
	run_every_way bearerwrong ops-promote --src-creds "$REG_USER:$WRONG" "$T/app:pr-1" "$T/app:w" &&
	exits_are bearerwrong 2
'

test_expect_success 'the registry unreachable, or the connection cut' '
	run_every_way closed ops-promote --retries 0 --src-creds "$REG_USER:$REG_PASS" \
		"127.0.0.1:$CLOSED/app:pr-1" "$C/app:c" && exits_are closed 2 3 &&
	run_every_way cut ops-promote --retries 0 --timeout 2s --src-creds "$REG_USER:$REG_PASS" \
		--dest-creds "$REG_USER:$REG_PASS" "$CUT/app:pr-1" "$CUT/app:c" && exits_are cut 2 3
'

test_expect_success 'malformed references, creds and config.json holding a password' '
	i=0 &&
	for ref in "//$REG_USER:$MALFORMED@$C/app:pr-1" "$REG_USER:$MALFORMED@$C/app:pr-1" \
		"https://$REG_USER:$MALFORMED@$C/app:pr-1" "$C/$REG_USER:$MALFORMED@x/app:pr-1" \
		"$REG_USER:$MALFORMED@$C" "$C/app:pr-1@$MALFORMED"; do
		i=$((i + 1)) &&
		run_every_way ref$i ops-promote "$ref" "$C/app:m" && exits_are ref$i 3 || exit 1
	done &&
	run_every_way nocolon ops-promote --src-creds "$MALFORMED" "$C/app:pr-1" "$C/app:m" && exits_are nocolon 3 &&
	run_every_way nocolonfile ops-promote --src-creds-file creds-nocolon "$C/app:pr-1" "$C/app:m" &&
	exits_are nocolonfile 3 &&
	OPSKIT_SRC_CREDS=$MALFORMED run_every_way nocolonenv ops-promote "$C/app:pr-1" "$C/app:m" &&
	exits_are nocolonenv 3 &&
	DOCKER_CONFIG=$TRASH/dc/badjson run_every_way badjson ops-promote "$C/app:pr-1" "$C/app:m" &&
	exits_are badjson 2 &&
	DOCKER_CONFIG=$TRASH/dc/badauth run_every_way badauth ops-promote "$C/app:pr-1" "$C/app:m" &&
	exits_are badauth 2
'

test_expect_success 'a config error on the line of the secret' '
	i=0 &&
	for line in "password: \"$MALFORMED" "password: $MALFORMED: x" "pasword: $MALFORMED" \
		"password: [$MALFORMED]" "token: {a: $MALFORMED}" "password: \${REGISTRY_PASSWORD}\${UNSET_X}" \
		"password: \${REGISTRY_PASSWORD:-x" "insecure: \${REGISTRY_PASSWORD}"; do
		i=$((i + 1)) &&
		registry r "username: u" "$line" >bad$i.yaml &&
		run_every_way config$i ops-promote --config bad$i.yaml "$C/app:pr-1" "$C/app:m" &&
		exits_are config$i 3 || exit 1
	done
'

test_expect_success '--help and --dump-options next to secrets' '
	OPSKIT_SRC_CREDS=$REG_USER:$REG_PASS run_one help ops-promote --help --src-creds "$REG_USER:$REG_PASS" &&
	OPSKIT_SRC_CREDS=$REG_USER:$REG_PASS run_one dump ops-promote --dump-options &&
	run_one dumpmore ops-promote --dump-options --src-creds "$REG_USER:$REG_PASS" &&
	run_one unknown ops-promote --src-credz="$REG_USER:$REG_PASS" "$C/app:pr-1" "$C/app:m" &&
	exits_are help 0 && exits_are dump 0 && exits_are dumpmore 3 && exits_are unknown 3
'

test_expect_success 'the registry killed: every format on a refused connection' '
	kill "$(cat "$REG_C_DIR/registry.pid")" && sleep 0.5 &&
	run_every_way killed ops-promote --retries 0 --src-creds "$REG_USER:$REG_PASS" "$C/app:pr-1" "$C/app:k" &&
	exits_are killed 2 3
'

test_expect_success 'no secret in any stdout, stderr, report or git tag, nor an issued token' '
	say "$(ls "$TRASH/ns-planted" | wc -l) secrets, $(ls "$NS_OUT" | wc -l) files" &&
	no_secret_in "$NS_OUT" &&
	test_grep "GET" "$REG_T_TOKEN_LOG" &&
	! grep -rlF "eyJ0eXAiOiAiSldUIi" "$NS_OUT"
'

test_done
