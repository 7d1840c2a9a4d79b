#!/bin/sh
# ops-promote: the plain-HTTP-first scheme probe of a loopback registry against dropped
# connections. A drop alone does not decide the scheme: a plain-HTTP registry whose
# connection is cut (a fault, a restart) is retried in plain HTTP, one that drops every
# connection fails about the drops (not about TLS) in bounded time, and a TLS registry
# named without a scheme is still found to speak TLS, whether it answers plain HTTP with
# Go's 400 or drops it. Real docker-registry servers behind tests/lib/fault-proxy.py.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
. "$TEST_LIB/faults.sh"
test_require_cmd docker-registry skopeo python3 openssl

start_registry a plain && start_registry tls tls || { echo "Bail out! the registries did not start"; exit 1; }
start_fault_tcp_proxy "${REG_A##*:}" 600 || { echo "Bail out! the fault proxy did not start"; exit 1; }
P=127.0.0.1:$FAULT_TCP_PORT P_RULES=$FAULT_TCP_RULES
start_fault_tcp_proxy "${REG_TLS##*:}" 600 || { echo "Bail out! the fault proxy did not start"; exit 1; }
S=127.0.0.1:$FAULT_TCP_PORT S_RULES=$FAULT_TCP_RULES
# rules FILE RULE...: the rules of one of the two proxies
rules() { _f=$1; shift; printf '%s\n' "$@" >"$_f"; }
# requests FILE: the requests a JSON report counts
requests() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"])' "$1"; }

test_expect_success 'setup: one image in each registry; a retag through a proxy without faults' '
	make_test_image img pr-1 1 4096 1111111 >pr1.digest &&
	push_test_image img pr-1 $REG_A/app:pr-1 &&
	push_test_image img pr-1 $REG_TLS/app:pr-1 --dest-cert-dir "$REG_TLS_DIR/certs.d" &&
	rules "$P_RULES" pass &&
	ops-promote -v --format json $P/app:pr-1 $P/app:clean >clean.json 2>clean.err &&
	test_grep_not "dropped the connection" clean.err && test_grep_not "HTTPS" clean.err
'

test_expect_success 'plain HTTP, first connection dropped: retried in plain HTTP, exit 0' '
	rules "$P_RULES" "cut up 0" "first 1" &&
	ops-promote -v --format json $P/app:pr-1 $P/app:dropped-once >out.json 2>err &&
	test_grep "$P dropped the connection; it speaks plain HTTP, retrying" err &&
	test_grep_not "speaks TLS" err && test_grep_not "using HTTPS" err &&
	test "$(skopeo_digest $REG_A/app:dropped-once)" = "$(cat pr1.digest)" &&
	test "$(requests out.json)" -eq "$(($(requests clean.json) + 1))"
'

test_expect_success 'plain HTTP dropping every connection: exit 2 about the drops, not TLS, bounded' '
	rules "$P_RULES" "cut up 0" &&
	start=$(date +%s) &&
	{ run_with_timeout 60 ops-promote -v --retries 2 $P/app:pr-1 $P/app:dropped-all >out 2>err; rc=$?; } &&
	test $rc -eq 2 && test $(($(date +%s) - start)) -le 20 &&
	test_grep "^CRITICAL.*dropped the connection (.*) (after 3 attempts)" out && no_crash err &&
	test_grep_not "TLS\|SSL\|HTTPS\|version number\|ca-file" out &&
	test_grep "^requests  *3$" out &&
	test "$(grep -c "dropped the connection; HTTPS did not answer either" err)" -eq 3 &&
	test_grep_not "using HTTPS" err
'

test_expect_success 'plain HTTP dropping every HTTP request: exit 2 about the drops, probed once' '
	rules "$P_RULES" "cut-at up /v2/" &&
	start=$(date +%s) &&
	{ run_with_timeout 60 ops-promote -v --retries 2 $P/app:pr-1 $P/app:dropped-http >out 2>err; rc=$?; } &&
	test $rc -eq 2 && test $(($(date +%s) - start)) -le 20 &&
	test_grep "^CRITICAL.*dropped the connection" out && no_crash err &&
	test_grep_not "TLS\|SSL\|HTTPS\|version number\|ca-file" out &&
	test "$(grep -c "speaks plain HTTP" err)" -eq 1 && test_grep_not "using HTTPS" err
'

test_expect_success 'TLS registry without a scheme: Go'"'"'s 400 switches to HTTPS at once' '
	ops-promote -v --ca-file "$REG_CA_FILE" --format json $REG_TLS/app:pr-1 $REG_TLS/app:direct >direct.json 2>err &&
	test_grep "$REG_TLS speaks TLS; using HTTPS" err && test_grep_not "dropped the connection" err &&
	test "$(skopeo_digest $REG_TLS/app:direct --cert-dir "$REG_TLS_DIR/certs.d")" = "$(cat pr1.digest)"
'

test_expect_success 'TLS registry that drops plain HTTP: the HTTPS probe finds TLS, used for good' '
	rules "$S_RULES" "cut-at up /v2/" &&
	ops-promote -v --ca-file "$REG_CA_FILE" --format json $S/app:pr-1 $S/app:probed >out.json 2>err &&
	test_grep "$S speaks TLS; using HTTPS" err && test_grep_not "speaks plain HTTP" err &&
	test "$(skopeo_digest $REG_TLS/app:probed --cert-dir "$REG_TLS_DIR/certs.d")" = "$(cat pr1.digest)" &&
	test "$(requests out.json)" -eq "$(requests direct.json)"
'

test_expect_success 'TLS registry that drops plain HTTP, certificate not trusted: no fallback, exit 2' '
	{ ops-promote -v $S/app:pr-1 $S/app:untrusted >out 2>err; rc=$?; } &&
	test $rc -eq 2 && test_grep "$S speaks TLS; using HTTPS" err &&
	test_grep "^CRITICAL.*certificate" out && test_grep_not "speaks plain HTTP" err
'

test_done
