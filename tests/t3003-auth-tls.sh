#!/bin/sh
# ops-promote: basic auth, Bearer tokens from a token service, TLS with a throwaway CA,
# credentials from the docker config and a credential helper; secrets never printed.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3 htpasswd openssl

start_registry basic basic || { echo "Bail out! basic registry did not start"; exit 1; }
start_registry tok token || { echo "Bail out! token registry did not start"; exit 1; }
start_registry tls tls || { echo "Bail out! tls registry did not start"; exit 1; }
start_registry m mtls || { echo "Bail out! mtls registry did not start"; exit 1; }
CREDS=$REG_USER:$REG_PASS
test_expect_success 'setup: images in the three registries' '
	make_test_image img pr-1 2 2048 1111111 >index.digest &&
	push_test_image img pr-1 $REG_BASIC/app:pr-1 --dest-creds $CREDS &&
	push_test_image img pr-1 $REG_TOK/app:pr-1 --dest-creds $CREDS &&
	push_test_image img pr-1 $REG_TLS/app:pr-1 --dest-cert-dir "$REG_TLS_DIR/certs.d"
'

test_expect_success 'basic auth: anonymous is refused with one clear sentence (exit 2)' '
	rc=0; HOME=$TRASH/nohome ops-promote $REG_BASIC/app:pr-1 $REG_BASIC/app:prod >out 2>&1 || rc=$? &&
	test $rc -eq 2 && test_grep "authentication is required or was refused" out
'

test_expect_success 'basic auth: --src-creds retags in 3 requests after the 401' '
	n=$(registry_requests basic) &&
	ops-promote --src-creds $CREDS --format json $REG_BASIC/app:pr-1 $REG_BASIC/app:prod >out.json &&
	json_assert out.json "assert d[\"action\"] == \"retagged\" and d[\"verified\"] is True, d" &&
	test "$(registry_requests_since basic $n)" -le 4 &&
	test "$(skopeo_digest $REG_BASIC/app:prod --creds $CREDS)" = "$(cat index.digest)"
'

test_expect_success 'basic auth: a wrong password fails clearly and is never printed' '
	! ops-promote -v --src-creds promoter:wrong-password-123 $REG_BASIC/app:pr-1 $REG_BASIC/app:prod2 >out 2>err &&
	test_grep "authentication is required or was refused" out &&
	test_grep_not "wrong-password-123" out && test_grep_not "wrong-password-123" err
'

test_expect_success 'basic auth: credentials from ~/.docker/config.json (auths)' '
	mkdir -p home/.docker &&
	printf "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}\n" $REG_BASIC "$(printf %s $CREDS | base64)" >home/.docker/config.json &&
	HOME=$TRASH/home ops-promote -v $REG_BASIC/app:pr-1 $REG_BASIC/app:fromconfig >out 2>err &&
	test_grep "retagged" out && test_grep_not "$REG_PASS" err &&
	test_grep_not "$(printf %s $CREDS | base64)" err
'

test_expect_success 'basic auth: credentials from a docker-credential helper (no shell)' '
	mkdir -p helper home2/.docker &&
	printf "#!/bin/sh\nread host\necho \"{\\\\\"Username\\\\\":\\\\\"%s\\\\\",\\\\\"Secret\\\\\":\\\\\"%s\\\\\"}\"\n" $REG_USER $REG_PASS >helper/docker-credential-opskit &&
	chmod +x helper/docker-credential-opskit &&
	printf "{\"credHelpers\": {\"%s\": \"opskit\"}}\n" $REG_BASIC >home2/.docker/config.json &&
	HOME=$TRASH/home2 PATH=$TRASH/helper:$PATH ops-promote $REG_BASIC/app:pr-1 $REG_BASIC/app:fromhelper >out &&
	test_grep "retagged" out
'

# A docker-credential-<name> stand-in: answers Username/Secret for host $1 when
# given that host on stdin; else the docker protocol's "not found" (exit 1).
write_helper() {
	cat >"helper/docker-credential-$1" <<-EOF &&
	#!/bin/sh
	read host
	echo "helper stderr mentions $REG_PASS" >&2
	if [ "\$host" = "$2" ]; then
		printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$host" "$REG_USER" "$REG_PASS"
	else
		echo "credentials not found in native keychain"; exit 1
	fi
	EOF
	chmod +x "helper/docker-credential-$1"
}

