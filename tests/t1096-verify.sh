#!/bin/sh
# ops-envcheck --verify: a Google service account's JWT is exchanged at its token_uri.
# A local token endpoint (tests/lib/token-endpoint.py, 127.0.0.1) checks the RS256
# signature against the public key of a throwaway key pair made here, and records what
# it got; a second key pair it does not know stands for a revoked key.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd openssl python3
python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography is not installed"

openssl genrsa -out known.pem 2048 2>/dev/null && openssl rsa -in known.pem -pubout -out known.pub 2>/dev/null &&
openssl genrsa -out revoked.pem 2048 2>/dev/null || exit 1

# start_endpoint [ARGS...]: a token endpoint knowing known.pub; $URI, log in $TRASH/log
start_endpoint() {
	rm -f port log
	python3 "$OPSKIT_ROOT/tests/lib/token-endpoint.py" --port-file port --log log --pubkey known.pub \
		--max-requests 10 --lifetime 60 "$@" &
	echo $! >endpoint.pid
	for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
	URI=http://127.0.0.1:$(cat port)/token
}
stop_endpoint() { [ -s endpoint.pid ] && kill "$(cat endpoint.pid)" 2>/dev/null || :; rm -f endpoint.pid; :; }
test_cleanup_add 'cd "$TRASH" && stop_endpoint'

# sa PEM TOKEN_URI: a service-account JSON file sa.json and .env naming it
sa() {
	python3 - "$@" <<-'PY'
	import json, sys
	d = {"type": "service_account", "project_id": "tts-demo", "private_key_id": "kid-0a1b2c3d4e5f",
	     "private_key": open(sys.argv[1]).read(), "client_email": "tts@tts-demo.iam.gserviceaccount.com",
	     "client_id": "1234567890", "token_uri": sys.argv[2]}
	json.dump(d, open("sa.json", "w"))
	PY
	printf 'GOOGLE_APPLICATION_CREDENTIALS=%s/sa.json\n' "$PWD" >.env && chmod 600 .env
}
# no_secret FILE: neither the private key, the assertion nor the access token in FILE
no_secret() {
	! grep -q "LOCAL-ACCESS-TOKEN\|PRIVATE KEY\|eyJ" "$1" &&
	! grep -qF "$(sed -n 2p known.pem)" "$1" && ! grep -qF "$(sed -n 2p revoked.pem)" "$1"
}

test_expect_success 'without --verify nothing is sent' '
	start_endpoint && sa known.pem "$URI" &&
	ops-envcheck --no-git .env >out 2>&1 &&
	test_grep_not credential-verify out && ! test -s log
'
stop_endpoint

