#!/bin/sh
# ops-promote: credentials as users have them, never on the command line: --src-creds-file
# and --dest-creds-file, OPSKIT_SRC_CREDS/OPSKIT_DEST_CREDS, REGISTRY_AUTH_FILE, podman's
# $XDG_RUNTIME_DIR/containers/auth.json, DOCKER_CONFIG, identitytoken entries exchanged
# at the token realm, and credential helpers asked for Docker Hub with the key docker
# login stores (https://index.docker.io/v1/). Secrets never printed.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3 htpasswd openssl

start_registry c basic || { echo "Bail out! registry c did not start"; exit 1; }
start_registry t token || { echo "Bail out! registry t did not start"; exit 1; }
C=$REG_C T=$REG_T
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR DOCKER_CONFIG OPSKIT_SRC_CREDS OPSKIT_DEST_CREDS
HOME=$TRASH/home && mkdir -p "$HOME" && export HOME

auth_json() { # FILE HOST: an auths entry for HOST with the test credentials
	mkdir -p "$(dirname "$1")" &&
	printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$2" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64)" >"$1"
}

test_expect_success 'setup: an image in the basic and the token registry' '
	make_test_image img pr-1 1 4096 1111111 >img.digest &&
	push_test_image img pr-1 $C/app:pr-1 --dest-creds "$REG_USER:$REG_PASS" &&
	push_test_image img pr-1 $T/app:pr-1 --dest-creds "$REG_USER:$REG_PASS"
'

test_expect_success '--src-creds-file: USER:PASSWORD from a file (first line), never printed' '
	printf "%s:%s\n" "$REG_USER" "$REG_PASS" >creds && chmod 600 creds &&
	ops-promote -v --src-creds-file creds --format json $C/app:pr-1 $C/app:fromfile >out.json 2>err &&
	json_assert out.json "assert d[\"action\"] == \"retagged\", d" &&
	test_grep_not "$REG_PASS" out.json && test_grep_not "$REG_PASS" err
'

test_expect_success '--dest-creds-file across registries, and an unreadable file is a usage error' '
	ops-promote --dest-creds-file creds --src-creds-file creds $C/app:pr-1 $C/other:1 >out &&
	{ ops-promote --src-creds-file missing $C/app:pr-1 $C/app:x >out 2>err; rc=$?; } &&
	test $rc -eq 3 && test_grep "src-creds-file missing: cannot read it" err
'

test_expect_success 'a creds file without USER:PASSWORD is refused without quoting it' '
	echo "$REG_PASS" >bad &&
	{ ops-promote --src-creds-file bad $C/app:pr-1 $C/app:x >out 2>err; rc=$?; } &&
	test $rc -eq 3 && test_grep "expected USER:PASSWORD" err &&
	test_grep_not "$REG_PASS" err && test_grep_not "$REG_PASS" out
'

test_expect_success 'OPSKIT_SRC_CREDS and OPSKIT_DEST_CREDS' '
	OPSKIT_SRC_CREDS="$REG_USER:$REG_PASS" ops-promote $C/app:pr-1 $C/app:fromenv >out &&
	test_grep "retagged" out &&
	{ OPSKIT_DEST_CREDS="$REG_USER:wrong" ops-promote $C/app:pr-1 $C/app:x >out 2>err; rc=$?; } &&
	test $rc -eq 2 && test_grep_not "wrong" out
'

test_expect_success 'REGISTRY_AUTH_FILE (containers-auth.json) wins over the docker config' '
	auth_json regauth/auth.json $C &&
	mkdir -p dockercfg && echo "{\"auths\":{\"$C\":{\"auth\":\"$(printf "x:y" | base64)\"}}}" >dockercfg/config.json &&
	REGISTRY_AUTH_FILE=$TRASH/regauth/auth.json DOCKER_CONFIG=$TRASH/dockercfg \
		ops-promote $C/app:pr-1 $C/app:authfile >out &&
	test_grep "retagged" out
'

test_expect_success 'podman: $XDG_RUNTIME_DIR/containers/auth.json' '
	auth_json run/containers/auth.json $C &&
	XDG_RUNTIME_DIR=$TRASH/run ops-promote $C/app:pr-1 $C/app:podman >out &&
	test_grep "retagged" out