test_expect_success 'basic auth: credentials from the credsStore helper; its stderr is not passed on' '
	mkdir -p helper home3/.docker &&
	write_helper store $REG_BASIC &&
	printf "{\"credsStore\": \"store\"}\n" >home3/.docker/config.json &&
	HOME=$TRASH/home3 PATH=$TRASH/helper:$PATH ops-promote -v $REG_BASIC/app:pr-1 $REG_BASIC/app:fromstore >out 2>err &&
	test_grep "retagged" out && test_grep_not "$REG_PASS" err && test_grep_not "$REG_PASS" out
'

test_expect_success 'credsStore: "credentials not found" means anonymous, without a warning' '
	HOME=$TRASH/home3 PATH=$TRASH/helper:$PATH ops-promote --ca-file "$REG_CA_FILE" \
		$REG_TLS/app:pr-1 $REG_TLS/app:anon-store >out 2>err &&
	test_grep "retagged" out && test_grep_not "warning" err
'

test_expect_success 'a failing credential helper: a warning with its exit status, nothing it printed' '
	mkdir -p home4/.docker &&
	printf "#!/bin/sh\necho \"oops %s\"\necho \"%s\" >&2\nexit 7\n" $REG_PASS $REG_PASS >helper/docker-credential-broken &&
	chmod +x helper/docker-credential-broken &&
	printf "{\"credsStore\": \"broken\"}\n" >home4/.docker/config.json &&
	! HOME=$TRASH/home4 PATH=$TRASH/helper:$PATH ops-promote $REG_BASIC/app:pr-1 $REG_BASIC/app:x >out 2>err &&
	test_grep "docker-credential-broken get for $REG_BASIC failed (exit status 7)" err &&
	test_grep_not "$REG_PASS" err && test_grep_not "$REG_PASS" out
'

test_expect_success 'secrets: a malformed docker config is reported without quoting the auth' '
	mkdir -p home5/.docker &&
	auth=$(printf %s $CREDS | base64) &&
	printf "{\"auths\": {\"%s\": {\"auth\" \"%s\"}}}\n" $REG_BASIC "$auth" >home5/.docker/config.json &&
	! HOME=$TRASH/home5 ops-promote $REG_BASIC/app:pr-1 $REG_BASIC/app:x >out 2>err &&
	test_grep "is not valid JSON (line 1" err &&
	test_grep_not "$auth" err && test_grep_not "$auth" out
'

test_expect_success 'secrets: credentials written into a reference are refused, not echoed' '
	rc=0; ops-promote "$CREDS@$REG_BASIC/app:pr-1" $REG_BASIC/app:x >out 2>err || rc=$? &&
	test $rc -eq 3 && test_grep "without a scheme or credentials" err &&
	test_grep_not "$REG_PASS" err && test_grep_not "$REG_PASS" out &&
	{ ops-promote "https://$REG_BASIC/app:pr-1" $REG_BASIC/app:x >out 2>err; rc=$?; } &&
	test $rc -eq 3
'

test_expect_success 'basic auth: credentials from the config, password from a named env var' '
	cat >opskit.yaml <<-EOF &&
	promote:
	  registries:
	    local:
	      host: "$REG_BASIC"
	      username: $REG_USER
	      password_env: OPSKIT_TEST_REGISTRY_PASSWORD
	EOF
	HOME=$TRASH/nohome OPSKIT_TEST_REGISTRY_PASSWORD=$REG_PASS ops-promote --config opskit.yaml -v \
		$REG_BASIC/app:pr-1 $REG_BASIC/app:fromenv >out 2>err &&
	test_grep "retagged" out && test_grep_not "$REG_PASS" err
'

