#!/bin/sh
# ops-envcheck secrets hygiene: credential formats, git tracking (libgit2), file modes,
# and secret values never reaching any output.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd git

AWS=AKIAZ7QW3ER5TY8UI0OP
GKEY=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q

test_expect_success 'a secret in a file tracked by git is CRITICAL' '
	git init -q repo && cd repo &&
	printf "DB_PASSWORD=Xy7#kL9mQ2vB8nR4tW6zCs\n" >.env && chmod 600 .env &&
	git add .env && git -c user.name=t -c user.email=t@t commit -q -m add &&
	{ ops-envcheck .env >../out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*secret-tracked .*.env holds credentials (DB_PASSWORD holds a high-entropy secret) and is tracked by git" ../out
'

test_expect_success 'untracked and not ignored is a WARNING; ignored is fine' '
	cd repo && printf "API_TOKEN=Zq8vX2mN4pL7rT1wY5sB9cD3fG6hJ0kQ\n" >.env.local && chmod 600 .env.local &&
	{ ops-envcheck .env.local >../out; test $? -eq 1; } &&
	test_grep "secret-not-ignored" ../out &&
	echo ".env.local" >.gitignore &&
	ops-envcheck .env.local >../out && test_grep_not "secret-not-ignored\|secret-tracked" ../out
'

test_expect_success '--no-git skips the git check' '
	cd repo && { ops-envcheck --no-git .env >../out; test $? -le 3; } && test_grep_not secret-tracked ../out
'

test_expect_success 'an env file with secrets readable by others is a WARNING' '
	printf "DB_PASSWORD=Xy7kL9mQ2vB8nR4tW6zCs\n" >perm.env && chmod 644 perm.env &&
	{ ops-envcheck --no-git perm.env >out; test $? -eq 1; } &&
	test_grep "file-permissions .*readable by everyone (mode 644)" out && test_grep "chmod 600" out &&
	chmod 600 perm.env && ops-envcheck --no-git perm.env >out && test_grep_not file-permissions out
'

test_expect_success 'credential formats under innocent names are found and masked' '
	printf "MY_SETTING=$AWS\nMAPS=$GKEY\nPEM=\"-----BEGIN RSA PRIVATE KEY-----\\\\nabc\\\\n-----END RSA PRIVATE KEY-----\"\n" >f.env &&
	chmod 600 f.env &&
	{ ops-envcheck --no-git f.env >out; test $? -eq 1; } &&
	test_grep "secret-format .*MY_SETTING holds an AWS access key id" out &&
	test_grep "secret-format .*MAPS holds a Google API key" out &&
	test_grep "secret-format .*PEM holds a private key" out &&
	test_grep_not "$AWS" out && test_grep_not "$GKEY" out
'

test_expect_success 'secret values never appear in any format, even short ones' '
	printf "DB_PASSWORD=hunter2hunter2\nAPI_TOKEN=ab#c\nSHORT_SECRET=x y\nR=hunter2hunter2\n" >s.env && chmod 600 s.env &&
	for f in text json sarif github prometheus nagios; do
		ops-envcheck --no-git --format $f -v s.env >out 2>&1
		! grep -q "hunter2\|ab#c\|'"'"'ab'"'"'" out || { echo "format $f:"; cat out; return 1; }
	done
'

test_expect_success 'shell dialect: the unquoted rest of a secret value is not echoed as a command' '
	printf "DB_PASSWORD=abc defghijk\n" >sh.env && chmod 600 sh.env &&
	{ ops-envcheck --no-git --dialect shell sh.env >out 2>&1; test $? -le 3; } &&
	{ ops-envcheck --dialect shell print sh.env >>out 2>&1; test $? -le 3; } &&
	test_grep "command-not-run\|word 2" out && test_grep_not defghijk out
'

test_expect_success 'SARIF: git and permission findings have the file as their location' '
	cd repo && chmod 644 .env &&
	{ ops-envcheck --format sarif .env >../out; test $? -eq 2; } &&
	python3 - <<-PY
	import json
	r = json.load(open("../out"))["runs"][0]["results"]
	assert {x["ruleId"] for x in r} >= {"secret-tracked", "file-permissions"}, r
	assert all(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ".env" for x in r), r
	PY
'

test_expect_success 'a value expanded from the checker'"'"'s environment is never printed (every format, print)' '
	printf "PLAIN_SETTING=\${CI_THING}\nMIXED=pre-\${CI_THING}-post #x\nSHORT=\${CI_SHORT}\nINHERITED\nOK_VALUE=visible\n" >envx.env && chmod 600 envx.env &&
	for f in text json sarif github prometheus nagios; do
		CI_THING=Qw9zLk2v CI_SHORT=ab7 INHERITED=Hx4pPq1 ops-envcheck --no-git --format $f -v envx.env >out 2>&1
		! grep -q "Qw9zLk2v\|ab7\|Hx4pPq1" out || { echo "format $f:"; cat out; return 1; }
	done &&
	for d in compose python shell docker; do
		CI_THING=Qw9zLk2v CI_SHORT=ab7 INHERITED=Hx4pPq1 ops-envcheck --dialect $d print envx.env >out 2>&1
		! grep -q "Qw9zLk2v\|ab7\|Hx4pPq1" out || { echo "dialect $d:"; cat out; return 1; }
	done &&
	CI_THING=Qw9zLk2v ops-envcheck print envx.env >out && test_grep "\"PLAIN_SETTING\": \"\*\*\*\"" out &&
	test_grep "\"OK_VALUE\": \"visible\"" out
'

test_done
