#!/bin/sh
# ops-envcheck env --stack NAME [DIR]: a loader stack's resolved environment (each key's
# source, what it shadows, its value masked), and the compose stack: per service its
# env_file list in order, environment: overriding it, the project .env for ${VAR}.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd python3

SECRET=Zq8vX2mN4pL7rT1wY5sB9cD3
# rows FILE TABLE COLUMNS...: the JSON table's rows, columns separated by |
rows() {
	python3 - "$@" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	for row in d[sys.argv[2]]:
	    print("|".join(str(row[c]) for c in sys.argv[3:]))
	PY
}

test_expect_success 'setup: a Next.js app' '
	mkdir app && printf "A=base\nB=base\nDB_PASSWORD=%s\n" "$SECRET" >app/.env && printf "A=local\n" >app/.env.local &&
	chmod 600 app/.env*
'

test_expect_success 'env --stack nextjs: source, shadowed and masked value per key' '
	ops-envcheck --no-git --format json env --stack nextjs app >out.json &&
	rows out.json stack_keys key from shadowed value >got &&
	printf "A|app/.env.local|app/.env|local\nB|app/.env|None|base\nDB_PASSWORD|app/.env|None|***\n" >expect &&
	test_cmp expect got && test_grep_not "$SECRET" out.json
'

test_expect_success 'env: a key in the process environment wins; its value is never shown' '
	B=$SECRET ops-envcheck --no-git env --stack nextjs app >out &&
	test_grep "^  B  *environment (value not shown)  *app/.env  *- *$" out && test_grep_not "$SECRET" out
'

test_expect_success 'env without DIR reads the current directory; lint --stack shows no values' '
	(cd app && ops-envcheck --no-git env --stack dotenv >../out) && test_grep "VALUE" out &&
	ops-envcheck --no-git --stack dotenv app >out && test_grep_not "VALUE" out && test_grep "SHADOWED" out
'

test_expect_code 3 'env needs --stack' 'ops-envcheck env app'
test_expect_code 3 'env takes one DIR' 'ops-envcheck env --stack dotenv app app'

test_expect_success 'setup: a compose project' '
	mkdir proj && cat >proj/compose.yaml <<-\EOF &&
	services:
	  api:
	    image: registry.local/api
	    env_file:
	      - common.env
	      - path: api.env
	        required: false
	      - path: absent.env
	        required: false
	    environment:
	      LOG_LEVEL: debug
	      DB_URL: "postgres://app@db/${DB_NAME}"
	      FROM_SHELL:
	      STRIPE: sk_live_Zq8vX2mN4pL7rT1wY5sB9cD3
	  worker:
	    image: registry.local/worker
	    environment:
	      - QUEUE=jobs
	      - UNSET_IN_SHELL
	EOF
	printf "DB_NAME=shop\n" >proj/.env &&
	printf "LOG_LEVEL=info\nAPI_TOKEN=%s\nX=1\n" "$SECRET" >proj/common.env &&
	printf "X=2\nLOG_LEVEL=warn\nNOTE=ghp_%s\n" "$SECRET$SECRET" >proj/api.env &&
	sed -i "s/^NOTE=ghp_\(.\{36\}\).*/NOTE=ghp_\1/" proj/api.env && chmod 600 proj/*.env proj/.env
'

test_expect_success 'env --stack compose: env_file in order, environment: wins, .env interpolates' '
	FROM_SHELL=$SECRET ops-envcheck --no-git --format json env --stack compose proj >out.json &&
	rows out.json compose_keys service key from shadowed value >got &&
	cat >expect <<-\EOF &&
	api|LOG_LEVEL|proj/compose.yaml:11 environment|proj/api.env, proj/common.env|debug
	api|API_TOKEN|proj/common.env|None|***
	api|X|proj/api.env|proj/common.env|2
	api|NOTE|proj/api.env|None|***
	api|DB_URL|proj/compose.yaml:12 environment|None|postgres://app@db/shop
	api|FROM_SHELL|proj/compose.yaml:13 environment, from the process environment (value not shown)|None|None
	api|STRIPE|proj/compose.yaml:14 environment|None|***
	worker|QUEUE|proj/compose.yaml:18 environment|None|jobs
	worker|UNSET_IN_SHELL|proj/compose.yaml:19 environment, not set in the process environment|None|None
	EOF
	test_cmp expect got && test_grep_not "$SECRET\|ghp_\|sk_live" out.json &&
	json_assert out.json "assert [c for c in d[\"checks\"] if c[\"id\"] == \"stack\" and \"proj/compose.yaml\" in c[\"message\"]]"
'

test_expect_success '--stack compose FILE: a docker-compose.yml named directly; lint keeps the checks' '
	mv proj/compose.yaml proj/docker-compose.yml &&
	ops-envcheck --no-git --stack compose proj/docker-compose.yml >out &&
	test_grep "^OK .*compose-env-file .*service api: env_file proj/common.env loads 3 keys" out &&
	test_grep "^  worker  *QUEUE  *proj/docker-compose.yml:18 environment" out &&
	test_grep_not "VALUE" out && test_grep_not "$SECRET" out
'

test_expect_code 2 '--stack compose: a ${VAR} the project .env lacks is CRITICAL' '
	rm proj/.env && { ops-envcheck --no-git --stack compose proj >out; rc=$?; } &&
	test_grep "^CRITICAL .*compose-undefined .*DB_NAME" out && exit $rc
'

test_expect_code 3 '--stack compose: no compose file is UNKNOWN' '
	mkdir none && { ops-envcheck --no-git --stack compose none >out; rc=$?; } &&
	test_grep "^UNKNOWN .*compose-unreadable .*none/compose.yaml" out && exit $rc
'

test_done
