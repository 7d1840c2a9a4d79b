#!/bin/sh
# ops-envcheck env --stack NAME [DIR]: a loader stack's resolved environment (each key's
# source, what it shadows, its value masked), and the compose stack: per service its
# env_file list in order, environment: overriding it, the project .env for ${VAR}; each
# env_file checked for secrets as an operand is, and --schema applied per service.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd python3 git

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
	{ FROM_SHELL=$SECRET ops-envcheck --no-git --format json env --stack compose proj >out.json; test $? -eq 1; } &&
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
	json_assert out.json "assert [c[\"subject\"] for c in d[\"checks\"] if c[\"status\"] == \"warning\"] == [\"NOTE\"], d" &&
	json_assert out.json "assert [c for c in d[\"checks\"] if c[\"id\"] == \"stack\" and \"proj/compose.yaml\" in c[\"message\"]]"
'

test_expect_success '--stack compose FILE: a docker-compose.yml named directly; lint keeps the checks' '
	mv proj/compose.yaml proj/docker-compose.yml &&
	{ ops-envcheck --no-git --stack compose proj/docker-compose.yml >out; test $? -eq 1; } &&
	test_grep "^WARNING .*secret-format .*NOTE holds a GitHub token under a name that does not look secret" out &&
	test_grep "^OK .*compose-env-file .*service api: env_file proj/common.env loads 3 keys" out &&
	test_grep "^  worker  *QUEUE  *proj/docker-compose.yml:18 environment" out &&
	test_grep_not "VALUE" out && test_grep_not "$SECRET" out
'

test_expect_code 2 '--stack compose: an env_file gets an operand'"'"'s secret checks, once however many services name it' '
	mkdir gitproj && cd gitproj && git init -q && printf "services:\n  a:\n    env_file: [api.env, .env]\n  b:\n    env_file: ./api.env\n" >compose.yaml &&
	printf "API_TOKEN=%s\n" "$SECRET" >api.env && chmod 644 api.env && printf "DB_PASSWORD=%s\n" "$SECRET" >.env && chmod 600 .env &&
	git add compose.yaml api.env && { ops-envcheck --format json env --stack compose . >../out.json; rc=$?; } &&
	python3 - <<-\PY && exit $rc
	import json
	d = json.load(open("../out.json"))
	got = sorted((c["id"], c["subject"]) for c in d["checks"] if c["id"].startswith(("secret-", "file-permissions")))
	want = [("file-permissions", "./api.env"), ("secret-not-ignored", ".env"), ("secret-tracked", "./api.env")]
	assert got == want, got
	t = [c for c in d["checks"] if c["id"] == "secret-tracked"][0]
	assert "API_TOKEN holds a high-entropy secret" in t["message"] and t["status"] == "critical", t
	PY
'

test_expect_success '--stack compose: an env_file'"'"'s disable comments apply to its findings' '
	cd gitproj && printf "# ops-envcheck: disable-file=secret-tracked,file-permissions\n" >>api.env &&
	{ ops-envcheck env --stack compose . >../out; test $? -eq 1; } &&
	test_grep "^OK .*secret-tracked .*./api.env" ../out && test_grep "^WARNING .*secret-not-ignored .*\.env" ../out
'

test_expect_success 'setup: a schema for the compose project' '
	cat >svc.yaml <<-\EOF
	unknown_keys: warning
	keys:
	  API_TOKEN: {required: true}
	  LOG_LEVEL: {values: [debug, info, warn]}
	  X: {type: int, max: 1}
	  DB_URL: {type: dsn}
	  QUEUE: {required: true}
	EOF
'