test_expect_success 'token auth: retag with a Bearer token, one token request, scopes pull,push, our User-Agent' '
	: >"$REG_TOK_TOKEN_LOG" &&
	n=$(registry_requests tok) &&
	ops-promote --src-creds $CREDS --format json $REG_TOK/app:pr-1 $REG_TOK/app:prod >out.json &&
	json_assert out.json "assert d[\"action\"] == \"retagged\" and d[\"verified\"] is True, d; \
		assert d[\"token_requests\"] == 1, d" &&
	test "$(grep -c "GET /token" "$REG_TOK_TOKEN_LOG")" -eq 1 &&
	test_grep "scope=repository%3Aapp%3Apull%2Cpush" "$REG_TOK_TOKEN_LOG" &&
	test_grep "GET /token.* ua=ops-promote/" "$REG_TOK_TOKEN_LOG" &&
	test "$(registry_requests_since tok $n)" -le 4 &&
	test "$(skopeo_digest $REG_TOK/app:prod --creds $CREDS)" = "$(cat index.digest)"
'

test_expect_success 'token auth: cross-repo mount asks pull on the source and pull,push on the target' '
	: >"$REG_TOK_TOKEN_LOG" &&
	ops-promote --src-creds $CREDS --format json $REG_TOK/app:pr-1 $REG_TOK/prod/app:1 >out.json &&
	json_assert out.json "assert d[\"action\"] == \"mounted\", d" &&
	test "$(grep -c "GET /token" "$REG_TOK_TOKEN_LOG")" -eq 1 &&
	test_grep "scope=repository%3Aapp%3Apull&scope=repository%3Aprod%2Fapp%3Apull%2Cpush" "$REG_TOK_TOKEN_LOG"
'

test_expect_success 'token auth: -v traces requests, never the password, token or Authorization' '
	ops-promote -v --src-creds $CREDS --format json $REG_TOK/app:pr-1 $REG_TOK/app:traced >out.json 2>err &&
	test_grep "> GET http://$REG_TOK/v2/app/manifests/pr-1" err &&
	test_grep "(token)" err &&
	test_grep_not "$REG_PASS" err && test_grep_not "eyJ" err && test_grep_not "Authorization" err &&
	test_grep_not "$REG_PASS" out.json && test_grep_not "eyJ" out.json
'

start_fault_proxy tp $REG_TOK || { echo "Bail out! proxy did not start"; exit 1; }

test_expect_success 'token auth: a token refused mid-run (expired) is renewed once, then it works' '
	printf "HEAD /v2/app/manifests/renewed unauth 1\n" >"$FAULT_TP_RULES" && : >"$FAULT_TP_LOG" &&
	ops-promote --src-creds $CREDS --format json $FAULT_TP/app:pr-1 $FAULT_TP/app:renewed >out.json &&
	test "$(grep -c "HEAD /v2/app/manifests/renewed unauth" "$FAULT_TP_LOG")" -eq 1 &&
	json_assert out.json "assert d[\"action\"] == \"retagged\" and d[\"verified\"] is True, d; \
		assert d[\"token_requests\"] == 2, d"
'

test_expect_success 'token auth: a blob stream refused mid-copy renews the token and the copy completes' '
	printf "GET /v2/app/blobs/ unauth 1\n" >"$FAULT_TP_RULES" && : >"$FAULT_TP_LOG" &&
	ops-promote --jobs 1 --src-creds $CREDS --dest-creds $CREDS --no-referrers --format json \
		$FAULT_TP/app:pr-1 $REG_BASIC/renewed/app:1 >out.json &&
	test "$(grep -c "GET /v2/app/blobs/.* unauth" "$FAULT_TP_LOG")" -eq 1 &&
	json_assert out.json "assert d[\"action\"] == \"copied\" and d[\"verified\"] is True, d; \
		assert d[\"token_requests\"] == 2, d" &&
	test "$(skopeo_digest $REG_BASIC/renewed/app:1 --creds $CREDS)" = "$(cat index.digest)"
'

test_expect_success 'token auth: wrong credentials are refused with a sentence' '
	! ops-promote --src-creds promoter:nope-nope $REG_TOK/app:pr-1 $REG_TOK/app:x >out 2>&1 &&
	test_grep "refused a token" out
