#!/bin/sh
# ops-envcheck --schema: types, ranges, rules, features and cloud/TTS credentials (a
# Google service account as base64, as a file, or pasted as JSON into a value).
# Service-account keys are generated here with openssl (2048 bits good, 1024 too small).
. "$(dirname "$0")/test-lib.sh"
test_require_cmd openssl python3

SCHEMA=$OPSKIT_ROOT/configs/envcheck-tts.schema.yaml
openssl genrsa -out good.pem 2048 2>/dev/null && openssl genrsa -out small.pem 1024 2>/dev/null &&
openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null || exit 1

# sa PEM [FIELD=VALUE | -FIELD]...: a service-account JSON on stdout
sa() {
	python3 - "$@" <<-'PY'
	import json, sys
	pem = open(sys.argv[1]).read() if sys.argv[1] != "-" else "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
	d = {"type": "service_account", "project_id": "tts-demo", "private_key_id": "0a1b2c3d4e5f60718293",
	     "private_key": pem, "client_email": "tts@tts-demo.iam.gserviceaccount.com",
	     "token_uri": "https://oauth2.googleapis.com/token"}
	for a in sys.argv[2:]:
	    if a.startswith("-"): d.pop(a[1:])
	    else: k, v = a.split("=", 1); d[k] = v
	print(json.dumps(d))
	PY
}
b64() { base64 -w0; }
env_with() { printf 'DATABASE_URL=postgres://app:Sup3rSecretPw@db:5432/app\nGOOGLE_CLOUD_CREDENTIALS_B64=%s\n' "$1" >.env; }
# run_creds: the credentials check line of a schema run
run_creds() { ops-envcheck --no-git --schema "$SCHEMA" .env >out 2>&1; echo $? >rc; grep "credentials" out >line || true; }

test_expect_success 'a good service account (base64) is OK' '
	env_with "$(sa good.pem | b64)" && run_creds &&
	test_grep "^OK .*credentials.*service account tts@tts-demo.iam.gserviceaccount.com of project tts-demo, RSA 2048 bits" line &&
	test "$(cat rc)" -le 1
'

for bad in \
	"bad-base64|not!!base64|step 1 (base64)" \
	"not-json|$(printf 'hello: world' | base64 -w0)|step 2 (JSON): the content is not JSON" \
	"missing-field|$(sa good.pem -private_key_id | base64 -w0)|step 4 (fields): field \"private_key_id\" is missing" \
	"wrong-type|$(sa good.pem type=user | base64 -w0)|step 3 (type)" \
	"bad-email|$(sa good.pem client_email=me@gmail.com | base64 -w0)|client_email is not" \
	"unparseable-key|$(sa - | base64 -w0)|step 5 (private key): private_key does not parse" \
	"small-key|$(sa small.pem | base64 -w0)|RSA key has 1024 bits, fewer than 2048" \
	"ec-key|$(sa ec.pem | base64 -w0)|is not an RSA key"