test_expect_code 2 'env --stack compose --schema: the schema per service, on its resolved environment' '
	ops-envcheck --no-git --format json --schema svc.yaml env --stack compose proj >out.json; rc=$?
	python3 - <<-\PY && exit $rc
	import json
	d = json.load(open("out.json"))
	got = sorted((c["id"], c["subject"], c["status"], c["message"], c.get("location", {}).get("file"), c.get("location", {}).get("line"))
	             for c in d["checks"] if c["id"].startswith("schema"))
	want = [
	    ("schema", "api/svc.yaml", "ok", "service api: 5 keys checked against svc.yaml", None, None),
	    ("schema", "worker/svc.yaml", "ok", "service worker: 5 keys checked against svc.yaml", None, None),
	    ("schema-range", "api/X", "critical", "service api: X=2 is out of range", "proj/api.env", 1),
	    ("schema-required", "api/QUEUE", "critical", "service api: QUEUE is required but not set",
	     "proj/docker-compose.yml", None),
	    ("schema-required", "worker/API_TOKEN", "critical", "service worker: API_TOKEN is required but not set",
	     "proj/docker-compose.yml", None),
	    ("schema-unknown", "api/NOTE", "warning", "service api: NOTE is not in the schema svc.yaml", "proj/api.env", 3),
	    ("schema-unknown", "api/STRIPE", "warning", "service api: STRIPE is not in the schema svc.yaml",
	     "proj/docker-compose.yml", 14),
	]
	assert got == want, "\n".join(map(str, got))
	PY
'

test_expect_success '--schema per service: a key set by several sources is unknown once, where it wins' '
	grep -v LOG_LEVEL svc.yaml >nolog.yaml &&
	{ ops-envcheck --no-git --schema nolog.yaml --stack compose proj >out; test $? -eq 2; } &&
	test "$(grep -c "schema-unknown .*LOG_LEVEL" out)" -eq 1 &&
	test_grep "^WARNING .*schema-unknown .*api/LOG_LEVEL .*service api: LOG_LEVEL is not in the schema" out &&
	{ ops-envcheck --no-git --format json --schema nolog.yaml --stack compose proj >out.json; test $? -eq 2; } &&
	json_assert out.json "c = [c for c in d[\"checks\"] if c[\"subject\"] == \"api/LOG_LEVEL\"][0]; assert c[\"location\"][\"line\"] == 11, c"
'

test_expect_code 2 'lint --stack compose --schema: the same; the project .env is not checked against it' '
	printf "DB_NAME=shop\nQUEUE=jobs\n" >proj/.env && chmod 600 proj/.env &&
	{ ops-envcheck --no-git --schema svc.yaml --stack compose proj >out; rc=$?; } &&
	test_grep "^CRITICAL .*schema-required .*api/QUEUE .*service api: QUEUE is required but not set" out &&
	test_grep "^CRITICAL .*schema-required .*worker/API_TOKEN" out && test_grep_not "DB_NAME is not in the schema" out &&
	test_grep_not "worker/QUEUE" out && test_grep_not "VALUE" out && exit $rc
'

test_expect_code 2 '--schema per service: a value from the process environment is never shown' '
	QUEUE=jobs UNSET_IN_SHELL=$SECRET ops-envcheck --no-git --schema svc.yaml --stack compose proj >out; rc=$?
	test_grep "service worker: UNSET_IN_SHELL is not in the schema" out && test_grep_not "$SECRET" out &&
	printf "keys:\n  UNSET_IN_SHELL: {type: int}\n" >int.yaml &&
	{ UNSET_IN_SHELL=$SECRET ops-envcheck --no-git --schema int.yaml --stack compose proj >out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*schema-type .*worker/UNSET_IN_SHELL .*service worker: UNSET_IN_SHELL=\*\*\* is not an integer" out &&
	test_grep_not "$SECRET" out && exit $rc
'

test_expect_code 3 '--schema per service: a schema that cannot be read is reported once' '
	printf "keys: [\n" >broken.yaml &&
	{ ops-envcheck --no-git --schema broken.yaml --stack compose proj >out; rc=$?; } &&
	test "$(grep -c "^UNKNOWN .*schema-invalid" out)" -eq 1 && exit $rc
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
