#!/bin/sh
# ops-envcheck masks every secret of a file as soon as it is parsed (mask.c), so no mode
# and no output format shows one, whichever checks run: a secret planted by each rule
# (secret-looking name, credential format, schema secret: true, envcheck.secret_patterns,
# a value from the environment, a malformed line, an unclosed quote) never appears in the
# stdout or stderr of lint (every dialect, --schema, --fix --dry-run), compare, print,
# env --stack (dotenv and compose) or the history sweep, in any --format.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd git

NAME_SECRET=Nm4secretNAME7q
FORMAT_SECRET=ghp_Fm3secretFORMATabcdefghijklmnopqrstu
SCHEMA_SECRET=Sc9secretSCHEMA2w
SCHEMA_TAIL=Tl4secretTAIL         # the rest of SCHEMA_SECRET's value to python and shell
PATTERN_SECRET=Pt5secretPATTERN8
ENV_SECRET=Ev3secretFROMENV6
MALFORMED_SECRET=Mf2secretMALFORM4
UNCLOSED_SECRET=Uq1secretUNCLOSED
UNCLOSED_REST=Uq2secretCONTINUED
COMPOSE_SECRET=Cp6secretCOMPOSE1
SECRETS="$NAME_SECRET $FORMAT_SECRET $SCHEMA_SECRET $SCHEMA_TAIL $PATTERN_SECRET $ENV_SECRET
	$MALFORMED_SECRET $UNCLOSED_SECRET $UNCLOSED_REST $COMPOSE_SECRET"
FORMATS="text json sarif github prometheus nagios"
DIALECTS="compose python node shell docker node-env-file"
CI_RELAY_VALUE=$ENV_SECRET
export CI_RELAY_VALUE