do
	name=${bad%%|*}; rest=${bad#*|}; value=${rest%%|*}; want=${rest#*|}
	test_expect_success "credentials $name: CRITICAL, says which step failed" "
		env_with '$value' && run_creds &&
		test \$(cat rc) -eq 2 && test_grep '^CRITICAL .*credentials' line &&
		grep -F -q '$want' line
	"
done

test_expect_success 'the private key and secret values never appear in any format' '
	sa small.pem >sa.json && env_with "$(b64 <sa.json)" &&
	for f in text json sarif github prometheus nagios; do
		ops-envcheck --no-git --format $f --schema "$SCHEMA" .env >out 2>&1
		! grep -q "PRIVATE KEY\|0a1b2c3d4e5f60718293\|Sup3rSecretPw" out || { cat out; return 1; }
		! grep -qF "$(b64 <sa.json | cut -c 20-80)" out || return 1
	done
'

test_expect_success 'GOOGLE_APPLICATION_CREDENTIALS: a readable file with a good key is OK' '
	sa good.pem >sa.json &&
	printf "DATABASE_URL=postgres://db/app\nGOOGLE_APPLICATION_CREDENTIALS=%s/sa.json\n" "$PWD" >.env &&
	{ ops-envcheck --no-git --schema "$SCHEMA" .env >out; test $? -le 1; } &&
	test_grep "^OK .*credentials.*RSA 2048 bits" out
'

test_expect_success 'GOOGLE_APPLICATION_CREDENTIALS: a missing file or a bad key is CRITICAL' '
	printf "DATABASE_URL=postgres://db/app\nGOOGLE_APPLICATION_CREDENTIALS=/nonexistent/sa.json\n" >.env &&
	{ ops-envcheck --no-git --schema "$SCHEMA" .env >out; test $? -eq 2; } &&
	test_grep "step 1 (file): cannot read .*No such file" out &&
	sa small.pem >small.json &&
	printf "DATABASE_URL=postgres://db/app\nGOOGLE_APPLICATION_CREDENTIALS=%s/small.json\n" "$PWD" >.env &&
	{ ops-envcheck --no-git --schema "$SCHEMA" .env >out; test $? -eq 2; } && test_grep "1024 bits" out
'

test_expect_success 'credentials absent: the feature is disabled (warning, not a crash)' '
	printf "DATABASE_URL=postgres://db/app\n" >.env &&
	{ ops-envcheck --no-git --schema "$SCHEMA" .env >out; test $? -eq 1; } &&
	test_grep "^WARNING .*feature-disabled .*google-tts is disabled" out
'

test_expect_success 'without a schema, a broken GOOGLE_CLOUD_CREDENTIALS_B64 is still CRITICAL' '
	printf "GOOGLE_CLOUD_CREDENTIALS_B64=not-base64!\n" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 2; } && test_grep "step 1 (base64)" out
'

test_expect_success 'Azure half configured is CRITICAL; AWS key formats are checked' '
	printf "DATABASE_URL=postgres://db/app\nSPEECH_KEY=0123456789abcdef0123456789abcdef\n" >.env &&
	{ ops-envcheck --no-git --schema "$SCHEMA" .env >out; test $? -eq 2; } &&
	test_grep "feature-incomplete .*azure-tts is half configured: SPEECH_KEY set but SPEECH_REGION missing" out &&
	printf "DATABASE_URL=postgres://db/app\nAWS_ACCESS_KEY_ID=AKIA123\nAWS_SECRET_ACCESS_KEY=short\n" >.env &&
	{ ops-envcheck --no-git --schema "$SCHEMA" .env >out; test $? -eq 2; } &&
	test_grep "AWS_ACCESS_KEY_ID=AKIA123 is not an AWS access key id" out &&
	test_grep "AWS_SECRET_ACCESS_KEY=\*\*\* is not an AWS secret" out
'

cat >types.yaml <<'EOF2'
unknown_keys: ok
keys:
  I: {type: int, min: 1, max: 10}
  N: {type: number}
  B: {type: bool}
  P: {type: port}
  U: {type: url}
  D: {type: dsn}
  E: {type: email}
  H: {type: host}
  T: {type: duration, min: 1s, max: 1m}
  L: {values: [a, b]}
  R: {type: regex}
  B64: {type: base64}
  J: {type: json}
  F: {type: file-exists}
  S: {type: string, min_length: 8}
  REQ: {required: true, description: needed by the worker, example: "yes"}
  OLD: {deprecated: use NEW instead}
  X: {requires: [Y]}
EOF2