'

test_expect_success 'DOCKER_CONFIG: its config.json' '
	auth_json dc2/config.json $C &&
	DOCKER_CONFIG=$TRASH/dc2 ops-promote $C/app:pr-1 $C/app:dockerconfig >out &&
	test_grep "retagged" out
'

test_expect_success 'an identitytoken entry is exchanged at the realm (OAuth2 refresh-token grant), never printed' '
	mkdir -p idt &&
	printf "{\"auths\":{\"%s\":{\"auth\":\"%s\",\"identitytoken\":\"%s\"}}}\n" "$T" \
		"$(printf "<token>:" | base64)" "$REG_REFRESH_TOKEN" >idt/config.json &&
	DOCKER_CONFIG=$TRASH/idt ops-promote -v --format json $T/app:pr-1 $T/app:identity >out.json 2>err &&
	json_assert out.json "assert d[\"action\"] == \"retagged\", d" &&
	grep "POST /token" "$REG_T_TOKEN_LOG" >posts && test_line_count=$(wc -l <posts) && test $test_line_count -ge 1 &&
	test_grep_not "$REG_REFRESH_TOKEN" err && test_grep_not "$REG_REFRESH_TOKEN" out.json
'

test_expect_success 'a refused identity token says so' '
	printf "{\"auths\":{\"%s\":{\"identitytoken\":\"expired-one\"}}}\n" "$T" >idt/config.json &&
	{ DOCKER_CONFIG=$TRASH/idt ops-promote $T/app:pr-1 $T/app:x >out 2>&1; rc=$?; } &&
	test $rc -eq 2 && test_grep "identity token was refused" out && test_grep_not "expired-one" out
'

test_expect_success 'promote.registries.*.password_file: the password from a mounted secret' '
	printf "%s\n" "$REG_PASS" >secret &&
	printf "promote:\n  registries:\n    c:\n      host: \"%s\"\n      username: %s\n      password_file: %s\n" \
		"$C" "$REG_USER" "$TRASH/secret" >opskit.yaml &&
	ops-promote --config opskit.yaml -v $C/app:pr-1 $C/app:pwfile >out 2>err &&
	test_grep "retagged" out && test_grep_not "$REG_PASS" err &&
	printf "promote:\n  registries:\n    c:\n      host: \"%s\"\n      username: u\n      password_file: /nonexistent/pw\n" "$C" >bad.yaml &&
	{ ops-promote --config bad.yaml $C/app:pr-1 $C/app:x >out 2>err; rc=$?; } &&
	test $rc -eq 3 && test_grep "promote.registries.c.password_file .*: cannot read it" err
'

# Docker Hub is never contacted: the requests go to a refused loopback proxy port; the
# credential helper runs before any request and records what it was asked.
test_expect_success 'Docker Hub: credential helpers are asked with https://index.docker.io/v1/' '
	mkdir -p hub bin &&
	printf "#!/bin/sh\ncat >\"%s/asked\"\necho \"credentials not found in native keychain\"\nexit 1\n" "$TRASH" \
		>bin/docker-credential-rec && chmod +x bin/docker-credential-rec &&
	echo "{\"credsStore\":\"rec\"}" >hub/config.json &&
	(unset NO_PROXY no_proxy; PATH=$TRASH/bin:$PATH DOCKER_CONFIG=$TRASH/hub \
		https_proxy=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1 http_proxy=http://127.0.0.1:1 \
		ops-promote --retries 0 --timeout 2s library/alpine:3 library/alpine:prod >out 2>&1; true) &&
	printf "https://index.docker.io/v1/" >want && test_cmp want asked &&
	echo "{\"credHelpers\":{\"index.docker.io\":\"rec\"}}" >hub/config.json && rm asked &&
	(unset NO_PROXY no_proxy; PATH=$TRASH/bin:$PATH DOCKER_CONFIG=$TRASH/hub \
		https_proxy=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1 http_proxy=http://127.0.0.1:1 \
		ops-promote --retries 0 --timeout 2s alpine:3 alpine:prod >out 2>&1; true) &&
	test_cmp want asked
'

test_done
