#!/bin/sh
# ops-envcheck with directories as operands: the env files in them, -r/--recursive across
# a monorepo, node_modules, .git and vendored trees skipped, --exclude GLOB; and --stack:
# the files a loader stack reads in a directory, and where each key comes from.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a monorepo' '
	mkdir -p mono/api mono/web/node_modules/pkg mono/.git mono/vendor/lib mono/fixtures/deep &&
	printf "A=1\n" >mono/.env && printf "B=2\n" >mono/api/.env && printf "C=3\n" >mono/api/.env.production &&
	printf "D=4\n" >mono/web/local.env && printf "E=5\n" >mono/web/node_modules/pkg/.env &&
	printf "F=6\n" >mono/.git/.env && printf "G=7\n" >mono/vendor/lib/.env &&
	printf "H=8\n" >mono/fixtures/deep/.env && printf "not env\n" >mono/api/README.md
'

test_expect_success 'a directory without -r: the env files directly in it' '
	ops-envcheck --no-git --format json mono >out &&
	python3 -c "import json; d=json.load(open(\"out\")); print(\"\\n\".join(f[\"path\"] for f in d[\"files\"]))" >got &&
	echo mono/.env >expect && test_cmp expect got
'

test_expect_success '-r walks the tree in name order, skipping node_modules, .git and vendor' '
	ops-envcheck --no-git -r --format json mono >out &&
	python3 -c "import json; d=json.load(open(\"out\")); print(\"\\n\".join(f[\"path\"] for f in d[\"files\"]))" >got &&
	printf "mono/.env\nmono/api/.env\nmono/api/.env.production\nmono/fixtures/deep/.env\nmono/web/local.env\n" >expect &&
	test_cmp expect got
'

test_expect_success '--exclude GLOB skips names and paths' '
	ops-envcheck --no-git -r --exclude fixtures --exclude "*.production" --format json mono >out &&
	python3 -c "import json; d=json.load(open(\"out\")); print(\"\\n\".join(f[\"path\"] for f in d[\"files\"]))" >got &&
	printf "mono/.env\nmono/api/.env\nmono/web/local.env\n" >expect && test_cmp expect got &&
	ops-envcheck --no-git -r --exclude "mono/web" --format json mono >out && test_grep_not local.env out
'

test_expect_success 'a directory with no env file is OK and says so' '
	mkdir empty && ops-envcheck --no-git -r empty >out && test_grep "no env file found under empty" out
'

# origins FILE: "KEY FROM SHADOWED" lines from the JSON report
origins() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); [print(k[\"key\"], k[\"from\"], k[\"shadowed\"]) for k in d[\"stack_keys\"]]" "$1"
}

test_expect_success 'setup: a Next.js app' '
	mkdir app && printf "A=base\nB=base\nC=base\n" >app/.env && printf "B=local\n" >app/.env.local &&
	printf "A=dev\n" >app/.env.development && printf "C=devlocal\n" >app/.env.development.local &&
	printf "A=prod\n" >app/.env.production && chmod 600 app/.env*
'

test_expect_success '--stack nextjs: precedence, the file each key comes from, what it shadows' '
	ops-envcheck --no-git --stack nextjs --format json app >out &&
	origins out >got &&
	printf "C app/.env.development.local app/.env\nB app/.env.local app/.env\nA app/.env.development app/.env\n" >expect &&
	test_cmp expect got &&
	test_grep "stack nextjs (development): the environment > app/.env.development.local > app/.env.local > app/.env.development > app/.env" out
'

test_expect_success '--stack nextjs --mode test skips .env.local; the environment wins, its value unshown' '
	A=Zq8vX2mN4pL7 ops-envcheck --no-git --stack nextjs --mode test --format json app >out &&
	origins out >got &&
	printf "A environment (value not shown) app/.env\nB app/.env None\nC app/.env None\n" >expect &&
	test_cmp expect got && test_grep_not Zq8vX2mN4pL7 out
'

test_expect_success '--stack vite: .env.MODE beats .env.local; --mode production' '
	ops-envcheck --no-git --stack vite --mode production --format json app >out &&
	origins out >got &&
	printf "A app/.env.production app/.env\nB app/.env.local app/.env\nC app/.env None\n" >expect &&
	test_cmp expect got
'

test_expect_code 3 '--stack: an unknown stack is a usage error' 'ops-envcheck --stack webpack app'

test_done
