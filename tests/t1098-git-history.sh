#!/bin/sh
# ops-envcheck: env files once committed with a credential and deleted since. A directory
# operand (and its tree with -r) is swept through HEAD's history, bounded by
# --history-commits / envcheck.history_commits; the commit id and the key are named,
# the value never.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd git

SECRET=Zq8vX2mN4pL7rT1wY5sB9cD3
commit() { git -c user.name=t -c user.email=t@t commit -q -m "$1"; }

test_expect_success 'setup: a .env and a nested prod.env committed with secrets, then removed and ignored' '
	git init -q repo && cd repo && mkdir -p svc/deep &&
	printf "APP_NAME=demo\nAPI_TOKEN=%s\n" "$SECRET" >.env &&
	printf "DB_PASSWORD=Xk9vQ2mZ7rT4pL0q\n" >svc/deep/prod.env && printf "PORT=8080\n" >svc/app.env &&
	git add .env svc && commit "add env" && git rev-parse --short=12 HEAD >../id &&
	git rm -q .env svc/deep/prod.env && echo .env >.gitignore && git add .gitignore && commit "remove env" &&
	mkdir -p svc/deep && chmod 600 svc/app.env
'

test_expect_code 2 'a deleted, ignored .env is still CRITICAL with the commit id and key, no value' '
	cd repo && { ops-envcheck . >../out; rc=$?; } &&
	test_grep "^CRITICAL .*secret-in-history .*\.env (deleted since) was committed with credentials (API_TOKEN held a high-entropy secret) in commit $(cat ../id)" ../out &&
	test_grep_not "prod.env" ../out && test_grep_not "$SECRET" ../out && exit $rc
'

test_expect_code 2 '-r: deleted env files in subdirectories too; a directory operand below the top' '
	cd repo && { ops-envcheck -r --format json . >../out.json; rc=$?; } &&
	json_assert ../out.json "s = sorted(c[\"subject\"] for c in d[\"checks\"] if c[\"id\"] == \"secret-in-history\"); assert s == [\".env\", \"svc/deep/prod.env\"], s" &&
	{ ops-envcheck -r svc/ >../out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*secret-in-history .*svc/deep/prod.env (deleted since) .*DB_PASSWORD held a secret value" ../out &&
	test_grep_not "Xk9vQ2mZ7rT4pL0q\|$SECRET" ../out ../out.json && exit $rc
'

test_expect_success '--exclude, --no-git and --history-commits 1 (the newest commit only) leave it out' '
	cd repo && { ops-envcheck -r --exclude svc --exclude .env . >../out; test $? -eq 0; } &&
	test_grep_not secret-in-history ../out &&
	{ ops-envcheck -r --no-git . >../out; test $? -eq 0; } && test_grep_not secret-in-history ../out &&
	{ ops-envcheck -r --history-commits 1 . >../out; test $? -eq 0; } && test_grep_not secret-in-history ../out &&
	printf "envcheck:\n  history_commits: 0\n" >../cfg.yaml &&
	{ ops-envcheck --config ../cfg.yaml -r . >../out; test $? -eq 0; } && test_grep_not secret-in-history ../out
'

test_expect_code 2 'an env file present again is reported once, as a file' '
	cd repo && printf "APP_NAME=demo\n" >.env && chmod 600 .env && { ops-envcheck . >../out; rc=$?; } &&
	test "$(grep -c secret-in-history ../out)" -eq 1 && test_grep_not "deleted since" ../out && exit $rc
'

test_expect_code 2 'a compose env_file once committed with a secret: once, however many services name it' '
	git init -q cp && cd cp && printf "services:\n  a:\n    env_file: api.env\n  b:\n    env_file: [api.env]\n" >compose.yaml &&
	printf "API_TOKEN=%s\n" "$SECRET" >api.env && git add . && commit one && id=$(git rev-parse --short=12 HEAD) &&
	printf "API_TOKEN=\n" >api.env && git add api.env && commit two && : >.env && chmod 600 .env &&
	{ ops-envcheck --stack compose . >../out; rc=$?; } &&
	test "$(grep -c "secret-in-history .*api.env was committed with credentials (API_TOKEN held a high-entropy secret) in commit $id" ../out)" -eq 1 &&
	test_grep_not "$SECRET" ../out && exit $rc
'

test_expect_success 'a history without credentials is fine' '
	git init -q clean && cd clean && printf "PORT=1\n" >.env && git add .env && commit one &&
	git rm -q .env && commit two && { ops-envcheck -r . >../out; test $? -eq 0; } &&
	test_grep_not secret-in-history ../out
'

test_done