test_expect_success 'every type accepts good values' '
	printf "I=5\nN=2.5\nB=yes\nP=5432\nU=https://example.com:8443/x\nD=redis://:pw@127.0.0.1:6379/0\nE=ops@example.com\nH=db-1.internal\nT=30s\nL=a\nR='"'"'^a+\$'"'"'\nB64=aGVsbG8=\nJ={\"a\":[1]}\nF=types.yaml\nS=longenough\nREQ=1\n" >.env &&
	{ ops-envcheck --no-git --schema types.yaml .env >out; test $? -le 1; } &&
	test_grep_not "schema-type\|schema-range\|schema-required" out
'

test_expect_success 'every type rejects bad values, with a hint' '
	printf "I=11\nN=x\nB=maybe\nP=70000\nU=nota url\nD=mysql://db/x\nE=no-at\nH=bad_host!\nT=2h\nL=c\nR=(\nB64=abc\nJ={\nF=/nonexistent\nS=short\nOLD=1\nX=1\n" >.env &&
	{ ops-envcheck --no-git --format json --schema types.yaml .env >out; test $? -eq 2; } &&
	python3 - <<-PY
	import json
	d = json.load(open("out"))
	got = {c["subject"] for c in d["checks"] if c["id"] in ("schema-type", "schema-range")}
	want = set("I N B P U D E H T L R B64 J F S".split())
	assert want <= got, want - got
	ids = {c["id"] for c in d["checks"]}
	assert {"schema-required", "schema-deprecated", "schema-requires"} <= ids, ids
	assert all(c["hint"] for c in d["checks"] if c["status"] == "critical")
	PY
'

test_expect_success 'schema secret: true masks even short values' '
	printf "keys:\n  PIN: {type: int, secret: true, max: 5}\n" >sec.yaml &&
	printf "PIN=42\n" >.env &&
	{ ops-envcheck --no-git --schema sec.yaml .env >out; test $? -eq 2; } &&
	test_grep "PIN=\*\*\* is out of range" out && test_grep_not "42" out
'

test_expect_code 3 'a bad schema is UNKNOWN (exit 3), located' '
	printf "keys:\n  A: {type: nope}\n" >bad.yaml && printf "A=1\n" >.env &&
	{ ops-envcheck --no-git --schema bad.yaml .env >out 2>&1; rc=$?; } && grep -q "bad.yaml:2:" out && exit $rc
'

test_expect_code 3 'a pattern that does not compile is a schema error (exit 3), not a skipped rule' '
	printf "keys:\n  A: {pattern: \"([a-z\"}\n" >badre.yaml && printf "A=1\n" >.env &&
	{ ops-envcheck --no-git --schema badre.yaml .env >out 2>&1; rc=$?; } &&
	grep -q "schema-invalid .*badre.yaml:2:.*pattern of A does not compile" out && exit $rc
'

test_expect_code 3 'min/max on a non-numeric type is a schema error (exit 3)' '
	printf "keys:\n  NAME: {type: string, min: 3}\n" >minstr.yaml && printf "NAME=ab\n" >.env &&
	{ ops-envcheck --no-git --schema minstr.yaml .env >out 2>&1; rc=$?; } &&
	grep -q "minstr.yaml:2:.*min of NAME needs a numeric type" out &&
	printf "keys:\n  U: {type: url, max: 3}\n" >maxurl.yaml &&
	{ ops-envcheck --no-git --schema maxurl.yaml .env >out 2>&1; test $? -eq 3; } &&
	grep -q "max of U needs a numeric type" out && exit $rc
'

test_expect_success 'a schema does not turn off the built-in credential checks for keys it does not list' '
	printf "keys:\n  PORT: {type: port}\n" >small.yaml &&
	printf "PORT=8080\nGOOGLE_CLOUD_CREDENTIALS_B64=not-base64!\nAWS_ACCESS_KEY_ID=AKIA123\n" >.env &&
	{ ops-envcheck --no-git --schema small.yaml .env >out; test $? -eq 2; } &&
	test_grep "step 1 (base64)" out && test_grep "AWS_ACCESS_KEY_ID=AKIA123 is not an AWS access key id" out &&
	printf "keys:\n  AWS_ACCESS_KEY_ID: {type: string}\n" >own.yaml &&
	{ ops-envcheck --no-git --schema own.yaml .env >out; test $? -eq 2; } &&
	test_grep "step 1 (base64)" out && test_grep_not "is not an AWS access key id" out
