#!/bin/sh
# ops-envcheck compare (drift against .env.example) and --compose.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'compare: missing is CRITICAL, extra is WARNING' '
	printf "A=1\nEXTRA=2\n" >.env && printf "A=\nB=\n" >.env.example &&
	{ ops-envcheck compare .env .env.example >out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*drift-missing .*B is in .env.example but missing from .env" out &&
	test_grep "^WARNING .*drift-extra .*EXTRA is in .env but not documented in .env.example" out
'

test_expect_success 'compare: identical key sets are OK' '
	printf "A=1\nB=2\n" >.env && printf "A=\nB=changeme\n" >.env.example &&
	ops-envcheck compare .env .env.example >out && test_grep "^OK .*drift" out
'

test_expect_success 'compare: a real-looking secret in the example is CRITICAL and masked' '
	printf "AWS_ACCESS_KEY_ID=x\nAPI_TOKEN=x\n" >.env &&
	printf "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLQ\nAPI_TOKEN=Zq8vX2mN4pL7rT1wY5sB9cD3fG6hJ0kQ\n" >.env.example &&
	{ ops-envcheck compare --format json .env .env.example >out; test $? -eq 2; } &&
	test_grep "example-secret" out && test_grep_not "AKIAIOSFODNN7EXAMPLQ" out &&
	test_grep_not "Zq8vX2mN4pL7rT1wY5sB9cD3fG6hJ0kQ" out
'

test_expect_success 'compare: placeholders in the example are fine' '
	printf "API_TOKEN=x\n" >.env && printf "API_TOKEN=<your-token-here>\n" >.env.example &&
	ops-envcheck compare .env .env.example >out && test_grep_not example-secret out
'

test_expect_success 'compare: a credential format with a placeholder word (AWS docs key) is fine' '
	printf "AWS_ACCESS_KEY_ID=x\n" >.env && printf "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n" >.env.example &&
	{ ops-envcheck compare .env .env.example >out; test $? -eq 0; } && test_grep_not example-secret out &&
	printf "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLQ\n" >.env.example &&
	{ ops-envcheck compare .env .env.example >out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*example-secret .*AWS_ACCESS_KEY_ID in .env.example holds what looks like an AWS access key id" out
'

test_expect_success 'compare: a token format written as a placeholder (...EXAMPLE, <...>) is fine' '
	printf "GITHUB_TOKEN=x\nSTRIPE_SECRET_KEY=x\n" >.env &&
	printf "GITHUB_TOKEN=ghp_%sEXAMPLE\nSTRIPE_SECRET_KEY=<sk_live_%s>\n" \
		0123456789abcdefghijABCDEFGHI 0123456789abcdefghijKLMN >.env.example &&
	{ ops-envcheck compare .env .env.example >out; test $? -eq 0; } && test_grep_not example-secret out
'

cat >docker-compose.yml <<'EOF2'
services:
  api:
    image: "registry.local/api:${API_TAG:-latest}"
    env_file: api.env
    environment:
      DATABASE_URL: "postgres://app@db:5432/${DB_NAME}"
      TTS_CREDENTIALS: "${GOOGLE_CLOUD_CREDENTIALS_B64}"
      ESCAPED: "$$NOT_A_VAR"
  worker:
    image: registry.local/worker
    env_file:
      - path: worker.env
        required: false
      - missing.env
    command: ["run", "--region", "${REGION:?set REGION in .env}"]
EOF2

test_expect_success '--compose: a variable used but defined nowhere is CRITICAL' '
	printf "DB_NAME=app\nREGION=eu\n" >.env &&
	printf "GOOGLE_CLOUD_CREDENTIALS_B64=abc\n" >api.env &&
	{ ops-envcheck --no-git --compose docker-compose.yml .env >out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*compose-undefined .*GOOGLE_CLOUD_CREDENTIALS_B64 is interpolated at docker-compose.yml:7 but defined nowhere Compose looks (it is only in env_file ./api.env" out &&
	test_grep_not "API_TAG" out && test_grep_not "NOT_A_VAR" out && test_grep_not "compose-undefined .*DB_NAME" out
'

test_expect_success '--compose: a missing env_file is CRITICAL unless required: false' '
	test_grep "^CRITICAL .*compose-env-file .*missing.env, which cannot be read" out &&
	test_grep_not "worker.env, which" out &&
	test_grep "^OK .*compose-env-file .*api.env loads 1 keys" out
'

test_expect_success '--compose: ${VAR:?} unset is CRITICAL; all defined is OK' '
	printf "DB_NAME=app\n" >.env && : >missing.env &&
	{ ops-envcheck --no-git --compose docker-compose.yml .env >out; test $? -eq 2; } &&
	test_grep "REGION is required by docker-compose.yml:15" out &&
	printf "DB_NAME=app\nREGION=eu\n" >.env &&
	{ GOOGLE_CLOUD_CREDENTIALS_B64=from-env ops-envcheck --no-git --compose docker-compose.yml .env >out; test $? -le 3; } &&
	test_grep_not compose-undefined out && test_grep "^OK .*compose .*interpolations" out
'

test_expect_code 3 "--compose: an unreadable compose file is UNKNOWN" "printf \"A=1\\n\" >ok.env && ops-envcheck --no-git --compose /nonexistent.yml ok.env"

test_expect_success '--compose: a nested default ${A:-${B}} needs B only when A is unset' '
	mkdir nested && cd nested &&
	printf "services:\n  api:\n    image: \"x:\${TAG:-\${FALLBACK_TAG}}\"\n    command: \"\${MODE:-\${DEF_MODE:-serve}}\"\n" >docker-compose.yml &&
	printf "TAG=1.0\n" >.env &&
	ops-envcheck --no-git --compose docker-compose.yml .env >out &&
	test_grep_not compose-undefined out &&
	printf "OTHER=1\n" >.env &&
	{ ops-envcheck --no-git --compose docker-compose.yml .env >out; test $? -eq 2; } &&
	test_grep "compose-undefined .*FALLBACK_TAG is interpolated" out && test_grep_not "DEF_MODE\|MODE is" out
'

test_expect_success '--compose: env_file paths with ${VAR}, the long form {path, required, format}' '
	mkdir long && cd long &&
	cat >docker-compose.yml <<-\EOF &&
	services:
	  api:
	    image: x
	    env_file:
	      path: ./${STAGE:-dev}.env
	      required: true
	  worker:
	    image: x
	    env_file:
	      - path: ${CONF_DIR}/raw.env
	        format: raw
	      - path: ./absent.env
	        required: false
	EOF
	printf "CONF_DIR=./conf\nSTAGE=prod\n" >.env && mkdir conf &&
	printf "A=1\n" >prod.env && printf "Q=\"kept\" # as written\n" >conf/raw.env &&
	ops-envcheck --no-git --compose docker-compose.yml .env >out &&
	test_grep "^OK .*compose-env-file .*service api: env_file ./prod.env loads 1 keys" out &&
	test_grep "^OK .*compose-env-file .*service worker: env_file ./conf/raw.env loads 1 keys" out &&
	test_grep_not "absent.env" out
'

test_expect_success '--compose: ${VAR} inside an env_file is resolved from the project .env' '
	mkdir inner && cd inner &&
	printf "services:\n  api:\n    image: x\n    env_file: api.env\n" >docker-compose.yml &&
	printf "DB_HOST=db.internal\n" >.env && printf "DATABASE_HOST=\${DB_HOST:?set DB_HOST}\n" >api.env &&
	ops-envcheck --no-git --compose docker-compose.yml .env >out &&
	test_grep "^OK .*compose-env-file .*api.env loads 1 keys" out && test_grep_not "loader-refuses\|unset-variable" out
'

test_expect_success 'compose dialect: keys with - and . load (compose-go accepts them)' '
	printf "my-name=1\napp.name=x\nLAST=2\n" >dash.env &&
	ops-envcheck print dash.env >out &&
	echo "{\"my-name\": \"1\", \"app.name\": \"x\", \"LAST\": \"2\"}" >expect && test_cmp expect out
'

test_expect_success 'compare: # optional in the example; only required keys are CRITICAL; empty is missing' '
	mkdir opt && cd opt &&
	printf "A=1\nAPI_TOKEN=\nOPT_EMPTY=\n" >.env &&
	printf "A=\nAPI_TOKEN=\nOPT_EMPTY= # optional\n# optional: only for the worker\nWORKER_QUEUE=\n" >.env.example &&
	{ ops-envcheck compare .env .env.example >out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*drift-missing .*API_TOKEN is required by .env.example but empty in .env" out &&
	test_grep_not "OPT_EMPTY\|WORKER_QUEUE" out &&
	test_grep "(2 optional ones absent or empty)" out &&
	printf "A=1\nAPI_TOKEN=t0k3n-value\n" >.env &&
	ops-envcheck compare .env .env.example >out && test_grep "^OK .*drift" out
'

test_expect_success 'compare: "# not optional" and "# optionally ..." leave a key required' '
	mkdir notopt && cd notopt &&
	printf "A=1\n" >.env &&
	printf "A=\nAPI_TOKEN= # not optional\n# optionally read by the worker\nQUEUE=\nDSN= # (Optional)\n" >.env.example &&
	{ ops-envcheck compare .env .env.example >out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*API_TOKEN is in .env.example but missing" out &&
	test_grep "^CRITICAL .*QUEUE is in .env.example but missing" out &&
	test_grep_not "DSN is in" out
'

test_done