test_expect_success 'a key the issuer knows: OK, the JWT carries exactly the claims' '
	start_endpoint && sa known.pem "$URI" &&
	ops-envcheck --no-git --verify --format json .env >out.json 2>err &&
	ops-envcheck --no-git --verify .env >out 2>>err &&
	test_grep "^OK .*credential-verify .*GOOGLE_APPLICATION_CREDENTIALS: the credential works: 127.0.0.1 issued an access token" out &&
	json_assert out.json "c = [x for x in d[\"checks\"] if x[\"id\"] == \"credential-verify\"][0]; assert c[\"status\"] == \"ok\", c" &&
	python3 - "$URI" <<-\PY &&
	import json, sys
	recs = [json.loads(l) for l in open("log")]
	assert len(recs) == 2, recs
	for r in recs:
	    assert r["method"] == "POST" and r["path"] == "/token", r
	    assert r["content_type"] == "application/x-www-form-urlencoded", r
	    assert r["form_keys"] == ["assertion", "grant_type"], r
	    assert r["headers"] == ["accept", "content-length", "content-type", "host", "user-agent"], r["headers"]
	    assert r["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer", r
	    assert r["signature_ok"], r
	    assert r["header"] == {"alg": "RS256", "typ": "JWT", "kid": "kid-0a1b2c3d4e5f"}, r["header"]
	    c = r["claims"]
	    assert sorted(c) == ["aud", "exp", "iat", "iss", "scope"], c
	    assert c["iss"] == "tts@tts-demo.iam.gserviceaccount.com" and c["aud"] == sys.argv[1], c
	    assert c["scope"] == "https://www.googleapis.com/auth/cloud-platform", c
	    assert c["exp"] - c["iat"] == 3600, c
	PY
	no_secret out && no_secret out.json && no_secret err
'
stop_endpoint

test_expect_success 'the same credential inline (GOOGLE_CLOUD_CREDENTIALS_B64) is verified too' '
	start_endpoint && sa known.pem "$URI" &&
	printf "GOOGLE_CLOUD_CREDENTIALS_B64=%s\n" "$(base64 -w0 sa.json)" >.env &&
	ops-envcheck --no-git --verify .env >out 2>&1 &&
	test_grep "^OK .*credential-verify .*GOOGLE_CLOUD_CREDENTIALS_B64: the credential works" out &&
	test "$(wc -l <log)" -eq 1 && no_secret out
'
stop_endpoint

test_expect_success 'a service account pasted as JSON under any key is verified too; the same one is sent once' '
	start_endpoint && sa known.pem "$URI" &&
	printf "TTS_SERVICE_ACCOUNT='"'"'%s'"'"'\n" "$(cat sa.json)" >>.env &&
	{ ops-envcheck --no-git --verify .env >out 2>&1; test $? -eq 1; } &&
	test_grep "^WARNING .*secret-format .*TTS_SERVICE_ACCOUNT holds a private key" out &&
	test_grep "^OK .*credential-verify .*TTS_SERVICE_ACCOUNT: the credential works" out &&
	test_grep "^OK .*credential-verify .*GOOGLE_APPLICATION_CREDENTIALS: the credential works" out &&
	test "$(wc -l <log)" -eq 1 && python3 -c "import json; r = json.loads(open(\"log\").readline()); assert r[\"signature_ok\"], r" &&
	no_secret out && ops-envcheck print .env >out && no_secret out
'
stop_endpoint

test_expect_code 2 'a revoked key: CRITICAL with the OAuth error, no secret shown' '
	start_endpoint && sa revoked.pem "$URI" &&
	{ ops-envcheck --no-git --verify .env >out 2>&1; rc=$?; } &&
	test_grep "^CRITICAL .*credential-verify .*127.0.0.1 refused the credential (HTTP 400): invalid_grant: Invalid JWT Signature." out &&
	test_grep "hint: the key was revoked or deleted" out &&
	python3 -c "import json; r = json.loads(open(\"log\").readline()); assert not r[\"signature_ok\"], r" &&
	no_secret out && exit $rc
'
stop_endpoint

test_expect_code 2 'a disabled account: CRITICAL with the issuer'"'"'s description and the matching hint' '
	start_endpoint --refuse "Invalid grant: account disabled" && sa known.pem "$URI" &&
	{ ops-envcheck --no-git --verify .env >out 2>&1; rc=$?; } &&
	test_grep "^CRITICAL .*credential-verify .*refused the credential (HTTP 400): invalid_grant: Invalid grant: account disabled" out &&
	test_grep "hint: the service account is disabled" out && exit $rc
'
stop_endpoint

test_expect_code 3 'the endpoint failing (HTTP 500) is UNKNOWN, not a verdict' '
	start_endpoint --status-override 500 && sa known.pem "$URI" &&
	{ ops-envcheck --no-git --verify .env >out 2>&1; rc=$?; } &&
	test_grep "^UNKNOWN .*credential-verify .*127.0.0.1 answered HTTP 500: internal_failure" out && exit $rc
'
stop_endpoint

test_expect_code 3 'a redirect is not followed: the credential goes to one URL only' '
	start_endpoint --status-override 307 && sa known.pem "$URI" &&
	{ ops-envcheck --no-git --verify .env >out 2>&1; rc=$?; } &&
	test_grep "^UNKNOWN .*credential-verify .*127.0.0.1 answered HTTP 307" out &&
	test "$(wc -l <log)" -eq 1 && test_grep_not stolen log && exit $rc
'
stop_endpoint

test_expect_code 3 'nothing listening: UNKNOWN within the timeout' '
	port=$(free_port) && sa known.pem "http://127.0.0.1:$port/token" &&
	{ run_with_timeout 20 ops-envcheck --no-git --verify --verify-timeout 2s .env >out 2>&1; rc=$?; } &&
	test_grep "^UNKNOWN .*credential-verify .*cannot reach the token endpoint 127.0.0.1" out && exit $rc
'

test_expect_code 3 'a token_uri on another host is never contacted' '
	sa known.pem "https://collector.invalid/token" &&
	{ ops-envcheck --no-git --verify .env >out 2>&1; rc=$?; } &&
	test_grep "^UNKNOWN .*credential-verify .*token_uri names collector.invalid, which is not Google.s token endpoint; the credential is sent to no other host" out &&
	test_grep "hint: .*envcheck.verify_allow_token_uri" out && exit $rc
'

test_expect_code 3 'a loopback name is not a loopback address; plain http elsewhere is refused' '
	sa known.pem "http://localhost:9/token" &&
	{ ops-envcheck --no-git .env >out 2>&1; rc=$?; } &&
	test_grep "^CRITICAL .*credentials .*token_uri is not an https:// URL" out &&
	sa known.pem "https://localhost:9/token" &&
	{ ops-envcheck --no-git --verify .env >out 2>&1; rc=$?; } &&
	test_grep "token_uri names localhost, which is not Google" out && exit $rc
'

test_expect_code 3 'envcheck.verify_allow_token_uri lets one more https issuer be used (0.0.0.0: stays on this machine)' '
	uri=https://0.0.0.0:$(free_port)/token &&
	sa known.pem "$uri" && { ops-envcheck --no-git --verify .env >out 2>&1; test $? -le 3; } &&
	test_grep "token_uri names 0.0.0.0, which is not Google" out &&
	printf "envcheck:\n  verify_allow_token_uri: [\"%s\"]\n  verify_timeout: 2s\n" "$uri" >opskit.yaml &&
	{ run_with_timeout 20 ops-envcheck --config opskit.yaml --no-git --verify .env >out 2>&1; rc=$?; } &&
	test_grep "^UNKNOWN .*credential-verify .*cannot reach the token endpoint 0.0.0.0" out && exit $rc
'

test_done
