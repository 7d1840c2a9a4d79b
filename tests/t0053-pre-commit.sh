#!/bin/sh
# .pre-commit-hooks.yaml: Debian's pre-commit runs ops-envcheck (from PATH, language
# system: nothing downloaded) on .env files; a commit with a bad .env is refused, a good
# one goes through, other files are not checked.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd pre-commit git python3

# Everything pre-commit and git write stays in $TRASH.
export PRE_COMMIT_HOME="$TRASH/pre-commit-home" GIT_CONFIG_NOSYSTEM=1 HOME="$TRASH"
git config --global user.name "opskit test" && git config --global user.email test@example.com &&
	git config --global init.defaultBranch main && git config --global protocol.file.allow always ||
	{ echo "Bail out! cannot configure git"; exit 1; }

test_expect_success 'the hooks file parses and declares ops-envcheck, language system' '
	python3 -c "
import sys, yaml
hooks = yaml.safe_load(open(sys.argv[1]))
h = {x[\"id\"]: x for x in hooks}[\"ops-envcheck\"]
assert h[\"entry\"].split()[0] == \"ops-envcheck\", h
assert h[\"language\"] in (\"system\", \"script\"), h
" "$OPSKIT_ROOT/.pre-commit-hooks.yaml"
'

test_expect_success 'files matches .env and .env.* in any directory, nothing else' '
	python3 -c "
import re, sys, yaml
rx = re.compile(yaml.safe_load(open(sys.argv[1]))[0][\"files\"])
yes = [\".env\", \"app/.env\", \".env.local\", \"a/b/.env.production\", \".env.example\"]
no = [\"config.env\", \".envrc\", \"app/x.env\", \"env\", \".environment\", \"README.md\"]
bad = [p for p in yes if not rx.search(p)] + [p for p in no if rx.search(p)]
assert not bad, bad
" "$OPSKIT_ROOT/.pre-commit-hooks.yaml"
'

# The hook repository: a git repository holding this tree's .pre-commit-hooks.yaml
# (the project may itself be an unpacked tarball), cloned by pre-commit from disk.
test_expect_success 'setup: a hook repository and a project that uses it' '
	git init -q hooks && cp "$OPSKIT_ROOT/.pre-commit-hooks.yaml" hooks/ &&
	git -C hooks add .pre-commit-hooks.yaml && git -C hooks commit -q -m hooks &&
	rev=$(git -C hooks rev-parse HEAD) &&
	git init -q project && cd project &&
	printf "repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: ops-envcheck\n" \
		"$TRASH/hooks" "$rev" >.pre-commit-config.yaml &&
	git add .pre-commit-config.yaml && git commit -q -m "pre-commit config" &&
	pre-commit install >install.out 2>&1 || { cat install.out; exit 1; }
'

test_expect_success 'a commit with a bad .env is refused, with the finding' '
	cd project &&
	printf "APP_NAME=shop\nLOG_LEVEL = info\nAPP_NAME=other\n" >.env &&
	git add .env &&
	! git commit -m "bad env" >commit.out 2>&1 &&
	test_grep "ops-envcheck.*Failed" commit.out &&
	test_grep "duplicated-key" commit.out &&
	test_grep "space-character" commit.out &&
	test "$(git rev-list --count HEAD)" = 1
'

test_expect_success 'the fixed .env is committed' '
	cd project &&
	printf "APP_NAME=shop\nLOG_LEVEL=info\n" >.env &&
	git add .env &&
	git commit -m "good env" >commit.out 2>&1 || { cat commit.out; exit 1; }
	test_grep "ops-envcheck.*Passed" commit.out &&
	test "$(git rev-list --count HEAD)" = 2
'

test_expect_success 'a bad .env.production in a subdirectory is refused too' '
	cd project && mkdir -p deploy &&
	printf "B=1\nA=2\nA=3\n" >deploy/.env.production &&
	git add deploy/.env.production &&
	! git commit -m "bad env 2" >commit.out 2>&1 &&
	test_grep "deploy/.env.production" commit.out &&
	git reset -q HEAD deploy/.env.production && rm -r deploy
'

test_expect_success 'files that are no .env are not checked' '
	cd project &&
	printf "A=1\nA=2\n" >settings.env && git add settings.env &&
	git commit -m "not an env file" >commit.out 2>&1 || { cat commit.out; exit 1; }
	test_grep "ops-envcheck.*no files to check" commit.out
'

test_expect_success 'pre-commit downloaded nothing: no environment beside the cloned hook repo' '
	test -d "$PRE_COMMIT_HOME" &&
	! find "$PRE_COMMIT_HOME" -name "py_env-*" -o -name "node_env-*" | grep .
'

test_done