'

test_expect_success 'token auth to TLS: cross-registry copy with both kinds of auth' '
	ops-promote -v --src-creds $CREDS --dest-creds $CREDS --ca-file "$REG_CA_FILE" --format json \
		$REG_TOK/app:pr-1 $REG_BASIC/copied/app:1 >out.json 2>err &&
	json_assert out.json "assert d[\"action\"] == \"copied\" and d[\"verified\"] is True, d" &&
	test_grep "| PUT http://$REG_BASIC/v2/copied/app/blobs/uploads/" err &&
	test_grep_not "_state=" err && test_grep_not "$REG_PASS" err && test_grep_not "eyJ" err &&
	test "$(skopeo_digest $REG_BASIC/copied/app:1 --creds $CREDS)" = "$(cat index.digest)"
'

test_expect_success 'TLS: without the CA the certificate is refused (no downgrade)' '
	! ops-promote $REG_TLS/app:pr-1 $REG_TLS/app:prod >out 2>&1 &&
	test_grep "certificate\|SSL" out
'

test_expect_success 'TLS: --ca-file verifies the throwaway CA, retag works' '
	ops-promote --ca-file "$REG_CA_FILE" --format json $REG_TLS/app:pr-1 $REG_TLS/app:prod >out.json &&
	json_assert out.json "assert d[\"action\"] == \"retagged\" and d[\"verified\"] is True, d" &&
	test "$(skopeo_digest $REG_TLS/app:prod --cert-dir "$REG_TLS_DIR/certs.d")" = "$(cat index.digest)"
'

test_expect_success 'TLS: ca_file from the config; copy TLS -> plain' '
	cat >tls.yaml <<-EOF &&
	promote:
	  registries:
	    secure:
	      host: "$REG_TLS"
	      ca_file: "$REG_CA_FILE"
	EOF
	ops-promote --config tls.yaml --dest-creds $CREDS $REG_TLS/app:pr-1 $REG_BASIC/fromtls/app:1 >out &&
	test_grep "copied" out
'

test_expect_success '--insecure-registry forces plain HTTP (a TLS registry then refuses it)' '
	ops-promote --insecure-registry $REG_BASIC --src-creds $CREDS $REG_BASIC/app:pr-1 $REG_BASIC/app:insecure >out &&
	test_grep "retagged" out &&
	! ops-promote --insecure-registry $REG_TLS $REG_TLS/app:pr-1 $REG_TLS/app:insecure >out &&
	test_grep "HTTP 400" out
'

test_expect_success 'mTLS: the client certificate from <certs_dir>/<host>/ (docker certs.d layout)' '
	push_test_image img pr-1 $REG_M/app:pr-1 --dest-cert-dir "$REG_M_DIR/certs.d" &&
	{ ops-promote --ca-file "$REG_CA_FILE" $REG_M/app:pr-1 $REG_M/app:nocert >out; rc=$?; } &&
	test $rc -eq 2 &&
	mkdir -p "certs.d/$REG_M" && cp "$REG_M_DIR/certs.d/"* "certs.d/$REG_M/" &&
	printf "promote:\n  certs_dir: %s\n" "$TRASH/certs.d" >mtls.yaml &&
	ops-promote --config mtls.yaml --format json $REG_M/app:pr-1 $REG_M/app:mtls >out.json &&
	json_assert out.json "assert d[\"action\"] == \"retagged\" and d[\"verified\"] is True, d"
'

test_expect_success 'mTLS: client_cert and client_key of a registries entry' '
	printf "promote:\n  certs_dir: /nonexistent\n  registries:\n    m:\n      host: \"%s\"\n      ca_file: %s\n      client_cert: %s\n      client_key: %s\n" \
		"$REG_M" "$REG_CA_FILE" "$REG_M_DIR/certs.d/client.cert" "$REG_M_DIR/certs.d/client.key" >mtls2.yaml &&
	ops-promote --config mtls2.yaml $REG_M/app:pr-1 $REG_M/app:mtls2 >out &&
	test_grep "retagged" out
'

test_done