# no_leak WHAT FILE: FILE holds none of the secrets, nor their first or last 6
# characters (a secret masked only in part), WHAT names the run when it does.
no_leak() {
	for s in $SECRETS; do
		for part in "$s" "${s%"${s#??????}"}" "${s#"${s%??????}"}"; do
			! grep -F -q -e "$part" "$2" || { echo "$1 shows $part of $s:"; grep -F -e "$part" "$2"; return 1; }
		done
	done
}

# run WHAT ARGS...: ops-envcheck ARGS (with the config and schema) did not crash, and
# showed no secret on stdout or stderr.
run() {
	what=$1 && shift &&
	{ ops-envcheck --config "$TRASH/opskit.yaml" --schema "$TRASH/env.schema.yaml" "$@" >out 2>&1; test $? -le 3; } &&
	no_leak "$what" out
}

# Each secret is quoted by a key that is not secret (LINK, SCHEMA_COPY, ...): only
# masking the secret itself keeps it out of their values, messages and tables. The
# malformed line and the unclosed quote come last: compose stops reading there.
test_expect_success 'setup: an env file with a secret of each kind, quoted by other keys' '
	cat >.env <<-EOF &&
	DB_PASSWORD=$NAME_SECRET
	MY_HOOK=$FORMAT_SECRET
	UPSTREAM_ID=$SCHEMA_SECRET#$SCHEMA_TAIL
	DATA_BLOB=$PATTERN_SECRET
	RELAY=\${CI_RELAY_VALUE}
	LINK=x $NAME_SECRET
	SCHEMA_COPY=\${UPSTREAM_ID} x
	PATTERN_COPY=x $PATTERN_SECRET
	RELAY_COPY=x \${CI_RELAY_VALUE}
	LINK_URL=not a url $NAME_SECRET
	API_TOKEN $MALFORMED_SECRET
	SIGNING_KEY="$UNCLOSED_SECRET
	$UNCLOSED_REST
	EOF
	chmod 600 .env &&
	printf "unknown_keys: warning\nkeys:\n  UPSTREAM_ID: {secret: true}\n  LINK_URL: {type: url}\n" >env.schema.yaml &&
	printf "envcheck:\n  secret_patterns: [\"*_BLOB\"]\n" >opskit.yaml &&
	printf "DB_PASSWORD=%s\nMY_HOOK=%s\nDOCUMENTED=1\n" "$NAME_SECRET" "$FORMAT_SECRET" >.env.example &&
	mkdir stack && cp .env stack/.env &&
	mkdir svc && cp .env svc/svc.env && printf "A=1\n" >svc/.env &&
	cat >svc/compose.yaml <<-EOF
	services:
	  web:
	    image: x
	    env_file: svc.env
	    environment:
	      SMTP_PASSWORD: $COMPOSE_SECRET
	      MAIL_OPTS: "-p $COMPOSE_SECRET"
	      RELAY_TO: \${CI_RELAY_VALUE}
	EOF
'

test_expect_success 'the checks see the secrets (the test plants what it means to)' '
	ops-envcheck --config opskit.yaml --schema env.schema.yaml --no-git --format json .env >out.json;
	test $? -eq 2 && test_grep "MY_HOOK holds a GitHub token" out.json &&
	test_grep "LINK_URL" out.json && test_grep "loads differently per dialect" out.json
'

for dialect in $DIALECTS; do
	test_expect_success "lint --dialect $dialect, every format: no secret shown" '
		for f in $FORMATS; do
			run "lint $dialect $f" --no-git --dialect '"$dialect"' --format $f -v .env || return 1
		done
	'
	test_expect_success "print --dialect $dialect: no secret shown" '
		run "print $dialect" --dialect '"$dialect"' print .env
	'
done

test_expect_success 'lint --fix --dry-run (a diff of the lines), every format: no secret shown' '
	for f in $FORMATS; do
		run "fix $f" --no-git --fix --dry-run --format $f .env || return 1
	done &&
	test_grep "$NAME_SECRET" .env
'

test_expect_success 'compare (drift), every format: no secret shown' '
	for f in $FORMATS; do
		run "compare $f" --no-git --format $f -v compare .env .env.example || return 1
	done
'

test_expect_success 'env --stack dotenv (values shown), every format: no secret shown' '
	for f in $FORMATS; do
		run "stack dotenv $f" --no-git --format $f -v env --stack dotenv stack || return 1
	done
'

test_expect_success 'env --stack compose (environment: entries too), every format: no secret shown' '
	for f in $FORMATS; do
		run "stack compose $f" --no-git --format $f -v env --stack compose svc || return 1
	done
'

test_expect_success 'lint of a directory whose history held the file, every format: no secret shown' '
	git init -q repo && cp .env repo/.env && chmod 600 repo/.env &&
	(cd repo && git add .env && git -c user.name=t -c user.email=t@t commit -q -m add &&
	 git rm -q .env && git -c user.name=t -c user.email=t@t commit -q -m remove) &&
	{ ops-envcheck --format json repo >out.json; test $? -eq 2; } &&
	test_grep "secret-in-history" out.json &&
	for f in $FORMATS; do
		run "history $f" --format $f -v repo || return 1
	done
'

test_expect_success 'a value holding a raw NUL: each piece is judged and masked on its own' '
	token=ghp_Nu1secretAFTERnulABCDEFGHIJKLMNOPQRS &&
	printf "PLAIN=abc\0%s\nDB_PASSWORD=Nu2head\0Nu3secretTAIL\n" "$token" >nul.env &&
	chmod 600 nul.env &&
	for d in $DIALECTS; do
		ops-envcheck --dialect $d print nul.env >out 2>&1
		test $? -lt 3 || { echo "print $d failed"; cat out; return 1; }
		ops-envcheck --no-git --dialect $d --format json -v nul.env >>out 2>&1
		test $? -lt 3 || { echo "lint $d failed"; cat out; return 1; }
		! grep -a -e "$token" -e ATnulAB -e Nu3secretTAIL out || return 1
	done
'

test_done