'

test_expect_success 'types: unix:// URLs, libpq socket URIs and multi-host URIs are valid' '
	printf "keys:\n  U: {type: url}\n  D1: {type: dsn}\n  D2: {type: dsn}\n  D3: {type: dsn}\n  D4: {type: dsn}\n  BAD: {type: dsn}\n" >uri.yaml &&
	printf "U=unix:///run/app.sock\nD1=postgresql:///db?host=/run/postgresql\nD2=postgresql://h1:5432,h2:5433/db\nD3=unix:///var/run/redis/redis.sock\nD4=postgres://app@[::1]:5432,db-2:6432/app?target_session_attrs=read-write\nBAD=postgresql://h1:5432,h2:99999/db\n" >.env &&
	{ ops-envcheck --no-git --schema uri.yaml .env >out; test $? -eq 2; } &&
	test_grep "BAD=.* has a bad port" out &&
	test_grep_not "schema-type .*\(U\|D1\|D2\|D3\|D4\)=" out
'

# twice.json: a service account whose private_key holds \n as two characters
sa good.pem | python3 -c 'import json, sys
d = json.load(sys.stdin)
d["private_key"] = d["private_key"].replace("\n", "\\n")
print(json.dumps(d))' >twice.json

test_expect_success 'GCP: a private_key escaped twice (\\n) gets "unescape it", not "regenerate the key"' '
	env_with "$(b64 <twice.json)" && run_creds &&
	test $(cat rc) -eq 2 && test_grep "escaped twice); unescaped, the key parses" line &&
	test_grep "unescape it" out && test_grep_not "regenerate the service-account key" out && test_grep_not "PRIVATE KEY" out
'

test_expect_success 'SARIF: a finding without a line (a required key missing) has the file as its location' '
	printf "keys:\n  NEEDED: {required: true}\nfeatures:\n  f: {any_of: [OPT], when_absent: warning}\n" >req.yaml &&
	printf "OTHER=1\n" >.env &&
	{ ops-envcheck --no-git --format sarif --schema req.yaml .env >out; test $? -eq 2; } &&
	python3 - <<-PY
	import json
	r = json.load(open("out"))["runs"][0]["results"]
	assert {x["ruleId"] for x in r} >= {"schema-required", "feature-disabled"}, r
	for x in r:
	    assert x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ".env", x
	PY
'

test_expect_success 'required means non-empty (API_TOKEN= is missing) unless allow_empty' '
	printf "keys:\n  API_TOKEN: {required: true}\n  OPTIONAL_SUFFIX: {required: true, allow_empty: true, type: int}\n" >req2.yaml &&
	printf "API_TOKEN=\nOPTIONAL_SUFFIX=\n" >.env &&
	{ ops-envcheck --no-git --schema req2.yaml .env >out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*schema-required .*API_TOKEN is required but empty" out &&
	test_grep_not "OPTIONAL_SUFFIX" out
'

test_expect_success 'required_in: [production] is required only with --environment production (or the config)' '
	printf "unknown_keys: ok\nkeys:\n  SENTRY_DSN: {required_in: [production, staging]}\n" >env.yaml &&
	printf "OTHER=1\n" >.env &&
	ops-envcheck --no-git --schema env.yaml .env >out && test_grep_not schema-required out &&
	ops-envcheck --no-git --schema env.yaml --environment dev .env >out && test_grep_not schema-required out &&
	{ ops-envcheck --no-git --schema env.yaml --environment production .env >out; test $? -eq 2; } &&
	test_grep "SENTRY_DSN is required but not set in production" out &&
	printf "envcheck:\n  environment: staging\n" >opskit.yaml &&
	{ ops-envcheck --config opskit.yaml --no-git --schema env.yaml .env >out; test $? -eq 2; } &&
	test_grep "not set in staging" out
'

test_expect_success 'GCP: wrapped or URL-safe base64 decodes as Google'"'"'s libraries do, with a WARNING' '
	sa good.pem "note=???~~~>>>" >wrap.json && base64 -w0 <wrap.json | grep -q "[+/]" &&
	printf "GOOGLE_CLOUD_CREDENTIALS_B64=\"%s\"\n" "$(base64 -w 76 <wrap.json)" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 1; } &&
	test_grep "^WARNING .*credentials .*RSA 2048 bits; the base64 is wrapped on several lines" out &&
	test_grep "base64 -w0 key.json" out &&
	printf "GOOGLE_CLOUD_CREDENTIALS_B64=%s\n" "$(base64 -w0 <wrap.json | sed "s|+|-|g; s|/|_|g; s|=||g")" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 1; } &&
	test_grep "the base64 is URL-safe" out && test_grep_not "PRIVATE KEY" out
'

# A service account pasted as JSON into a value: recognised by its content under any key,
# checked as the base64 and file forms are, masked everywhere.
test_expect_success 'GCP: a service account pasted as JSON (single quotes, \n escapes) is OK under any key' '
	printf "GOOGLE_CREDENTIALS='"'"'%s'"'"'\nGOOGLE_APPLICATION_CREDENTIALS_JSON='"'"'%s'"'"'\nSA_CONFIG='"'"'%s'"'"'\n" \
		"$(sa good.pem)" "$(sa good.pem)" "$(sa good.pem)" >.env && chmod 600 .env &&
	{ ops-envcheck --no-git .env >out; test $? -le 1; } &&
	for k in GOOGLE_CREDENTIALS GOOGLE_APPLICATION_CREDENTIALS_JSON SA_CONFIG; do
		test_grep "^OK .*credentials .*$k: service account tts@tts-demo.iam.gserviceaccount.com of project tts-demo, RSA 2048 bits" out || return 1
	done &&
	test_grep "secret-format .*SA_CONFIG holds a private key under a name that does not look secret" out
'

test_expect_success 'GCP: pasted JSON gets the same steps: fields, key parse, the \\n hint' '
	printf "SA_JSON='"'"'%s'"'"'\n" "$(sa good.pem -private_key_id)" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*credentials .*SA_JSON is set but broken: step 4 (fields): field \"private_key_id\" is missing" out &&
	printf "SA_JSON='"'"'%s'"'"'\n" "$(sa small.pem)" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 2; } && test_grep "RSA key has 1024 bits" out &&
	printf "SA_JSON='"'"'%s'"'"'\n" "$(cat twice.json)" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 2; } &&
	test_grep "escaped twice); unescaped, the key parses" out && test_grep "hint: unescape it" out &&
	test_grep_not "base64 -w0" out
'

test_expect_success 'GCP: pasted JSON that a loader broke, or under a key for a path or base64, says so' '
	sa good.pem | sed "s/\"/\\\\\"/g" >dq.txt && printf "SA_JSON=\"%s\"\n" "$(cat dq.txt)" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 2; } &&
	test_grep "SA_JSON is set but broken: step 2 (JSON): the content is not JSON" out &&
	test_grep "hint: the loader turned the \\\\n escapes of private_key into line breaks" out &&
	printf "GOOGLE_APPLICATION_CREDENTIALS='"'"'%s'"'"'\nGOOGLE_CLOUD_CREDENTIALS_B64='"'"'%s'"'"'\n" \
		"$(sa good.pem)" "$(sa good.pem)" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 2; } &&
	test_grep "GOOGLE_APPLICATION_CREDENTIALS is set but broken: step 1 (file): the value is the service account JSON itself, not the path" out &&
	test_grep "hint: write the JSON to a file" out &&
	test_grep "GOOGLE_CLOUD_CREDENTIALS_B64 is set but broken: step 1 (base64): the value is the service account JSON itself" out &&
	test_grep "hint: store its base64 instead" out
'

test_expect_success 'GCP: a schema type gcp-service-account-json; other JSON is not a service account' '
	printf "keys:\n  CREDS: {type: gcp-service-account-json, required: true}\n" >sajson.yaml &&
	printf "CREDS='"'"'%s'"'"'\n" "$(sa good.pem type=authorized_user)" >.env &&
	{ ops-envcheck --no-git --schema sajson.yaml .env >out; test $? -eq 2; } &&
	test_grep "CREDS is set but broken: step 3 (type)" out &&
	printf "CONFIG='"'"'{\"type\": \"authorized_user\", \"note\": \"service_account\"}'"'"'\n" >.env &&
	ops-envcheck --no-git .env >out && test_grep_not credentials out &&
	ops-envcheck print .env >out && test_grep authorized_user out
'

test_expect_success 'GCP: pasted JSON is masked in every format, in print and in env --stack' '
	printf "APP_CONFIG='"'"'%s'"'"'\n" "$(sa good.pem -private_key_id)" >.env && chmod 600 .env &&
	for f in text json sarif github prometheus nagios; do
		ops-envcheck --no-git --format $f .env >out 2>&1
		! grep -q "PRIVATE KEY\|tts-demo.iam\|$(sed -n 2p good.pem | cut -c1-40)" out || { cat out; return 1; }
	done &&
	ops-envcheck print .env >out && test_grep "\"APP_CONFIG\": \"\*\*\*\"" out &&
	{ ops-envcheck --no-git env --stack dotenv . >out; test $? -eq 2; } && test_grep "APP_CONFIG .*\*\*\*" out &&
	test_grep_not "PRIVATE KEY\|tts-demo" out
'

test_expect_code 2 'GCP: --stack compose checks each service'"'"'s credentials; a container path is not looked for here' '
	mkdir cp && printf "services:\n  api:\n    env_file: sa.env\n  worker:\n    env_file: sa.env\n    environment:\n      GOOGLE_APPLICATION_CREDENTIALS: /run/secrets/none/sa.json\n" >cp/compose.yaml &&
	printf "SA_JSON='"'"'%s'"'"'\n" "$(sa small.pem)" >cp/sa.env && chmod 600 cp/sa.env && : >cp/.env &&
	{ ops-envcheck --no-git -v --format json env --stack compose cp >out.json; rc=$?; } &&
	python3 - <<-\PY && test_grep_not "PRIVATE KEY" out.json && exit $rc
	import json
	d = json.load(open("out.json"))
	got = sorted((c["subject"], c["status"]) for c in d["checks"] if c["id"] == "credentials")
	assert got == [("api/SA_JSON", "critical"), ("worker/GOOGLE_APPLICATION_CREDENTIALS", "ok"),
	               ("worker/SA_JSON", "critical")], got
	c = [c for c in d["checks"] if c["subject"] == "worker/GOOGLE_APPLICATION_CREDENTIALS"][0]
	assert "/run/secrets/none/sa.json is not on this machine, not checked" in c["message"], c
	assert "1024 bits" in [c for c in d["checks"] if c["subject"] == "api/SA_JSON"][0]["message"]
	PY
'

# found by tests/fuzz/fuzz-envschema: a second keys: wrote past the first one's array
test_expect_code 3 'a top-level field given twice is refused (exit 3), located' '
	printf "keys:\n  A: {type: int}\n  B: {type: int}\nkeys:\n  C: {}\n  D: {}\n  E: {}\n" >twice.yaml &&
	printf "A=1\n" >.env &&
	{ ops-envcheck --no-git --schema twice.yaml .env >out 2>&1; rc=$?; } &&
	test_grep "twice.yaml:4:.*keys.* is given twice" out && exit $rc
'

test_done
